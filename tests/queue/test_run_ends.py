"""How a waiting request hears that its runs ended (runs/ends.py): on PostgreSQL the statement that
records a run's end NOTIFYs the run's id on a channel of its own, so the end is heard at its commit
whatever else the worker's transaction does (it may claim the project's next run, and then it wakes
no idle worker); on either database an end is found by a look."""

import asyncio

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
def listener(job):
    if connection.vendor != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    heard = EndListener()
    assert heard.heard(0) == set()  # listening from here on
    yield heard
    heard.close()


def test_a_runs_end_is_heard_with_its_id_even_when_its_worker_claims_the_next_run(job, listener):
    queue.enqueue(job, Run.Cause.MANUAL, {})
    waiting = queue.enqueue(job, Run.Cause.MANUAL, {})
    run = queue.claim("w", 60)
    then = queue.NextClaim("w", 60)
    queue.finish(run, 0, {"data": {"done": True}}, [], then=then)
    assert then.run.pk == waiting.pk  # claimed in the same transaction: no worker was woken
    assert listener.heard(30) == {run.pk}


def test_a_new_run_is_not_heard_as_an_end(job, listener):
    queue.enqueue(job, Run.Cause.MANUAL, {})
    assert listener.heard(0.2) == set()


def test_an_end_that_was_already_recorded_is_not_announced_again(job, listener):
    queue.enqueue(job, Run.Cause.MANUAL, {})
    run = queue.claim("w", 60)
    queue.finish(run, 0, {}, [])
    assert listener.heard(30) == {run.pk}
    stale = Run.objects.get(pk=run.pk)
    stale.status = Run.Status.RUNNING  # a worker that still thinks the run is its own
    assert stale.record_end(Run.Status.SUCCESS, 0, {}, []) is False
    assert listener.heard(0.2) == set()


def test_a_waiter_gets_the_end_of_its_run_with_its_final_state(job):
    queue.enqueue(job, Run.Cause.MANUAL, {})
    run = queue.claim("w", 60)
    queue.finish(run, 0, {"data": {"doubled": 4}}, [])
    ended = asyncio.run(RunEnds().wait([run.pk], 30))
    assert ended == {run.pk: {"status": "success", "exit_code": 0, "final_state": {"data": {"doubled": 4}}}}
