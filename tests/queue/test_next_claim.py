"""A worker slot claims its project's next run in the transaction that finishes the last one
(queue.NextClaim): the same creation order, the same concurrency limits and the same stop as a claim
from the whole queue, in fewer statements per run."""

import threading

from django.db import connection
from django.test.utils import CaptureQueriesContext

from kindling.runs import queue, worker
from kindling.runs.models import Run
from kindling.runs.worker import Worker
from tests.domain.conftest import claim_next
from tests.queue.conftest import queued


def then(stopping=None):
    return queue.NextClaim("w1", 60, stopping=stopping)


def test_finishing_a_run_claims_the_projects_oldest_pending_run(project_with):
    job = project_with(concurrency=1).jobs.get()
    first, second, third = queued(job, 3)
    next_claim = then()
    queue.finish(claim_next(), 0, {"done": 1}, [], then=next_claim)
    assert next_claim.run.pk == second.pk
    assert Run.objects.get(pk=first.pk).status == "success"
    claimed = Run.objects.get(pk=second.pk)
    assert (claimed.status, claimed.worker) == ("running", "w1")
    assert claimed.lease_until is not None
    assert Run.objects.get(pk=third.pk).status == "pending"


def test_the_claimed_run_comes_with_its_job_project_and_timeout(project_with):
    job = project_with(concurrency=1).jobs.get()
    queued(job, 2)
    next_claim = then()
    queue.finish(claim_next(), 0, {}, [], then=next_claim)
    run = next_claim.run
    assert (run.job.expression, run.job.trigger.kind) == (job.expression, "message")
    assert run.project.pk == job.project_id
    assert run.initial_state == {"n": 1}
    assert run.timeout == 100  # the plan's run timeout (tests/conftest.py: make_plan)


def test_a_project_at_its_limit_gets_no_next_run(project_with):
    job = project_with(concurrency=1).jobs.get()
    first, second, _third = queued(job, 3)
    running = claim_next()
    Run.objects.get(pk=running.pk).abort()  # its place is free: another slot takes the second run
    assert claim_next().pk == second.pk
    next_claim = then()
    queue.finish(running, 6, None, [], then=next_claim)  # the aborted run's worker ends it
    assert next_claim.run is None
    assert Run.objects.filter(status="running").count() == 1


def test_a_stopping_worker_claims_no_next_run(project_with):
    job = project_with(concurrency=1).jobs.get()
    _first, second = queued(job, 2)
    stopping = threading.Event()
    stopping.set()
    next_claim = then(stopping)
    queue.finish(claim_next(), 0, {}, [], then=next_claim)
    assert next_claim.run is None
    assert Run.objects.get(pk=second.pk).status == "pending"


def test_a_run_that_ends_and_claims_the_next_costs_at_most_9_statements(project_with):
    job = project_with(concurrency=1).jobs.get()
    queued(job, 12)
    run = claim_next()
    with CaptureQueriesContext(connection) as queries:
        for _ in range(10):
            next_claim = then()
            queue.finish(run, 0, {}, [worker.engine_note("a line", "info")], then=next_claim)
            run = next_claim.run
    per_run = len(queries.captured_queries) / 10
    print(f"statements per run (finish and the next claim): {per_run:g}")
    assert per_run <= 9


def test_a_slot_chains_at_most_CHAIN_RUNS_runs_of_a_project_before_another_project_gets_its_turn(
    shared_db, project_with, monkeypatch
):
    busy = project_with(concurrency=1, name="Busy").jobs.get()
    other_job = project_with(concurrency=1, name="Other").jobs.get()
    queued(busy, 5)
    other = queued(other_job, 1)[0]  # older than all but 5 of the busy project's runs
    queued(busy, worker.CHAIN_RUNS + 5)
    order = []

    def execute(run, *, then=None, **hooks):
        order.append(run.pk)
        return queue.finish(run, 0, {}, [], then=then)

    monkeypatch.setattr(worker, "execute", execute)
    w = Worker("w1", slots=1, poll_seconds=0.05)
    w.start(once=True)
    assert w.wait(60)
    assert len(order) == worker.CHAIN_RUNS + 11
    # Claimed from the whole queue after CHAIN_RUNS runs of the busy project, not after all of them.
    assert order.index(other.pk) == worker.CHAIN_RUNS
    busy_order = [pk for pk in order if pk != other.pk]
    assert busy_order == sorted(busy_order)


def test_after_a_dropped_commit_the_slot_keeps_the_claimed_run_only_if_it_is_still_its_own(project_with):
    job = project_with(concurrency=1).jobs.get()
    queued(job, 2)
    next_claim = then()
    queue.finish(claim_next(), 0, {}, [], then=next_claim)
    assert next_claim.still_ours()  # committed: running, this worker's, started by this claim
    Run.objects.filter(pk=next_claim.run.pk).update(status="pending", worker="", started_at=None)
    queue.claim("w1", lease_seconds=60)  # rolled back, then claimed again by another slot of this worker
    assert not next_claim.still_ours()
