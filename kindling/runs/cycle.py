"""A successful run's end and its project's next claim, in the fewest round trips (docs/queue.md,
"A run's end and the next claim in three round trips").

queue.finish() comes here for a run that succeeded with at most LOG_INSERT_ROWS log lines left to
store (every warm trivial run); any other end goes the general way (Run.record_end, retries). This
writes what record_end, JobState.settle, Run.append_log, queue.listening_jobs and claim.claim_in
write, under the same conditions and locks:

- PostgreSQL: between BEGIN and COMMIT, one string of four statements, sent in one round trip
  (Django's psycopg cursors bind parameters on the client, so a string may hold several):
  1. lock the run's row, so that the next statement's snapshot sees every log line committed
     before it (the janitor's lost note);
  2. end the run if it is still running, settle its pair's job-state from the ended row, add its
     log lines after its highest seq, and count the jobs listening for its success;
  3. lock the project's row (claims of a project are serialised on it);
  4. take the project's oldest due pending run if it runs fewer than its concurrency, and read it
     with its job, the job's trigger, its project and its plan.
  Each statement has a snapshot of its own (READ COMMITTED), taken after the locks before it.
- SQLite has no data-modifying CTE: the same work is six statements between BEGIN IMMEDIATE and
  COMMIT, each a call into the library in this process, not a round trip to a server.
"""

from contextlib import nullcontext

from django.db import connections, router, transaction
from django.utils import timezone

from kindling.jobs.models import Trigger
from kindling.ops import metrics
from kindling.runs import claim, queue
from kindling.runs.models import JobState, LogLine, Run, run_end_notify_sql
from kindling.runs.models import _sql as job_state_sql

SUCCESS, RUNNING = Run.Status.SUCCESS, Run.Status.RUNNING


def _tables() -> dict[str, str]:
    return {"run": Run._meta.db_table, "line": LogLine._meta.db_table}


END_SQL = "UPDATE {run} SET {columns} WHERE id = %s AND status = %s"
# The lines after the run's highest seq, in one INSERT (SQLite and PostgreSQL name a VALUES list's
# columns column1, column2...).
LINES_SQL = """
    INSERT INTO {line} (run_id, seq, time, source, level, message)
    SELECT %s, b.next_seq + v.column1, v.column2, v.column3, v.column4, v.column5
    FROM (VALUES {rows}) v
    CROSS JOIN (SELECT coalesce(max(seq) + 1, 0) AS next_seq FROM {line} WHERE run_id = %s) b
"""


def finish_success(run: Run, final_state, log_lines: list, adaptor_version: str, then) -> list[Run]:
    """queue.finish() for a run that exited 0; returns the flow runs it started."""
    connection = connections[router.db_for_write(Run)]
    ending = {
        "status": SUCCESS,
        "exit_code": 0,
        "final_state": final_state,
        "finished_at": timezone.now(),
        "adaptor_version": adaptor_version or run.adaptor_version,
        "lease_until": None,
    }
    columns = ", ".join(f"{name} = %s" for name in ending)
    end_params = [
        *(Run._meta.get_field(name).get_db_prep_save(value, connection) for name, value in ending.items()),
        run.pk,
        RUNNING,
    ]
    adapt = connection.ops.adapt_datetimefield_value
    line_params = [
        value
        for i, line in enumerate(log_lines)
        for value in (i, adapt(line.time), line.source, line.level, line.message)
    ]
    lines_sql = LINES_SQL.format(**_tables(), rows=", ".join(["(%s, %s, %s, %s, %s)"] * len(log_lines)))
    listeners = f"SELECT count(*) FROM ({queue.listeners_sql()}) listening"
    listener_params = queue.listeners_params(run.job_id, Trigger.Kind.FLOW)
    run.check_transition(SUCCESS)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        gate = then.held() if then is not None else nullcontext(False)
        with gate as may_claim:
            take = claim.take_params(run.project_id, then.worker, then.lease_seconds) if may_claim else None
            if connection.vendor == "postgresql":
                ended, listening, row = _postgresql(
                    cursor, run, columns, end_params, lines_sql, line_params, listeners, listener_params, take
                )
                then_run = claim.loaded(row) if row is not None else None
            else:
                ended, listening, then_run = _sqlite(
                    cursor, run, columns, end_params, lines_sql, line_params, listeners, listener_params, take
                )
            if then is not None:
                then.run = then_run
        if ended:
            for field, value in ending.items():
                setattr(run, field, value)
        else:
            # Aborted or declared lost while it ran: that record stays, and nothing more starts.
            run.refresh_from_db()
        started = []
        if ended:
            metrics.run_ended(run)
            queue.save_cron_state(run)
            if listening:
                started = queue.start_listeners(run)
        if then_run is None:
            queue.wake_workers()  # its project may have a place free for a waiting run
        return started


def _postgresql(cursor, run, columns, end_params, lines_sql, line_params, listeners, listener_params, take):
    tables = _tables()
    end = f"WITH ended AS ({END_SQL.format(**tables, columns=columns)} RETURNING *)"
    params = [run.pk, *end_params]
    if run.message_id is not None:  # only a message's runs have a job-state
        end += f", settled AS ({job_state_sql()['settle_ended']})"
        params.append(JobState.OF_STATUS[SUCCESS])
    if line_params:
        end += f", lines AS ({lines_sql})"
        params += [run.pk, *line_params, run.pk]
    # Requests waiting for the run hear of its end when it commits (runs/ends.py), as from record_end.
    notify = run_end_notify_sql("ended")
    end += f" SELECT (SELECT count(*) FROM ended), ({listeners}), (SELECT count(*) FROM ({notify}) told)"
    params += listener_params
    statements = [f"SELECT id FROM {tables['run']} WHERE id = %s FOR UPDATE", end]
    if take is not None:
        sql = claim._sql()
        statements += [sql["lock"] + " FOR UPDATE OF p", sql["take_load"]]
        params += [run.project_id, *take]
    cursor.execute(";\n".join(statements), params)
    cursor.nextset()
    ended, listening, _told = cursor.fetchone()
    row = None
    if take is not None:
        cursor.nextset()
        cursor.nextset()
        row = cursor.fetchone()
    return ended == 1, listening, row


def _sqlite(cursor, run, columns, end_params, lines_sql, line_params, listeners, listener_params, take):
    # Every write transaction is IMMEDIATE (settings): no other writer until COMMIT, so no lock is
    # taken and the project's concurrency is read by the take itself.
    end = END_SQL.format(**_tables(), columns=columns) + f" RETURNING ({listeners})"
    cursor.execute(end, [*end_params, *listener_params])
    found = cursor.fetchone()
    ended, listening = found is not None, found[0] if found else 0
    if ended and run.message_id is not None:
        cursor.execute(job_state_sql()["settle"], [JobState.OF_STATUS[SUCCESS], run.pk])
    if line_params:
        cursor.execute(lines_sql, [run.pk, *line_params, run.pk])
    if take is None:
        return ended, listening, None
    cursor.execute(claim._sql()["take_counted"], take)
    taken = cursor.fetchone()
    return ended, listening, claim.load(taken[0]) if taken is not None else None
