"""A successful run's end and its project's next claim in the fewest round trips (runs/cycle.py): the
same record, log, job-state, listeners and claim as the general path, and an idle slot that is not
woken by its own worker's ends of runs."""

import threading
import time

from django.db import connection
from django.test.utils import CaptureQueriesContext

from kindling.inbox.models import Message
from kindling.jobs.models import Trigger
from kindling.runs import claim, queue, worker
from kindling.runs.models import JobState, Run
from kindling.runs.worker import Worker
from tests.conftest import make_job, make_trigger
from tests.domain.conftest import claim_next
from tests.queue.conftest import queued


def then():
    return queue.NextClaim("w1", 60)


def note(text: str):
    return worker.engine_note(text, "info")


def flow_job_after(job):
    trigger = make_trigger(job.project, "flow", kind=Trigger.Kind.FLOW, upstream_job=job)
    return make_job(job.project, "after", trigger)


def from_messages(project, count: int) -> list[Run]:
    runs = []
    for n in range(count):
        message = Message.objects.create(project=project, body={"n": n})
        runs += queue.runs_for_message(message)
    return runs


def test_a_run_that_ends_and_claims_the_next_costs_three_round_trips_on_postgresql(project_with):
    project = project_with(concurrency=1)
    from_messages(project, 12)
    run = claim_next()
    with CaptureQueriesContext(connection) as queries:
        for _ in range(10):
            next_claim = then()
            queue.finish(run, 0, {}, [note("a line"), note("another")], then=next_claim)
            run = next_claim.run
    per_run = len(queries.captured_queries) / 10
    # In a test the transaction is a savepoint of the test's: SAVEPOINT and RELEASE stand for the
    # BEGIN and COMMIT of a worker's transaction.
    print(f"statements per run (a run's end and the next claim, {connection.vendor}): {per_run:g}")
    if connection.vendor == "postgresql":
        assert per_run == 3  # BEGIN, one string of statements, COMMIT
    else:
        assert per_run <= 7  # in-process calls: BEGIN, end, job-state, lines, take, load, COMMIT


def test_the_fast_end_records_the_run_its_lines_and_its_message_job_state(project_with):
    project = project_with(concurrency=1)
    first, second = from_messages(project, 2)
    running = claim_next()
    running.append_log([note("written live")])
    next_claim = then()
    final_state = {"data": 1, "configuration": {"secret": 1}}
    started = queue.finish(running, 0, final_state, [note("last")], then=next_claim)
    ended = Run.objects.get(pk=first.pk)
    assert (ended.status, ended.exit_code, ended.final_state) == ("success", 0, {"data": 1})
    assert ended.finished_at is not None and ended.lease_until is None
    assert (running.status, running.final_state) == ("success", {"data": 1})
    assert list(ended.log_lines.values_list("seq", "message")) == [(0, "written live"), (1, "last")]
    state = JobState.objects.get(message_id=first.message_id, job_id=first.job_id)
    assert (state.state, state.run_id) == ("success", first.pk)
    assert started == []
    assert next_claim.run.pk == second.pk
    assert Run.objects.get(pk=second.pk).status == "running"


def test_a_run_aborted_while_it_ran_keeps_its_abort_and_its_lines_and_frees_its_place(project_with):
    job = project_with(concurrency=1).jobs.get()
    flow_job_after(job)
    first, second = queued(job, 2)
    running = claim_next()
    running.append_log([note("written live")])
    Run.objects.get(pk=first.pk).abort()
    next_claim = then()
    # The job ended well just as it was aborted: the abort's record stays, nothing follows it.
    started = queue.finish(running, 0, {"data": 1}, [note("last")], then=next_claim)
    ended = Run.objects.get(pk=first.pk)
    assert (ended.status, ended.exit_code, ended.final_state) == ("aborted", 6, None)
    assert running.status == "aborted"
    assert list(ended.log_lines.values_list("seq", "message")) == [(0, "written live"), (1, "last")]
    assert started == [] and not Run.objects.filter(cause="flow").exists()
    assert next_claim.run.pk == second.pk


def test_a_success_starts_the_flow_jobs_listening_and_claims_the_oldest_run(project_with):
    job = project_with(concurrency=1).jobs.get()
    flow = flow_job_after(job)
    _first, second = queued(job, 2)
    next_claim = then()
    started = queue.finish(claim_next(), 0, {"data": 7}, [], then=next_claim)
    assert [(run.job_id, run.cause, run.initial_state) for run in started] == [(flow.pk, "flow", {"data": 7})]
    assert next_claim.run.pk == second.pk  # created before the flow run: it goes first


def test_a_job_edited_while_its_run_executes_is_what_the_next_run_gets(project_with):
    job = project_with(concurrency=1).jobs.get()
    queued(job, 2)
    running = claim_next()
    job.expression = "fn(state => ({ ...state, edited: true }));"
    job.save()
    next_claim = then()
    queue.finish(running, 0, {}, [], then=next_claim)
    assert next_claim.run.job.expression == job.expression
    assert next_claim.run.timeout == 100  # the plan's (tests/conftest.py: make_plan)


def test_a_project_at_its_concurrency_gets_no_next_run_from_a_fast_end(project_with):
    job = project_with(concurrency=2).jobs.get()
    queued(job, 4)
    running, other = claim_next(), claim_next()
    third = claim.claim_in(job.project_id, "w2", 60)
    assert third is None  # at its limit
    next_claim = then()
    queue.finish(running, 0, {}, [], then=next_claim)
    assert next_claim.run is not None
    assert Run.objects.filter(project_id=job.project_id, status="running").count() == 2
    assert other.pk != next_claim.run.pk


def test_an_idle_slot_is_not_woken_by_its_own_workers_ends_of_runs(shared_db, project_with, monkeypatch):
    job = project_with(concurrency=1).jobs.get()
    queued(job, 40)
    looks = []
    ready = claim.projects_ready

    def counted():
        looks.append(threading.current_thread().name)
        return ready()

    monkeypatch.setattr(claim, "projects_ready", counted)
    done = threading.Event()
    ran = []

    def execute(run, *, then=None, **hooks):
        time.sleep(0.005)  # a job, for the idle slot to watch the database meanwhile
        return queue.finish(run, 0, {}, [note("a line")], then=then)

    def on_run(run):
        ran.append(run.pk)
        if len(ran) == 40:
            done.set()

    monkeypatch.setattr(worker, "execute", execute)
    # A poll interval longer than the test: the idle slot looks only when it is woken.
    w = Worker("w1", slots=2, poll_seconds=600, on_run=on_run)
    w.start()
    try:
        assert done.wait(120)
    finally:
        w.stop()
        assert w.wait(60)
    # The chaining slot claimed every run after the first (CHAIN_RUNS in a row, then one look), and
    # the idle one looked a few times, not once per run.
    print(f"looks at the whole queue for 40 runs: {len(looks)}")
    assert len(looks) <= 8
    assert ran == sorted(ran)


def test_a_run_of_another_project_is_claimed_by_the_idle_slot_while_a_slot_chains(
    shared_db, project_with, monkeypatch
):
    busy = project_with(concurrency=1, name="Busy").jobs.get()
    other = project_with(concurrency=1, name="Other").jobs.get()
    queued(busy, 15)  # fewer than CHAIN_RUNS: no look at the whole queue between them
    order = []
    lock = threading.Lock()
    late: list[Run] = []

    def execute(run, *, then=None, **hooks):
        with lock:
            order.append(run.pk)
            if len(order) == 5:
                late.append(queue.enqueue(other, Run.Cause.MANUAL, {}))  # a commit of "another process"
        time.sleep(0.05)
        return queue.finish(run, 0, {}, [], then=then)

    monkeypatch.setattr(worker, "execute", execute)
    w = Worker("w1", slots=2, poll_seconds=600)
    w.start()
    try:
        deadline = time.monotonic() + 120
        while Run.objects.filter(status__in=Run.FINISHED).count() < 16 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        w.stop()
        assert w.wait(60)
    # Woken by that commit, not by a poll (600 s): it ran while the busy project's backlog ran.
    assert order.index(late[0].pk) < len(order) - 1
