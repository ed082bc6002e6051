"""How a waiting request hears that its runs ended (runs/ends.py): on PostgreSQL the statement that
records a run's end NOTIFYs it on a channel of its own, so the end is heard at its commit whatever
else the worker's transaction does (it may claim the project's next run, and then it wakes no idle
worker), with what the answer needs; on either database an end is found by a look."""

import asyncio
import threading

import pytest
from django.db import connection

from kindling.runs import ends as ends_module
from kindling.runs import queue
from kindling.runs.ends import EndListener, RunEnds
from kindling.runs.models import Run
from tests.conftest import make_job, make_project, make_user, put_on_plan


@pytest.fixture(autouse=True)
def watcher_ends_with_each_test(monkeypatch):
    monkeypatch.setattr(ends_module, "IDLE_SECONDS", 0)


@pytest.fixture
def job(transactional_db):
    return make_job(put_on_plan(make_project(make_user("owner@example.com"), "Project")), "double")


@pytest.fixture
def postgresql(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")


@pytest.fixture
def listener(postgresql, job):
    heard = EndListener()
    assert heard.heard(0) == {}  # listening from here on
    yield heard
    heard.close()


def running(job) -> Run:
    queue.enqueue(job, Run.Cause.MANUAL, {})
    return queue.claim("w", 60)


def test_a_runs_end_is_heard_with_what_the_answer_needs_even_when_its_worker_claims_the_next_run(
    job, listener
):
    queue.enqueue(job, Run.Cause.MANUAL, {})
    waiting = queue.enqueue(job, Run.Cause.MANUAL, {})
    run = queue.claim("w", 60)
    then = queue.NextClaim("w", 60)
    queue.finish(run, 0, {"data": {"doubled": 4}}, [], then=then)
    assert then.run.pk == waiting.pk  # claimed in the same transaction: no worker was woken
    assert listener.heard(30) == {
        run.pk: {"status": "success", "exit_code": 0, "final_state": {"data": {"doubled": 4}}}
    }


def test_an_end_too_large_for_a_notification_is_heard_by_its_run_id_alone(job, listener):
    run = running(job)
    queue.finish(run, 1, {"data": {"text": "x" * 20_000}}, [])
    assert listener.heard(30) == {run.pk: None}


def test_a_new_run_is_not_heard_as_an_end(job, listener):
    queue.enqueue(job, Run.Cause.MANUAL, {})
    assert listener.heard(0.2) == {}


def test_an_end_that_was_already_recorded_is_not_announced_again(job, listener):
    run = running(job)
    queue.finish(run, 0, {}, [])
    assert run.pk in listener.heard(30)
    stale = Run.objects.get(pk=run.pk)
    stale.status = Run.Status.RUNNING  # a worker that still thinks the run is its own
    assert stale.record_end(Run.Status.SUCCESS, 0, {}, []) is False
    assert listener.heard(0.2) == {}


@pytest.fixture
def watcher():
    """A RunEnds of this test's own; its watcher thread (and its connections) ends with the test."""
    ends = RunEnds()
    yield ends
    thread = ends._thread
    if thread is not None:
        thread.join(30)


def wait_in_a_thread(ends: RunEnds, run_ids) -> tuple[threading.Thread, list]:
    answer = []
    thread = threading.Thread(target=lambda: answer.append(asyncio.run(ends.wait(run_ids, 60))))
    thread.start()
    return thread, answer


@pytest.mark.parametrize("final_state", [{"data": {"doubled": 4}}, {"data": {"text": "x" * 20_000}}])
def test_a_waiter_is_answered_from_the_notification_and_reads_the_run_only_when_it_was_too_large(
    postgresql, job, monkeypatch, watcher, final_state
):
    monkeypatch.setattr(ends_module, "FALLBACK_SECONDS", 300)  # no look but the first, unless told
    looks, looked = [], threading.Event()

    def ended_runs(run_ids):
        found = real_ended_runs(run_ids)
        looks.append(found)
        looked.set()  # after the query: a look that has begun must not see the end
        return found

    real_ended_runs = ends_module.ended_runs
    monkeypatch.setattr(ends_module, "ended_runs", ended_runs)
    run = running(job)
    thread, answer = wait_in_a_thread(watcher, [run.pk])
    assert looked.wait(30)
    assert looks == [{}]  # the first look, before the end: nothing ended yet
    queue.finish(run, 0, final_state, [])
    thread.join(60)
    assert answer == [{run.pk: {"status": "success", "exit_code": 0, "final_state": final_state}}]
    if len(final_state["data"].get("text", "")) > 8000:
        assert looks == [{}, answer[0]]  # told only that it ended: a look read it
    else:
        assert looks == [{}]


def test_a_waiter_gets_the_end_of_its_run_with_its_final_state(job, watcher):
    run = running(job)
    queue.finish(run, 0, {"data": {"doubled": 4}}, [])
    ended = asyncio.run(watcher.wait([run.pk], 30))
    assert ended == {run.pk: {"status": "success", "exit_code": 0, "final_state": {"data": {"doubled": 4}}}}
