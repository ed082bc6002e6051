"""The run queue: runs are rows; creating, claiming and finishing them is all here.

Every path that starts a run (inbox, cron, flow/catch, run now) goes through `enqueue`, and every
run ends through `finish`, which also starts the flow and catch runs listening for it. Claiming is in
claim.py (docs/queue.md).
"""

import json
import logging
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from functools import cache

from django.core.mail import send_mail
from django.db import connections, router, transaction

from kindling.engine import LogLine
from kindling.jobs.models import Job, Trigger
from kindling.lib.storable import unstorable_json
from kindling.ops import metrics
from kindling.plans import usage
from kindling.runs.claim import aborted_or_lost, claim, claim_in, projects_ready, renew_leases
from kindling.runs.models import LOG_INSERT_ROWS, RUN_COMPLETE, JobState, Run

__all__ = [
    "aborted_or_lost",
    "claim",
    "enqueue",
    "enqueue_batch",
    "finish",
    "NextClaim",
    "projects_ready",
    "renew_leases",
    "runs_for_message",
]

log = logging.getLogger(__name__)

# v1 cron state size rules
STATE_WARN_BYTES = 10_000
STATE_SAVE_LIMIT_BYTES = 50_000


def without_configuration(state) -> dict:
    if not isinstance(state, dict):
        return {}
    return {k: v for k, v in state.items() if k != "configuration"}


# On PostgreSQL, idle workers LISTEN on this channel (worker.py): a new run, or a run's end (which may
# free a place under a project's concurrency), wakes them at once instead of at their next poll.
WAKE_CHANNEL = "kindling_runs"


def wake_workers() -> None:
    """NOTIFY idle workers (PostgreSQL only; delivered when the current transaction commits, and
    repeated notifications in one transaction are delivered once). SQLite workers watch the database
    file's commit counter instead."""
    connection = connections[router.db_for_write(Run)]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"NOTIFY {WAKE_CHANNEL}")


def enqueue(job: Job, cause: str, initial_state: dict, *, message=None, parent=None, fields=None) -> Run:
    return enqueue_batch(
        job.project_id, [(job, initial_state)], cause, message=message, parent=parent, fields=fields
    )[0]


def enqueue_batch(project_id: int, items, cause: str, *, message=None, parent=None, fields=None) -> list[Run]:
    """Create one run per (job, initial state) of one project, counted against its plan in the same
    transaction: the runs over the cycle's limit are recorded `rejected`, with the reason in their log.
    `fields`: more of the runs' fields (a retry's attempt and backoff, runs/retries.py)."""
    items = list(items)
    with transaction.atomic(savepoint=False):
        admission = usage.admit(project_id, len(items))
        runs = []
        for index, (job, initial_state) in enumerate(items):
            run = Run(
                project_id=project_id,
                job=job,
                cause=cause,
                message=message,
                parent=parent,
                initial_state=without_configuration(initial_state),
                **(fields or {}),
            )
            if index >= admission.allowed:
                run.reject(admission.reason)
            else:
                run.save(force_insert=True)
            if message is not None:
                JobState.open(run)  # the Inbox's run-state filter reads the pair's state there
                if run.status == Run.Status.REJECTED:
                    JobState.settle(run, run.status)
            runs.append(run)
        if admission.allowed:
            wake_workers()
        metrics.runs_created(runs)
    return runs


# Every message the inbox accepts needs its project's (message trigger, runnable job) pairs. The ORM
# spends ~30 times longer compiling this query than the database spends answering it, so it is
# written once, here (table and column names from the models).
_PAIRS_SQL = """
    SELECT j.{job_id}, j.{job_name}, j.{job_project}, j.{reply_with_data}, t.{trigger_id}, t.{criteria},
           t.{exclusion}, t.{reply}
    FROM {jobs} j JOIN {triggers} t ON t.{trigger_id} = j.{job_trigger}
    WHERE t.{trigger_project} = %s AND t.{kind} = %s AND j.{enabled} = %s AND j.{archived} = %s
    ORDER BY t.{trigger_id}, j.{job_id}
"""


def _pairs_sql() -> str:
    job, trigger = Job._meta, Trigger._meta
    return _PAIRS_SQL.format(
        jobs=job.db_table,
        triggers=trigger.db_table,
        job_id=job.pk.column,
        job_name=job.get_field("name").column,
        job_project=job.get_field("project").column,
        job_trigger=job.get_field("trigger").column,
        enabled=job.get_field("enabled").column,
        archived=job.get_field("archived").column,
        reply_with_data=job.get_field("reply_with_data").column,
        reply=trigger.get_field("reply").column,
        trigger_id=trigger.pk.column,
        trigger_project=trigger.get_field("project").column,
        kind=trigger.get_field("kind").column,
        criteria=trigger.get_field("criteria").column,
        exclusion=trigger.get_field("exclusion").column,
    )


def _partial(model, db: str, **values):
    """A model instance loaded with some fields only (the others load on access), as `only()` makes."""
    names = [f.attname for f in model._meta.concrete_fields if f.attname in values]
    return model.from_db(db, names, [values[name] for name in names])


def message_pairs(project_id: int) -> list[tuple[Job, Trigger]]:
    """The project's message triggers with their switched-on, non-archived jobs, by trigger then job."""
    connection = connections[router.db_for_read(Job)]
    json_field = Trigger._meta.get_field("criteria")
    with connection.cursor() as cursor:
        cursor.execute(_pairs_sql(), [project_id, Trigger.Kind.MESSAGE, True, False])
        rows = cursor.fetchall()
    pairs, triggers = [], {}
    for job_id, name, job_project, reply_with_data, trigger_id, inclusion, exclusion, reply in rows:
        if trigger_id not in triggers:
            triggers[trigger_id] = _partial(
                Trigger,
                connection.alias,
                id=trigger_id,
                project_id=project_id,
                kind=Trigger.Kind.MESSAGE,
                criteria=json_field.from_db_value(inclusion, None, connection),
                exclusion=json_field.from_db_value(exclusion, None, connection),
                reply=reply,
            )
        job = _partial(
            Job,
            connection.alias,
            id=job_id,
            name=name,
            project_id=job_project,
            trigger_id=trigger_id,
            reply_with_data=bool(reply_with_data),
        )
        job.trigger = triggers[trigger_id]
        pairs.append((job, triggers[trigger_id]))
    return pairs


def runs_for_message(message, skip=None) -> list[Run]:
    """One run per (matching trigger, switched-on job of that trigger), with the triggers as they are now.

    `skip(job)` lets a reprocess leave out pairs it must not start again.
    """
    jobs, matches = [], {}
    for job, trigger in message_pairs(message.project_id):
        if trigger.pk not in matches:
            matches[trigger.pk] = trigger.matches(message.body)
        if not matches[trigger.pk] or (skip is not None and skip(job)):
            continue
        jobs.append(job)
    if not jobs:
        return []
    state = {"data": message.body}
    items = [(job, state) for job in jobs]
    return enqueue_batch(message.project_id, items, Run.Cause.MESSAGE, message=message)


def cron_state(job: Job) -> dict:
    """A cron run starts from the last saved successful final state, or {} the first time.

    Read from the database, not from `job`: a run that succeeded since `job` was loaded saved a newer one.
    """
    saved = Job.objects.filter(pk=job.pk).values_list("saved_state", flat=True).first()
    return dict(saved or {})


class NextClaim:
    """Asks finish() to claim the project's next run for the same worker slot, in the transaction
    that ends the last one (one transaction per run instead of two, and no look at the whole queue):
    `run` is what it claimed, None when the project had nothing to start or the worker is stopping.

    `gate` (a lock) is held while the claim is made and `stopping` is checked under it, so that a
    worker's stop() can wait for a claim under way and be sure no other starts."""

    def __init__(self, worker: str, lease_seconds: float, gate=None, stopping=None, version=None):
        self.worker = worker
        self.lease_seconds = lease_seconds
        self.gate = gate if gate is not None else nullcontext()
        self.stopping = stopping
        self.run: Run | None = None
        # SQLite: the commit count as the finishing transaction saw it (runs/commits.py).
        self._version = version
        self.version: int | None = None

    def claim(self, project_id: int) -> Run | None:
        with self.held() as may_claim:
            if may_claim:
                self.run = claim_in(project_id, self.worker, self.lease_seconds)
        return self.run

    @contextmanager
    def held(self):
        """Holds the gate; gives whether a claim may be made under it (the worker is not stopping)."""
        self.run = None  # a claim of an earlier attempt that failed was rolled back with it
        with self.gate:
            self.version = self._version() if self._version is not None else None
            yield self.stopping is None or not self.stopping.is_set()

    def still_ours(self) -> bool:
        """After finish() failed while committing (the connection dropped): whether the run it
        claimed was committed all the same; then this slot must execute it, as nobody else will."""
        if self.run is None:
            return False
        return Run.objects.filter(
            pk=self.run.pk, status=Run.Status.RUNNING, worker=self.worker, started_at=self.run.started_at
        ).exists()


def finish(
    run: Run, exit_code: int, final_state, log_lines, adaptor_version: str = "", then: NextClaim | None = None
) -> list[Run]:
    """Record the end of a run, then queue its retry or start the flow (success) or catch (failure)
    runs listening for it (runs/retries.py); with `then`, claim its project's next run in the same
    transaction."""
    from kindling.runs.retries import schedule_retry_or_listeners  # retries queues runs through here

    final_state = without_configuration(final_state) if final_state is not None else None
    problem = unstorable_json(final_state, "state") if final_state is not None else None
    if problem is not None:
        exit_code, final_state, log_lines = unstorable_state_end(exit_code, problem, log_lines)
    status = Run.Status.SUCCESS if exit_code == 0 else Run.Status.FAILED
    log_lines = list(log_lines)
    if status == Run.Status.SUCCESS and len(log_lines) <= LOG_INSERT_ROWS:
        # What follows, for the common case, in the fewest round trips.
        from kindling.runs.cycle import finish_success

        return finish_success(run, final_state, log_lines, adaptor_version, then)
    with transaction.atomic():
        ended = run.record_end(status, exit_code, final_state, log_lines, adaptor_version)
        started = []
        if ended:
            metrics.run_ended(run)
            if run.succeeded:
                save_cron_state(run)
            started = schedule_retry_or_listeners(run)
        # Whoever aborted the run or declared it lost decided what follows it; its place under the
        # project's concurrency is free all the same.
        if then is None or then.claim(run.project_id) is None:
            wake_workers()  # its project may have a place free for a waiting run
        return started


def unstorable_state_end(exit_code: int, problem: str, log_lines) -> tuple[int, None, list]:
    """A final state that the database cannot store fails the run (exit 1) without it, on both
    databases alike (PostgreSQL's jsonb refuses it; SQLite would keep it), rather than losing the run.
    The runner has written its status line already: the corrected one comes last."""
    now = datetime.now(UTC)
    note = f"The final state cannot be stored: it holds {problem}. The run fails; the state is not kept."
    lines = [*log_lines, LogLine(now, "RTE", "error", note)]
    if exit_code == 0:
        lines.append(LogLine(now, "R/T", "info", f"{RUN_COMPLETE}fail"))
    return exit_code or 1, None, lines


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


_LISTENERS_SQL = """
    SELECT j.{job_id} FROM {jobs} j JOIN {triggers} t ON t.{trigger_id} = j.{job_trigger}
    WHERE t.{kind} = %s AND t.{upstream} = %s AND j.{enabled} = %s AND j.{archived} = %s
    ORDER BY j.{job_id}
"""


@cache
def listeners_sql() -> str:
    """The ids of the jobs listening for a job's end; parameters: listeners_params()."""
    job, trigger = Job._meta, Trigger._meta
    return _LISTENERS_SQL.format(
        jobs=job.db_table,
        triggers=trigger.db_table,
        job_id=job.pk.column,
        job_trigger=job.get_field("trigger").column,
        enabled=job.get_field("enabled").column,
        archived=job.get_field("archived").column,
        trigger_id=trigger.pk.column,
        kind=trigger.get_field("kind").column,
        upstream=trigger.get_field("upstream_job").column,
    )


def listeners_params(job_id: int, kind: str) -> list:
    return [kind, job_id, True, False]


def listening_jobs(job_id: int, kind: str) -> list[Job]:
    """Switched-on, non-archived jobs whose flow (or catch) trigger names `job_id`, oldest first."""
    # Most runs have no listener: one cheap statement finds that out; the jobs load only if there are.
    with connections[router.db_for_read(Job)].cursor() as cursor:
        cursor.execute(listeners_sql(), listeners_params(job_id, kind))
        ids = [row[0] for row in cursor.fetchall()]
    return list(Job.objects.filter(pk__in=ids).order_by("id")) if ids else []


def listener_state(run: Run) -> dict:
    """What the flow (after a success) or catch (after a failure) runs of `run` start from (spec §3)."""
    if run.succeeded:
        return dict(run.final_state or {})
    return {**run.initial_state, "error": run.log_text()}


def start_listeners(run: Run) -> list[Run]:
    kind = Trigger.Kind.FLOW if run.succeeded else Trigger.Kind.CATCH
    jobs = listening_jobs(run.job_id, kind)
    if not jobs:
        return []
    cause = Run.Cause.FLOW if run.succeeded else Run.Cause.CATCH
    state = listener_state(run)
    return enqueue_batch(run.project_id, [(job, state) for job in jobs], cause, parent=run)
