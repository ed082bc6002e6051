"""Automatic retries: a run that ends failed (timed out included) or lost is tried again, up to its
job's `retry_attempts` times, each retry a new run that waits in the queue until its backoff is over.

Every end of a run goes through `schedule_retry_or_listeners` (queue.finish, the janitor): either a
retry is queued, or the flow (success) or catch (failure) listeners start, once, on the series' final
outcome; a final failure also counts towards the job's failure alert (runs/alerts.py). A retry is
created like any run (counted against the plan, claimed under the project's concurrency); one over
the plan is recorded rejected, and the failure it followed is then final.

A job marks a failure final (never retried) by throwing an error whose message holds `[final]`, or by
ending with `retry: false` in its final state (docs/retries.md).
"""

from datetime import timedelta

from django.utils import timezone

from kindling.engine import ExitCode
from kindling.jobs import editing
from kindling.jobs.models import Job
from kindling.lib.backoff import retry_delay
from kindling.runs import alerts, queue
from kindling.runs.models import Run

FINAL_MARK = "[final]"
RETRIED = (Run.Status.FAILED, Run.Status.LOST)
READ = ("project_id", "archived", *editing.RETRY_FIELDS)


def schedule_retry_or_listeners(run: Run) -> list[Run]:
    """After `run` ended: its retry, or the flow/catch runs listening for it; the runs created."""
    if run.status in RETRIED:
        retry = schedule_retry(run)
        if retry is not None and retry.status == Run.Status.PENDING:
            return [retry]
        alerts.note_failure(run)  # the series' final outcome: a failure
    return queue.start_listeners(run)


def marked_final(run: Run) -> bool:
    """The job said this failure is final: `retry: false` in its final state, or `[final]` in the
    message of the error it threw (the runtime logs it as an error line), in any case: SQLite's LIKE
    ignores case, so PostgreSQL's does too here, and both databases agree."""
    if isinstance(run.final_state, dict) and run.final_state.get("retry") is False:
        return True
    return run.log_lines.filter(level="error", message__icontains=FINAL_MARK).exists()


def schedule_retry(run: Run) -> Run | None:
    """Queue the next attempt of `run`'s series if its job allows one more; None when not."""
    if run.exit_code == ExitCode.ABORTED:
        return None
    # The job as it is now: a retry setting lowered while a series waits stops it there.
    job = Job.objects.only(*READ).filter(pk=run.job_id).first()
    if job is None or job.archived or run.attempt > job.retry_attempts or marked_final(run):
        return None
    attempts = job.retry_attempts + 1
    first = run.first_attempt_id or run.pk
    wait = retry_delay(run.attempt, job.retry_backoff, job.retry_delay, job.retry_max_delay)
    fields = {
        "attempt": run.attempt + 1,
        "attempts": attempts,
        "first_attempt_id": first,
        "not_before": timezone.now() + timedelta(seconds=wait),
    }
    retry = queue.enqueue(
        job, run.cause, run.initial_state, message=run.message, parent=run.parent, fields=fields
    )
    # Every run of the series shows "attempt n of N" from now on, the first one too.
    Run.objects.filter(pk=first).update(attempts=attempts)
    Run.objects.filter(first_attempt_id=first).update(attempts=attempts)
    run.attempts = attempts
    return retry
