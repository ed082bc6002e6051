"""The run queue: runs are rows; creating, claiming and finishing them is all here.

Every path that starts a run (inbox, cron, flow/catch, run now) goes through `enqueue`, and every
run ends through `finish`, which also starts the flow and catch runs listening for it.
"""

import json
import logging
from datetime import timedelta

from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count, F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from kindling.jobs.models import Job, Trigger
from kindling.projects.models import Project
from kindling.runs.models import Run

log = logging.getLogger(__name__)

# v1 cron state size rules
STATE_WARN_BYTES = 10_000
STATE_SAVE_LIMIT_BYTES = 50_000


def without_configuration(state) -> dict:
    if not isinstance(state, dict):
        return {}
    return {k: v for k, v in state.items() if k != "configuration"}


def enqueue(job: Job, cause: str, initial_state: dict, *, message=None, parent=None) -> Run:
    return Run.objects.create(
        project_id=job.project_id,
        job=job,
        cause=cause,
        message=message,
        parent=parent,
        initial_state=without_configuration(initial_state),
    )


def runs_for_message(message, skip=None) -> list[Run]:
    """One run per (matching trigger, switched-on job of that trigger), with the triggers as they are now.

    `skip(job)` lets a reprocess leave out pairs it must not start again.
    """
    runs = []
    triggers = Trigger.objects.filter(project_id=message.project_id, kind=Trigger.Kind.MESSAGE).order_by("id")
    for trigger in triggers:
        if not trigger.matches(message.body):
            continue
        for job in trigger.jobs.runnable().order_by("id"):
            if skip is not None and skip(job):
                continue
            runs.append(enqueue(job, Run.Cause.MESSAGE, {"data": message.body}, message=message))
    return runs


def cron_state(job: Job) -> dict:
    """A cron run starts from the last saved successful final state, or {} the first time."""
    return dict(job.saved_state or {})


def _running_count():
    return (
        Run.objects.filter(project=OuterRef("project"), status=Run.Status.RUNNING)
        .order_by()
        .values("project")
        .annotate(n=Count("id"))
        .values("n")
    )


def claim(worker: str, lease_seconds: float) -> Run | None:
    """Claim the oldest pending run of a project that is under its concurrency limit, or None."""
    for _attempt in range(5):
        candidate = (
            Run.objects.filter(status=Run.Status.PENDING)
            .annotate(busy=Coalesce(Subquery(_running_count()), 0))
            .filter(busy__lt=F("project__concurrency"))
            .order_by("id")
            .values_list("project_id", flat=True)
            .first()
        )
        if candidate is None:
            return None
        with transaction.atomic():
            # Claims of one project are serialised on its row (PostgreSQL); SQLite's IMMEDIATE
            # transactions already serialise every writer. Under the lock the count is exact.
            project = Project.objects.select_for_update().get(pk=candidate)
            busy = Run.objects.filter(project=project, status=Run.Status.RUNNING).count()
            if busy >= project.concurrency:
                continue
            run_id = (
                Run.objects.filter(project=project, status=Run.Status.PENDING)
                .order_by("id")
                .values_list("id", flat=True)
                .first()
            )
            if run_id is None:
                continue
            now = timezone.now()
            claimed = Run.objects.filter(pk=run_id, status=Run.Status.PENDING).update(
                status=Run.Status.RUNNING,
                started_at=now,
                worker=worker,
                lease_until=now + timedelta(seconds=lease_seconds),
            )
            if claimed:
                return Run.objects.select_related("job", "job__credential", "project").get(pk=run_id)
    return None


def finish(run: Run, exit_code: int, final_state, log_lines, adaptor_version: str = "") -> list[Run]:
    """Record the end of a run and start the flow (success) or catch (failure) runs listening for it."""
    status = Run.Status.SUCCESS if exit_code == 0 else Run.Status.FAILED
    final_state = without_configuration(final_state) if final_state is not None else None
    with transaction.atomic():
        if not run.record_end(status, exit_code, final_state, log_lines, adaptor_version):
            return []  # aborted or declared lost meanwhile: whoever ended it decided what follows
        if run.succeeded:
            save_cron_state(run)
        return start_listeners(run)


def save_cron_state(run: Run) -> None:
    job = run.job
    if job.trigger is None or job.trigger.kind != Trigger.Kind.CRON:
        return
    state = run.final_state or {}
    # Bytes of the state as compact UTF-8 JSON: escaping non-ASCII as \uXXXX would triple the size of
    # text in other scripts and drop states that are well under the limit.
    size = len(json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode())
    if size > STATE_WARN_BYTES:
        warn_about_state_size(run, size)
    if size > STATE_SAVE_LIMIT_BYTES:
        # v1: the run succeeds, but its state is not saved; the next run inherits the previous one.
        return
    Job.objects.filter(pk=job.pk).update(saved_state=state)
    job.saved_state = state


def warn_about_state_size(run: Run, size: int) -> None:
    project = run.project
    recipients = list(project.members.values_list("email", flat=True))
    saved = "was saved" if size <= STATE_SAVE_LIMIT_BYTES else "was NOT saved (over 50,000 bytes)"
    send_mail(
        f"[Kindling] {project.name}: large final state for {run.job.name}",
        f"Run {run.pk} of job {run.job.name} ended with a final state of {size:,} bytes; it {saved}.\n"
        "Cron jobs pass their final state to their next run: keep it under 10,000 bytes.",
        None,
        recipients,
        fail_silently=True,
    )


def start_listeners(run: Run) -> list[Run]:
    kind = Trigger.Kind.FLOW if run.succeeded else Trigger.Kind.CATCH
    if run.succeeded:
        state = dict(run.final_state or {})
        cause = Run.Cause.FLOW
    else:
        state = {**run.initial_state, "error": run.log_text()}
        cause = Run.Cause.CATCH
    jobs = Job.objects.runnable().filter(trigger__kind=kind, trigger__upstream_job=run.job).order_by("id")
    return [enqueue(job, cause, state, parent=run) for job in jobs]
