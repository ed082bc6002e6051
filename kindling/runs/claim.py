"""Claiming runs: per-project concurrency, creation order, leases (docs/queue.md).

Every worker slot calls `claim` several times a second when idle, and once per run when busy, so
its statements are written in SQL (with the models' table names): the ORM spends far longer
compiling them than the database answering them. They are plain SQL for SQLite and PostgreSQL both.
"""

from datetime import timedelta
from functools import cache

from django.db import connections, router, transaction
from django.utils import timezone

from kindling.plans.limits import EFFECTIVE_CONCURRENCY_SQL, plan_join
from kindling.projects.models import Project
from kindling.runs.models import Run

PENDING, RUNNING = Run.Status.PENDING, Run.Status.RUNNING
CANDIDATES = 8


STATEMENTS = {
    # The projects with a pending run and a free slot, the one whose next run is oldest first. The
    # recursive part walks the distinct project ids of pending runs through the run_queue index
    # (status, project, id), one probe per project, however long a project's backlog is: a project at
    # its limit with 100,000 pending runs costs the same as one with a single run, never hides the
    # others, and an empty queue costs one probe. Only those projects are looked at (no join for a
    # planner to turn into a scan of every project). A project's next run is its oldest pending run
    # that is due: a retry waiting for its backoff (not_before) is passed over until then.
    "ready": """
        WITH RECURSIVE waiting(project_id) AS (
            SELECT min(project_id) FROM {run} WHERE status = %s
            UNION ALL
            SELECT (SELECT min(r.project_id) FROM {run} r WHERE r.status = %s AND r.project_id > w.project_id)
            FROM waiting w WHERE w.project_id IS NOT NULL
        )
        SELECT project_id FROM (
            SELECT w.project_id, (
                SELECT min(r.id) FROM {run} r
                WHERE r.project_id = w.project_id AND r.status = %s {due}
            ) AS next_id
            FROM waiting w
            WHERE w.project_id IS NOT NULL
              AND (SELECT count(*) FROM {run} r WHERE r.project_id = w.project_id AND r.status = %s)
                < (SELECT {concurrency} FROM {project} p {plan} WHERE p.id = w.project_id)
        ) ready
        WHERE next_id IS NOT NULL
        ORDER BY next_id
        LIMIT %s
    """,
    "lock": "SELECT {concurrency} FROM {project} p {plan} WHERE p.id = %s",
    "next": """
        SELECT (SELECT count(*) FROM {run} WHERE project_id = %s AND status = %s),
               (SELECT min(id) FROM {run} r WHERE project_id = %s AND status = %s {due})
    """,
    "take": "UPDATE {run} SET status = %s, started_at = %s, worker = %s, lease_until = %s "
    "WHERE id = %s AND status = %s",
}


@cache
def _sql() -> dict[str, str]:
    # A project runs at most its own concurrency, within its plan's maximum (plans/limits.py).
    tables = {
        "run": Run._meta.db_table, "project": Project._meta.db_table,
        "concurrency": EFFECTIVE_CONCURRENCY_SQL, "plan": plan_join("p"),
        # A retry waits in the queue until its backoff is over (runs/retries.py).
        "due": "AND (r.not_before IS NULL OR r.not_before <= %s)",
    }
    return {name: statement.format(**tables) for name, statement in STATEMENTS.items()}


def _connection():
    return connections[router.db_for_write(Run)]


def _now():
    return _connection().ops.adapt_datetimefield_value(timezone.now())


def projects_ready() -> list[int]:
    with _connection().cursor() as cursor:
        now = _now()
        cursor.execute(_sql()["ready"], [PENDING, PENDING, PENDING, now, RUNNING, CANDIDATES])
        return [row[0] for row in cursor.fetchall()]


def claim(worker: str, lease_seconds: float) -> Run | None:
    """Claim the oldest pending run of a project that is under its concurrency limit, or None."""
    for _attempt in range(3):
        candidates = projects_ready()
        if not candidates:
            return None
        for project_id in candidates:
            run_id = claim_in(project_id, worker, lease_seconds)
            if run_id is not None:
                return Run.objects.select_related("job", "job__credential", "job__trigger", "project").get(
                    pk=run_id
                )
    return None


def claim_in(project_id: int, worker: str, lease_seconds: float) -> int | None:
    """Claim the oldest pending run of one project if it has a free slot; its id, or None."""
    connection = _connection()
    sql = _sql()
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        # Claims of one project are serialised on its row (PostgreSQL: FOR UPDATE; SQLite's
        # IMMEDIATE transactions serialise every writer already). Under the lock the count is exact,
        # so a project never has more than `concurrency` runs running, and its oldest pending run
        # goes first: with concurrency 1 its runs run one at a time in creation order.
        lock = sql["lock"] + (" FOR UPDATE OF p" if connection.features.has_select_for_update else "")
        cursor.execute(lock, [project_id])
        row = cursor.fetchone()
        if row is None:
            return None
        cursor.execute(sql["next"], [project_id, RUNNING, project_id, PENDING, _now()])
        busy, run_id = cursor.fetchone()
        if run_id is None or busy >= row[0]:
            return None  # another worker took the last slot, or the last run, since we looked
        now = timezone.now()
        adapt = connection.ops.adapt_datetimefield_value
        cursor.execute(
            sql["take"],
            [RUNNING, adapt(now), worker, adapt(now + timedelta(seconds=lease_seconds)), run_id, PENDING],
        )
        return run_id if cursor.rowcount == 1 else None


def renew_leases(worker: str, run_ids, lease_seconds: float) -> set[int]:
    """Extend the leases of the runs `worker` executes; returns the ids it still holds.

    A run missing from the answer was aborted, or declared lost by the janitor: its result will be
    discarded, and the worker should stop executing it.
    """
    run_ids = list(run_ids)
    if not run_ids:
        return set()
    held = Run.objects.filter(pk__in=run_ids, status=RUNNING, worker=worker)
    held.update(lease_until=timezone.now() + timedelta(seconds=lease_seconds))
    return set(held.values_list("id", flat=True))


def aborted_or_lost(run_ids) -> list[int]:
    """The runs of `run_ids` that were aborted or declared lost: a worker holding them must stop them.
    One indexed lookup, so that a worker can ask every second while it executes runs."""
    run_ids = list(run_ids)
    if not run_ids:
        return []
    ended = Run.objects.filter(pk__in=run_ids, status__in=[Run.Status.ABORTED, Run.Status.LOST])
    return list(ended.values_list("id", flat=True))
