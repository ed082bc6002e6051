"""The project dashboard's figures: a handful of counts, each one indexed query."""

from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from kindling.inbox.models import Message
from kindling.projects.models import Project
from kindling.runs.models import Run

RECENT_DAYS = 30


def summary(project: Project) -> dict:
    since = timezone.now() - timedelta(days=RECENT_DAYS)
    # Runs of the last 30 days by outcome: one pass over run_project_recent (project, created_at).
    recent = Run.objects.filter(project=project, created_at__gte=since).aggregate(
        runs=Count("id"),
        succeeded=Count("id", filter=Q(status=Run.Status.SUCCESS)),
        failed=Count("id", filter=Q(status__in=[Run.Status.FAILED, Run.Status.LOST, Run.Status.ABORTED])),
    )
    # The queue as the workers see it: run_queue (status, project, id) answers both counts.
    queue = Run.objects.filter(project=project, status__in=[Run.Status.PENDING, Run.Status.RUNNING])
    queued = queue.aggregate(
        pending=Count("id", filter=Q(status=Run.Status.PENDING)),
        running=Count("id", filter=Q(status=Run.Status.RUNNING)),
    )
    return {
        "days": RECENT_DAYS,
        "jobs": project.jobs.filter(archived=False).count(),
        "jobs_enabled": project.jobs.filter(archived=False, enabled=True).count(),
        "messages": Message.objects.filter(project=project, received_at__gte=since).count(),
        **recent,
        **queued,
    }
