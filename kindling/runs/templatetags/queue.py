from django import template

from kindling.runs.models import Run

register = template.Library()


def queue_counts(project) -> dict:
    # Two counts over the queue index (status, project, id): a range scan each, however long the history.
    runs = Run.objects.filter(project=project)
    return {
        "project": project,
        "pending": runs.filter(status=Run.Status.PENDING).count(),
        "running": runs.filter(status=Run.Status.RUNNING).count(),
    }


@register.inclusion_tag("runs/_queue.html")
def queue_indicator(project):
    """The project's queue (pending and running runs); it refreshes itself while the queue is not empty."""
    return queue_counts(project)
