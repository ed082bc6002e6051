"""A run never ends lost because of the platform: text the database cannot store (a NUL, a lone
surrogate) in a log line or a final state, or a database connection dropped while the run executed."""

import pytest
from django.db import DataError, OperationalError, connection

from kindling import engine
from kindling.lib.storable import unstorable_json
from kindling.runs import cycle, queue, worker
from kindling.runs.models import Run
from tests.conftest import make_job, make_trigger
from tests.domain.conftest import Line, claim_next
from tests.domain.test_queue import catch, flow
from tests.queue.conftest import queued
from tests.queue.test_live_log import has_line, messages, wait_for

FINAL_STATE_NOTE = "The final state cannot be stored: it holds "


@pytest.fixture
def job_with(project_with):
    """job_with(expression) -> a switched-on job of a project with concurrency 2, with a flow and a
    catch job listening for it."""

    def build(expression: str):
        project = project_with(concurrency=2)
        job = make_job(
            project,
            "fragile",
            make_trigger(project, "manual", criteria={"never": True}),
            expression=expression,
        )
        flow(project, job, "on-success")
        catch(project, job, "on-failure")
        return job

    return build


def run_once(job) -> Run:
    """Queue a run of `job`, and execute it as a worker slot does (real engine, real Node)."""
    queued(job, 1)
    run = claim_next()
    worker.execute_claimed(run)
    run.refresh_from_db()
    return run


def followers(run) -> list[str]:
    return sorted(Run.objects.filter(parent=run).values_list("job__name", flat=True))


@pytest.mark.parametrize(
    ("logged", "stored"),
    [
        pytest.param("'a\\u0000b'", "a\\u0000b", id="nul"),
        pytest.param("'half an emoji: \\ud83d'", "half an emoji: \\ud83d", id="lone-high-surrogate"),
        pytest.param("'\\udc00 alone'", "\\udc00 alone", id="lone-low-surrogate"),
        pytest.param("'a whole one: \\ud83d\\ude00'", "a whole one: \U0001f600", id="a-pair-is-kept"),
    ],
)
def test_a_log_line_with_text_the_database_refuses_is_stored_escaped_and_the_run_succeeds(
    db, job_with, logged, stored
):
    run = run_once(job_with(f"fn(state => {{ console.log({logged}); return state; }});"))

    assert (run.status, run.exit_code) == ("success", 0), run.log_text()
    assert stored in messages(run)
    assert followers(run) == ["on-success"]


@pytest.mark.parametrize(
    ("state", "where"),
    [
        pytest.param("{note: 'a\\u0000b'}", "a NUL character (\\u0000) in state.data.note", id="nul"),
        pytest.param(
            "{['k\\u0000']: 1}", "a NUL character (\\u0000) in the key state.data.k\\u0000", id="nul-key"
        ),
        pytest.param(
            "{rows: ['ok', '\\ud800']}",
            "an unpaired UTF-16 surrogate (\\ud800) in state.data.rows[1]",
            id="surrogate",
        ),
    ],
)
def test_a_final_state_the_database_refuses_fails_the_run_with_exit_1_and_says_why(
    db, job_with, state, where
):
    run = run_once(job_with(f"fn(state => ({{ data: {state} }}));"))

    assert (run.status, run.exit_code, run.final_state) == ("failed", 1, None)
    lines = messages(run)
    note = next(line for line in lines if line.startswith(FINAL_STATE_NOTE))
    assert where in note and "the state is not kept" in note
    assert lines[-1] == "Run complete with status: fail"
    assert followers(run) == ["on-failure"]


def test_a_final_state_with_escapes_that_are_fine_is_kept(db, job_with):
    run = run_once(job_with("fn(state => ({ data: { emoji: '\\ud83d\\ude00', text: '\\\\u0000' } }));"))

    assert (run.status, run.final_state) == ("success", {"data": {"emoji": "\U0001f600", "text": "\\u0000"}})


def test_unstorable_json_names_the_first_place_it_finds():
    assert unstorable_json({"a": [1, {"b": "fine"}]}) is None
    assert unstorable_json({"a": [1, {"b": "x\x00"}]}, "state") == "a NUL character (\\u0000) in state.a[1].b"
    assert unstorable_json("\udfff") == "an unpaired UTF-16 surrogate (\\udfff) in the value"


def test_a_failed_run_whose_state_cannot_be_stored_keeps_its_exit_code(running_run):
    queue.finish(running_run, 2, {"data": "\x00"}, [Line("Run complete with status: killed", "R/T")])

    running_run.refresh_from_db()
    assert (running_run.status, running_run.exit_code, running_run.final_state) == ("failed", 2, None)
    assert messages(running_run)[-1].startswith(FINAL_STATE_NOTE)


@pytest.fixture
def running_run(project_with):
    queued(project_with().jobs.get(), 1)
    return claim_next()


def test_a_result_the_database_refuses_for_another_reason_ends_the_run_with_exit_1(running_run, monkeypatch):
    real_record_end = Run.record_end

    def refuse_states(self, status, exit_code, final_state, log_lines, adaptor_version=""):
        if final_state is not None:
            raise DataError("value out of range")
        return real_record_end(self, status, exit_code, final_state, log_lines, adaptor_version)

    monkeypatch.setattr(Run, "record_end", refuse_states)
    # A run that exited 0 ends through runs/cycle.py, which writes its state itself.
    real_finish_success = cycle.finish_success

    def refuse_fast(run, final_state, *args):
        if final_state is not None:
            raise DataError("value out of range")
        return real_finish_success(run, final_state, *args)

    monkeypatch.setattr(cycle, "finish_success", refuse_fast)
    worker.record(running_run, 0, {"data": 1}, [Line("done")])

    running_run.refresh_from_db()
    assert (running_run.status, running_run.exit_code, running_run.final_state) == ("failed", 1, None)
    assert messages(running_run) == [
        "done",
        "The result cannot be stored (value out of range). The run fails; its final state is not kept.",
    ]


def test_a_result_is_recorded_once_the_database_answers_again(shared_db, project_with, monkeypatch):
    # What a slot meets on SQLite when the file stays locked past the busy timeout, and on PostgreSQL
    # while the server restarts: the error comes from the database, and the next try succeeds.
    queued(project_with().jobs.get(), 1)
    run = claim_next()
    real_finish, calls = queue.finish, []

    def database_away_twice(*args, **kw):
        calls.append(1)
        if len(calls) <= 2:
            raise OperationalError("database is locked")
        return real_finish(*args, **kw)

    monkeypatch.setattr(queue, "finish", database_away_twice)
    worker.record(run, 0, {"data": 1}, [Line("done")])

    run.refresh_from_db()
    assert (len(calls), run.status, run.final_state, messages(run)) == (3, "success", {"data": 1}, ["done"])


WAITS_AFTER_ITS_FIRST_LINE = (
    "fn(state => {\n"
    "  console.log('first');\n"
    "  return new Promise(resolve => setTimeout(() => resolve({ data: { done: true } }), 1500));\n"
    "});"
)


def terminate_other_connections() -> int:
    """pg_terminate_backend on every connection to this database but the test's own: the worker's
    slot, its lease keeper, its log writer and its wake-up listener, as a database restart would."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_a_worker_whose_connection_was_dropped_during_a_run_records_its_result(shared_db, job_with):
    if connection.vendor != "postgresql":
        pytest.skip(
            "pg_terminate_backend drops a server's connection; SQLite has no server and no "
            "connection to drop (its locked-database retry is the test above)"
        )
    job = job_with(WAITS_AFTER_ITS_FIRST_LINE)
    engine.shared_pool().close()
    slots = worker.Worker("w1", slots=1, poll_seconds=0.05)
    slots.start()
    try:
        run = queued(job, 1)[0]
        # The first line is stored while the job still waits: the slot's connection now sits idle.
        assert wait_for(lambda: has_line(run, "first"))
        assert terminate_other_connections() >= 1

        assert wait_for(
            lambda: Run.objects.get(pk=run.pk).status != "running" or run.pk not in slots.leases.stopped
        )
        assert wait_for(lambda: Run.objects.get(pk=run.pk).status != "running", timeout=10)
    finally:
        slots.stop()
        slots.wait(60)
        engine.shared_pool().close()
    run.refresh_from_db()
    assert (run.status, run.exit_code, run.final_state) == ("success", 0, {"data": {"done": True}})
    assert messages(run).count("first") == 1
    assert followers(run) == ["on-success"]


def test_a_result_whose_commit_was_cut_off_after_it_landed_is_not_recorded_twice(
    shared_db, project_with, monkeypatch
):
    # The connection dropped while COMMIT was answered: the transaction landed, the slot saw an error.
    queued(project_with().jobs.get(), 1)
    run = claim_next()
    real_finish, calls = queue.finish, []

    def commit_lands_then_the_connection_drops(*args, **kw):
        calls.append(1)
        started = real_finish(*args, **kw)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return started

    monkeypatch.setattr(queue, "finish", commit_lands_then_the_connection_drops)
    worker.record(run, 0, {"data": 1}, [Line("done")])

    run.refresh_from_db()
    assert (len(calls), run.status, messages(run)) == (1, "success", ["done"])
