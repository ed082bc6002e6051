"""Bulk reprocess: the runs (Activity) or messages (Inbox) of the current filters, queued in one go.

A batch is one INSERT ... SELECT: the database copies each message body into its run's initial state
itself, so 100,000 runs are queued in seconds without a body passing through Python. Runs are
inserted in the order the originals were received; their ids give that order to the queue, which
claims by id within a project's concurrency (docs/queue.md).

v1 rules: a run batch leaves out runs that only a flow or catch trigger can start (they still start
when runs of the batch succeed or fail); messages go through matching again with the current
triggers and switched-on jobs. Jobs that are switched off or archived get no run from a batch.
Spec section 8: a (message, job) pair starts at most one run every 10 seconds, in a batch too.
"""

import json

from django.db import connections, router, transaction
from django.utils import timezone

from kindling.inbox.filters import InboxFilters, matching
from kindling.jobs.models import Trigger
from kindling.plans import usage
from kindling.runs.filters import ActivityFilters
from kindling.runs.models import JobState, LogLine, Run
from kindling.runs.queue import message_pairs, wake_workers
from kindling.runs.reprocess import PAIR_INTERVAL

# The dialogs count exactly up to this many; above, PostgreSQL's planner estimates (and says so).
EXACT_COUNT_LIMIT = 10_000

INSERTED = (
    "project_id, job_id, message_id, parent_id, cause, status, created_at, initial_state, "
    "adaptor_version, worker"
)


def enqueue_bulk(project, select_sql: str, params: list) -> int:
    """Queue the runs `select_sql` yields (the INSERTED columns, in queue order); their count.

    Every bulk creation of runs goes through here: the one place where a plan's run limit applies
    to a batch.
    """
    connection = connections[router.db_for_write(Run)]
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One batch of a project at a time: the pair rule's check and the insert are one step.
            cursor.execute("SELECT id FROM projects_project WHERE id = %s FOR UPDATE", [project.pk])
            # The planner's guess of a batch's size is poor (900,000 rows for 80,000), and compiling
            # the statement for that guess (JIT) took 0.6 s of a 100,000-run batch.
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(f"INSERT INTO runs_run ({INSERTED}) {select_sql} RETURNING id", params)
        # Ids are given in insertion order, which is the queue's order.
        ids = sorted(row[0] for row in cursor.fetchall())
        if not ids:
            return 0
        admission = usage.admit(project.pk, len(ids))
        rejected = ids[admission.allowed :]
        _reject(cursor, rejected, admission.reason)
        # The Inbox's run-state filter: a pair's first run opens its row; rejected runs decide theirs.
        for chunk in _chunks(ids):
            cursor.execute(_open_states_sql(len(chunk)), [JobState.State.PENDING, *chunk])
        if rejected:
            JobState.rebuild(
                Run.objects.filter(pk__in=rejected, message__isnull=False).values_list(
                    "message_id", flat=True
                ),
                using=connection.alias,
            )
        if admission.allowed:
            wake_workers()
    return len(ids)


def _chunks(ids: list[int], size: int = 500):
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _open_states_sql(count: int) -> str:
    marks = ", ".join(["%s"] * count)
    return (
        f"INSERT INTO {JobState._meta.db_table} (message_id, job_id, project_id, received_at, state) "
        f"SELECT m.id, r.job_id, m.project_id, m.received_at, %s FROM runs_run r "
        f"JOIN inbox_message m ON m.id = r.message_id WHERE r.id IN ({marks}) "
        "ON CONFLICT (message_id, job_id) DO NOTHING"
    )


def _reject(cursor, ids: list[int], reason: str) -> None:
    """Runs of the batch over the plan's runs per cycle: recorded rejected, the reason in their log
    (as queue.enqueue_batch records one)."""
    now = timezone.now()
    for chunk in _chunks(ids):
        marks = ", ".join(["%s"] * len(chunk))
        cursor.execute(
            f"UPDATE runs_run SET status = %s, finished_at = %s WHERE id IN ({marks})",
            [Run.Status.REJECTED, now, *chunk],
        )
        LogLine.objects.bulk_create(
            [
                LogLine(run_id=pk, seq=0, time=now, source="PLAN", level="error", message=reason)
                for pk in chunk
            ]
        )


def _body_state(connection, message_id: str) -> str:
    """The initial state of a run of message `message_id`: `{"data": body}`. A subquery of its own,
    not a join: the batch's rows come sorted (_in_order), and a join with the messages let
    PostgreSQL's planner (which guesses the batch's size poorly) pick a plan that sorted them again
    with their bodies."""
    postgres = connection.vendor == "postgresql"
    data = "jsonb_build_object('data', m.body)" if postgres else "json_object('data', json(m.body))"
    return f"(SELECT {data} FROM inbox_message m WHERE m.id = {message_id})"


def _not_recent(connection, message: str, job: str, now) -> tuple[str, list]:
    since = connection.ops.adapt_datetimefield_value(now - PAIR_INTERVAL)
    sql = (
        f"NOT EXISTS (SELECT 1 FROM runs_run x WHERE x.message_id = {message} "
        f"AND x.job_id = {job} AND x.created_at >= %s)"
    )
    return sql, [since]


def _in_order(narrow_sql: str, *keys: str) -> str:
    """The rows of `narrow_sql` (ids and sort keys only), sorted before their bodies are added.

    Sorting the batch's rows with their bodies made PostgreSQL spill 300 MB to disk for 90,000 messages
    of 3 KB; sorted first, the rows keep that order while _body_state adds each body, and the outer
    ORDER BY (which still decides) costs nothing.
    """
    return f"SELECT o.* FROM ({narrow_sql}) o ORDER BY {', '.join(f'o.{key}' for key in keys)}"


def eligible_runs(runs):
    """The runs of a filter a batch reprocesses: not those of flow/catch, switched-off or archived jobs."""
    return runs.filter(job__enabled=True, job__archived=False).exclude(
        job__trigger__kind__in=[Trigger.Kind.FLOW, Trigger.Kind.CATCH]
    )


def reprocess_runs(project, filters: ActivityFilters, now=None) -> int:
    """Run again the runs the Activity filters select; how many were queued.

    Each (message, job) pair once, from its message as it is now; cron and manual runs from the job's
    saved state; others from their initial state (as reprocess.reprocess_run does for one run).
    """
    now = now or timezone.now()
    connection = connections[router.db_for_write(Run)]
    chosen, chosen_params = eligible_runs(filters.runs(project, now)).values("id").query.sql_with_params()
    empty = "'{}'::jsonb" if connection.vendor == "postgresql" else "'{}'"
    recent, recent_params = _not_recent(connection, "r.message_id", "r.job_id", now)
    select = (
        "SELECT r.project_id, r.job_id, r.message_id, "
        "CASE WHEN r.message_id IS NULL AND r.cause NOT IN ('cron', 'manual') THEN r.parent_id END, "
        "r.cause, 'pending', %s, "
        f"CASE WHEN r.message_id IS NOT NULL THEN {_body_state(connection, 'r.message_id')} "
        "WHEN r.cause IN ('cron', 'manual') THEN "
        f"COALESCE((SELECT j.saved_state FROM jobs_job j WHERE j.id = r.job_id), {empty}) "
        "ELSE r.initial_state END, '', '' "
        # The earliest run of each (message, job) pair; runs without a message each count.
        "FROM ("
        + _in_order(
            "SELECT e.id, e.created_at FROM runs_run e WHERE e.id IN (SELECT min(f.id) FROM runs_run f "
            f"WHERE f.id IN ({chosen}) GROUP BY f.job_id, COALESCE(f.message_id, -f.id))",
            "created_at",
            "id",
        )
        + f") k JOIN runs_run r ON r.id = k.id WHERE (r.message_id IS NULL OR {recent}) "
        "ORDER BY k.created_at, k.id"
    )
    params = [connection.ops.adapt_datetimefield_value(now), *chosen_params, *recent_params]
    return enqueue_bulk(project, select, params)


def reprocess_messages(project, filters: InboxFilters, now=None) -> int:
    """Match the messages the Inbox filters select against the current triggers and switched-on jobs
    again, and queue a run per match; how many were queued."""
    now = now or timezone.now()
    connection = connections[router.db_for_write(Run)]
    pairs = message_pairs(project.pk)
    if not pairs:
        return 0
    chosen = filters.messages(project, now)
    branches, params = [], []
    for place, (job, trigger) in enumerate(pairs):
        matched = chosen.filter(matching(trigger)).values("id", "received_at")
        sql, branch_params = matched.query.sql_with_params()
        # `place`: a message's runs come in the order the inbox creates them (by trigger, then job).
        branches.append(f"SELECT b.id, b.received_at, %s AS job_id, %s AS place FROM ({sql}) b")
        params += [job.pk, place, *branch_params]
    recent, recent_params = _not_recent(connection, "p.id", "p.job_id", now)
    select = (
        "SELECT %s, p.job_id, p.id, NULL, 'message', 'pending', %s, "
        f"{_body_state(connection, 'p.id')}, '', '' "
        f"FROM ({_in_order(' UNION ALL '.join(branches), 'received_at', 'id', 'place')}) p "
        f"WHERE {recent} ORDER BY p.received_at, p.id, p.place"
    )
    params = [project.pk, connection.ops.adapt_datetimefield_value(now), *params, *recent_params]
    return enqueue_bulk(project, select, params)


def approximate_count(queryset) -> tuple[int, bool]:
    """(count, exact): exact up to EXACT_COUNT_LIMIT; above it PostgreSQL's planner estimate (SQLite,
    which has none, counts)."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return queryset.count(), True
    exact = queryset.values("id")[: EXACT_COUNT_LIMIT + 1].count()
    if exact <= EXACT_COUNT_LIMIT:
        return exact, True
    sql, params = queryset.values("id").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = (plan if isinstance(plan, list) else json.loads(plan))[0]
    return max(int(plan["Plan"]["Plan Rows"]), EXACT_COUNT_LIMIT + 1), False
