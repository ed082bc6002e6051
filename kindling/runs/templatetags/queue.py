from django import template
from django.db.models import Count, Q

from kindling.runs.models import Run

register = template.Library()


def queue_counts(project) -> dict:
    # One query over the queue index (status, project, id): two range scans, however long the history.
    pending, running = Run.Status.PENDING, Run.Status.RUNNING
    counts = Run.objects.filter(project=project, status__in=[pending, running]).aggregate(
        pending=Count("id", filter=Q(status=pending)), running=Count("id", filter=Q(status=running))
    )
    return {"project": project, **counts}


@register.inclusion_tag("runs/_queue.html")
def queue_indicator(project):
    """The project's queue (pending and running runs); it refreshes itself while the queue is not empty."""
    return queue_counts(project)
