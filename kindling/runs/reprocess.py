"""Starting runs by hand: run a job now, reprocess a run or a message.

v1: the same (message, job) pair creates at most one run every 10 seconds, which protects against
double clicks and duplicate reprocess orders.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from kindling.jobs.models import Job, Trigger
from kindling.runs import queue
from kindling.runs.models import Run

PAIR_INTERVAL = timedelta(seconds=10)


class CannotRun(ValueError):
    pass


def started_recently(message, job) -> bool:
    since = timezone.now() - PAIR_INTERVAL
    # A rejected run (over the plan's limit) never started: reprocessing it right after an upgrade is
    # not a double click.
    recent = Run.objects.filter(message=message, job=job, created_at__gte=since)
    return recent.exclude(status=Run.Status.REJECTED).exists()


def locked(message):
    """The message as it is now, locked until the transaction ends.

    The lock serialises run creation for one message: without it the two requests of a double click
    both see no recent run on PostgreSQL and both create one (SQLite's IMMEDIATE transactions
    serialise them anyway). Reading it afresh runs the body as it was last edited.
    """
    return type(message).objects.select_for_update().get(pk=message.pk)


def run_now(job: Job, message=None) -> Run:
    """Run a job on demand: message jobs on a chosen message, cron jobs from their saved state."""
    if job.archived:
        raise CannotRun(f"Job {job.name} is archived: restore it before running it.")
    kind = job.trigger.kind if job.trigger_id else None
    if kind == Trigger.Kind.CRON or (kind is None and message is None):
        return queue.enqueue(job, Run.Cause.MANUAL, queue.cron_state(job))
    if kind in (Trigger.Kind.FLOW, Trigger.Kind.CATCH):
        raise CannotRun(f"Job {job.name} starts after another job; reprocess a run of that job instead.")
    if message is None:
        raise CannotRun(f"Job {job.name} is triggered by messages: choose the message to run it on.")
    if message.project_id != job.project_id:
        raise CannotRun("That message belongs to another project.")
    with transaction.atomic():
        message = locked(message)
        if started_recently(message, job):
            raise CannotRun(f"Job {job.name} already started on this message less than 10 seconds ago.")
        return queue.enqueue(job, Run.Cause.MANUAL, {"data": message.body}, message=message)


def reprocess_run(run: Run) -> Run:
    """Run the same job again: on its message as it is now, from its saved state (cron), or from the
    same initial state (flow and catch)."""
    job = run.job
    if job.archived:
        raise CannotRun(f"Job {job.name} is archived: restore it before reprocessing its runs.")
    if run.message_id:
        with transaction.atomic():
            message = locked(run.message)
            if started_recently(message, job):
                raise CannotRun(f"Job {job.name} already started on this message less than 10 seconds ago.")
            return queue.enqueue(job, run.cause, {"data": message.body}, message=message)
    if run.cause in (Run.Cause.CRON, Run.Cause.MANUAL):
        return queue.enqueue(job, run.cause, queue.cron_state(job))
    return queue.enqueue(job, run.cause, run.initial_state, parent=run.parent)


def reprocess_message(message) -> list[Run]:
    """Match the message again against the current triggers and switched-on jobs."""
    with transaction.atomic():
        message = locked(message)
        return queue.runs_for_message(message, skip=lambda job: started_recently(message, job))
