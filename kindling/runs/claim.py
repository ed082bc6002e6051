"""Claiming runs: per-project concurrency, creation order, leases (docs/queue.md).

Every worker slot calls `claim` several times a second when idle, and once per run when busy, so
its statements are written in SQL (with the models' table names): the ORM spends far longer
compiling them than the database answering them. They are plain SQL for SQLite and PostgreSQL both.
"""

from datetime import timedelta
from functools import cache

from django.db import connections, router, transaction
from django.utils import timezone

from kindling.jobs.models import Job, Trigger
from kindling.plans.limits import EFFECTIVE_CONCURRENCY_SQL, plan_join, timeout_of
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
    # The project's oldest pending run that is due (a retry waits until its not_before), taken only
    # while fewer than its concurrency run: one statement, after the lock (so on PostgreSQL its
    # snapshot sees every claim committed before).
    "take": """
        UPDATE {run} SET status = %s, started_at = %s, worker = %s, lease_until = %s
        WHERE id = (SELECT min(id) FROM {run} r WHERE project_id = %s AND status = %s {due})
          AND status = %s
          AND (SELECT count(*) FROM {run} WHERE project_id = %s AND status = %s) < %s
        RETURNING id
    """,
    # A claimed run with what executing it needs (its job, the job's trigger, its project, the
    # plan's run timeout), in one statement instead of the ORM's select_related().
    "load": """
        SELECT {load_columns}, pl.name, pl.run_timeout
        FROM {run} r JOIN {job} j ON j.id = r.job_id LEFT JOIN {trigger} t ON t.id = j.trigger_id
        JOIN {project} p ON p.id = r.project_id {plan}
        WHERE r.id = %s
    """,
    # `take` with the project's concurrency read in the statement (runs/cycle.py: after the lock on
    # PostgreSQL; SQLite's IMMEDIATE transaction holds every other writer off already).
    "take_counted": """
        UPDATE {run} SET status = %s, started_at = %s, worker = %s, lease_until = %s
        WHERE id = (SELECT min(id) FROM {run} r WHERE project_id = %s AND status = %s {due})
          AND status = %s
          AND (SELECT count(*) FROM {run} WHERE project_id = %s AND status = %s)
            < (SELECT {concurrency} FROM {project} p {plan} WHERE p.id = %s)
        RETURNING id
    """,
    # PostgreSQL: take_counted and load in one statement. The run's columns come from the UPDATE's
    # RETURNING: the statement's snapshot still holds the row as it was (pending).
    "take_load": """
        WITH taken AS (
            UPDATE {run} SET status = %s, started_at = %s, worker = %s, lease_until = %s
            WHERE id = (SELECT min(id) FROM {run} r WHERE project_id = %s AND status = %s {due})
              AND status = %s
              AND (SELECT count(*) FROM {run} WHERE project_id = %s AND status = %s)
                < (SELECT {concurrency} FROM {project} p {plan} WHERE p.id = %s)
            RETURNING *
        )
        SELECT {load_columns}, pl.name, pl.run_timeout
        FROM taken r JOIN {job} j ON j.id = r.job_id LEFT JOIN {trigger} t ON t.id = j.trigger_id
        JOIN {project} p ON p.id = r.project_id {plan}
    """,
}
# What `load` reads, in its column order: (model, table alias).
LOADED = ((Run, "r"), (Job, "j"), (Trigger, "t"), (Project, "p"))


@cache
def _sql() -> dict[str, str]:
    # A project runs at most its own concurrency, within its plan's maximum (plans/limits.py).
    tables = {
        "run": Run._meta.db_table,
        "project": Project._meta.db_table,
        "job": Job._meta.db_table,
        "trigger": Trigger._meta.db_table,
        "concurrency": EFFECTIVE_CONCURRENCY_SQL,
        "plan": plan_join("p"),
        # A retry waits in the queue until its backoff is over (runs/retries.py).
        "due": "AND (r.not_before IS NULL OR r.not_before <= %s)",
        "load_columns": ", ".join(
            f"{alias}.{field.column}" for model, alias in LOADED for field in model._meta.concrete_fields
        ),
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
            run = claim_in(project_id, worker, lease_seconds)
            if run is not None:
                return run
    return None


def claim_in(project_id: int, worker: str, lease_seconds: float) -> Run | None:
    """Claim the oldest pending run of one project if it has a free slot, or None.

    Inside a transaction under way (queue.finish claims the project's next run in the transaction
    that ends the last one), it is part of that transaction.
    """
    connection = _connection()
    sql = _sql()
    with transaction.atomic(using=connection.alias, savepoint=False), connection.cursor() as cursor:
        # Claims of one project are serialised on its row (PostgreSQL: FOR UPDATE; SQLite's
        # IMMEDIATE transactions serialise every writer already). Under the lock the count is exact,
        # so a project never has more than `concurrency` runs running, and its oldest pending run
        # goes first: with concurrency 1 its runs run one at a time in creation order.
        lock = sql["lock"] + (" FOR UPDATE OF p" if connection.features.has_select_for_update else "")
        cursor.execute(lock, [project_id])
        row = cursor.fetchone()
        if row is None:
            return None
        now = timezone.now()
        adapt = connection.ops.adapt_datetimefield_value
        until = adapt(now + timedelta(seconds=lease_seconds))
        cursor.execute(
            sql["take"],
            [RUNNING, adapt(now), worker, until, project_id, PENDING, adapt(now)]
            + [PENDING, project_id, RUNNING, row[0]],
        )
        taken = cursor.fetchone()
        # None: another worker took the last slot, or the last run, since we looked.
        return None if taken is None else load(taken[0])


def take_params(project_id: int, worker: str, lease_seconds: float) -> list:
    """The parameters of take_counted and take_load."""
    connection = _connection()
    now = timezone.now()
    adapt = connection.ops.adapt_datetimefield_value
    until = adapt(now + timedelta(seconds=lease_seconds))
    return [RUNNING, adapt(now), worker, until, project_id, PENDING, adapt(now)] + [
        PENDING,
        project_id,
        RUNNING,
        project_id,
    ]


def load(run_id: int) -> Run:
    """The run with its job, the job's trigger and its project, and the plan's run timeout
    (`run.timeout`, what spec_for() gives the engine), read in one statement."""
    connection = _connection()
    with connection.cursor() as cursor:
        cursor.execute(_sql()["load"], [run_id])
        row = cursor.fetchone()
    if row is None:
        raise Run.DoesNotExist(f"no run {run_id}")
    return loaded(row)


def loaded(row) -> Run:
    """The run of a row of `load` (or `take_load`)."""
    connection = _connection()
    values, objects = list(row), {}
    for model, alias in LOADED:
        fields = model._meta.concrete_fields
        taken, values = values[: len(fields)], values[len(fields) :]
        if taken[0] is None:  # a job without a trigger
            objects[alias] = None
            continue
        table = model._meta.db_table
        for i, field in enumerate(fields):
            # What the ORM does to each value it reads (SQLite's text dates, JSON, booleans...).
            column = field.get_col(table)
            for convert in connection.ops.get_db_converters(column) + field.get_db_converters(connection):
                taken[i] = convert(taken[i], column, connection)
        objects[alias] = model.from_db(connection.alias, [f.attname for f in fields], taken)
    run, job = objects["r"], objects["j"]
    job.trigger, run.job, run.project = objects["t"], job, objects["p"]
    plan, plan_timeout = values
    run.timeout = timeout_of(plan, plan_timeout)
    return run


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
