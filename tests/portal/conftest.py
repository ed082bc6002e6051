"""Builders for the portal tests: finished runs with log lines, and clients logged in as a persona."""

from datetime import timedelta

from django.utils import timezone

from kindling.runs.models import JobState, LogLine, Run


def make_run(
    job,
    status=Run.Status.SUCCESS,
    exit_code=0,
    message=None,
    parent=None,
    final_state=None,
    logs=(),
    seconds=1.5,
    **kw,
) -> Run:
    """A run as the worker leaves it: started, finished, with its log lines (source, level, text),
    and its message's job-state."""
    started = timezone.now() - timedelta(minutes=5)
    finished = status in Run.FINISHED
    run = Run.objects.create(
        project_id=job.project_id,
        job=job,
        message=message,
        parent=parent,
        cause=kw.pop("cause", Run.Cause.MESSAGE if message else Run.Cause.MANUAL),
        status=status,
        exit_code=exit_code if finished else None,
        started_at=None if status == Run.Status.PENDING else started,
        finished_at=started + timedelta(seconds=seconds) if finished else None,
        initial_state=kw.pop("initial_state", {"data": message.body} if message else {}),
        final_state=final_state,
        **kw,
    )
    LogLine.objects.bulk_create(
        LogLine(run=run, seq=i, time=started, source=source, level=level, message=text)
        for i, (source, level, text) in enumerate(logs)
    )
    if message is not None:
        JobState.rebuild([message.pk])  # as enqueue and finish leave it
    return run
