"""Starting runs by hand: run a job now, reprocess a run or a message.

v1: the same (message, job) pair creates at most one run every 10 seconds, which protects against
duplicate deliveries and duplicate reprocess orders: it holds for matching a message again (the
inbox's Process, bulk reprocess). A person's explicit Run now, Save and Run or Reprocess of a run is not
a duplicate delivery: it always starts a run, so that editing and testing a job again at once works.
What keeps a double click to one run there is the token its page sends (`explicit_run`).
"""

import re
import uuid
from datetime import timedelta
from functools import partial

from django.db import IntegrityError, transaction
from django.utils import timezone

from kindling.inbox.models import Message
from kindling.jobs.models import Job, RunRequest, Trigger
from kindling.runs import queue
from kindling.runs.models import Run

PAIR_INTERVAL = timedelta(seconds=10)
# A token stands for one click: requests repeating it this soon get the run it started. A page kept
# open longer (or brought back with the back button) starts a new run with it.
REPEAT_WINDOW = timedelta(minutes=1)
TOKEN = re.compile(r"[A-Za-z0-9_-]{8,64}")


class CannotRun(ValueError):
    pass


class BadToken(CannotRun):
    """The request token is malformed (a 400, where CannotRun is a 409)."""


def new_request_token() -> str:
    """The token a page sends with its Run now or Reprocess button."""
    return uuid.uuid4().hex


def started_recently(message, job) -> bool:
    since = timezone.now() - PAIR_INTERVAL
    # A rejected run (over the plan's limit) never started: reprocessing it right after an upgrade is
    # not a double click.
    recent = Run.objects.filter(message=message, job=job, created_at__gte=since)
    return recent.exclude(status=Run.Status.REJECTED).exists()


def locked(message):
    """The message as it is now, locked until the transaction ends.

    The lock serialises run creation for one message: without it two reprocess orders both see no
    recent run on PostgreSQL and both create one (SQLite's IMMEDIATE transactions serialise them
    anyway). Reading it afresh runs the body as it was last edited.
    """
    return type(message).objects.select_for_update().get(pk=message.pk)


def _started_by(token: str, project_id: int) -> Run | None:
    since = timezone.now() - REPEAT_WINDOW
    found = RunRequest.objects.filter(token=token, run__project_id=project_id, created_at__gte=since)
    request = found.select_related("run").first()
    return request.run if request else None


def explicit_run(token: str | None, job: Job, start) -> Run:
    """`start()` (which creates one run of `job`), unless a request with the same token already did:
    then that run. Without a token every call starts a run."""
    if not token:
        return start()
    if not TOKEN.fullmatch(token):
        raise BadToken("The request token must be 8 to 64 letters, digits, '-' or '_'.")
    earlier = _started_by(token, job.project_id)
    if earlier is not None:
        return earlier
    try:
        with transaction.atomic():
            RunRequest.objects.filter(created_at__lt=timezone.now() - REPEAT_WINDOW).delete()
            run = start()
            # Unique token: of two requests racing here, the second waits for the first to commit,
            # fails, and its run is rolled back with its transaction.
            RunRequest.objects.create(token=token, run=run)
        return run
    except IntegrityError:
        earlier = _started_by(token, job.project_id)
        if earlier is None:
            raise CannotRun("This request token was already used: reload the page and try again.") from None
        return earlier


def run_now(job: Job, message=None, token: str | None = None) -> Run:
    """Run a job on demand: message jobs on a chosen message, cron jobs from their saved state."""
    if job.archived:
        raise CannotRun(f"Job {job.name} is archived: restore it before running it.")
    kind = job.trigger.kind if job.trigger_id else None
    if kind == Trigger.Kind.CRON or (kind is None and message is None):
        return explicit_run(token, job, lambda: queue.enqueue(job, Run.Cause.MANUAL, queue.cron_state(job)))
    if kind in (Trigger.Kind.FLOW, Trigger.Kind.CATCH):
        raise CannotRun(f"Job {job.name} starts after another job; reprocess a run of that job instead.")
    if message is None:
        raise CannotRun(f"Job {job.name} is triggered by messages: choose the message to run it on.")
    if message.project_id != job.project_id:
        raise CannotRun("That message belongs to another project.")
    return explicit_run(
        token, job, lambda: queue.enqueue(job, Run.Cause.MANUAL, {"data": message.body}, message=message)
    )


def _run_again(run: Run) -> Run:
    job = run.job
    if run.message_id:
        message = Message.objects.get(pk=run.message_id)  # as it is now: it may have been edited
        return queue.enqueue(job, run.cause, {"data": message.body}, message=message)
    if run.cause in (Run.Cause.CRON, Run.Cause.MANUAL):
        return queue.enqueue(job, run.cause, queue.cron_state(job))
    return queue.enqueue(job, run.cause, run.initial_state, parent=run.parent)


def reprocess_run(run: Run, token: str | None = None) -> Run:
    """Run the same job again: on its message as it is now, from its saved state (cron), or from the
    same initial state (flow and catch)."""
    if run.job.archived:
        raise CannotRun(f"Job {run.job.name} is archived: restore it before reprocessing its runs.")
    return explicit_run(token, run.job, partial(_run_again, run))


def reprocess_message(message) -> list[Run]:
    """Match the message again against the current triggers and switched-on jobs."""
    with transaction.atomic():
        message = locked(message)
        return queue.runs_for_message(message, skip=lambda job: started_recently(message, job))
