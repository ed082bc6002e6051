"""Synchronous inbox replies (inbox/reply.py): with `?wait=<seconds>`, or for a trigger that replies
after completion, the inbox answers once the runs it started have ended, with their results; when
the wait runs out it answers 202 with the run ids, the message and its runs stored as always."""

import json

import pytest
from django.test import Client

from kindling.inbox.models import Message
from kindling.jobs.models import Trigger
from kindling.runs import ends as ends_module
from kindling.runs.ends import ends
from kindling.runs.models import Run
from kindling.runs.worker import Worker
from tests.conftest import make_job, make_project, make_trigger, make_user, put_on_plan
from tests.queue.test_inbox_asgi import call

DOUBLE = "fn(state => ({ ...state, data: { doubled: state.data.n * 2 } }));"


def post(project, body: dict, query: str = "", leaves=False):
    """One POST through the ASGI application, as uvicorn serves it: (status, JSON body); None when
    nothing was answered."""
    content = json.dumps(body).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(content)))]
    answered = call(f"/inbox/{project.inbox_uuid}", content, headers=headers, query=query, leaves=leaves)
    return None if answered is None else (answered[0], answered[2])


@pytest.fixture(autouse=True)
def watcher_ends_with_each_test(monkeypatch):
    # Each test has a database of its own: the watcher must not keep a connection to the last one.
    monkeypatch.setattr(ends_module, "IDLE_SECONDS", 0)


@pytest.fixture
def project(shared_db):
    return put_on_plan(make_project(make_user("owner@example.com"), "Project"))


@pytest.fixture
def worker(shared_db):
    w = Worker("w1", slots=1, poll_seconds=0.05)
    w.start()
    yield w
    w.stop()
    assert w.wait(60)


def test_with_wait_it_answers_with_the_final_data_of_the_run(project, worker):
    make_job(project, "double", make_trigger(project, criteria={}), expression=DOUBLE)
    status, body = post(project, {"n": 21}, "wait=30")
    run = Run.objects.get()
    assert status == 200, body
    assert body == {
        "meta": {"message": "Processing finished."},
        "data": [
            {"id": run.pk, "job": "double", "status": "success", "exit_code": 0, "data": {"doubled": 42}}
        ],
        "errors": [],
    }


def test_a_trigger_that_replies_after_completion_waits_without_being_asked(project, worker):
    trigger = make_trigger(project, criteria={}, reply=Trigger.Reply.AFTER_COMPLETION)
    make_job(project, "double", trigger, expression=DOUBLE)
    status, body = post(project, {"n": 2})
    assert status == 200, body
    assert body["data"][0]["data"] == {"doubled": 4}


def test_a_job_that_opts_out_of_returning_data_gives_its_status_and_exit_code_only(project, worker):
    trigger = make_trigger(project, criteria={})
    make_job(project, "double", trigger, expression=DOUBLE, reply_with_data=False)
    status, body = post(project, {"n": 2}, "wait=30")
    assert status == 200
    run = Run.objects.get()
    assert body["data"] == [{"id": run.pk, "job": "double", "status": "success", "exit_code": 0}]


def test_a_failed_run_is_answered_with_its_status_and_exit_code(project, worker):
    failing = "fn(() => { throw new Error('no'); });"
    make_job(project, "broken", make_trigger(project, criteria={}), expression=failing)
    status, body = post(project, {"n": 2}, "wait=30")
    assert status == 200
    assert body["meta"]["message"] == "Processing finished; 1 of 1 runs did not succeed."
    assert (body["data"][0]["status"], body["data"][0]["exit_code"]) == ("failed", 1)


def test_when_the_wait_runs_out_it_answers_202_with_the_run_ids_and_keeps_everything(project):
    make_job(project, "double", make_trigger(project, criteria={}), expression=DOUBLE)
    status, body = post(project, {"n": 2}, "wait=0.2")  # no worker: the run stays pending
    run = Run.objects.get()
    assert status == 202
    assert body["data"] == ["double"]
    assert body["runs"] == [{"id": run.pk, "job": "double"}]
    assert run.status == "pending" and Message.objects.get().body == {"n": 2}


def test_without_wait_the_answer_is_v1s_202_at_once(project):
    make_job(project, "double", make_trigger(project, criteria={}), expression=DOUBLE)
    status, body = post(project, {"n": 2})
    assert status == 202
    assert "runs" not in body


@pytest.mark.parametrize("wait", ["abc", "61", "-1", "nan", "inf", ""])
def test_it_refuses_a_wait_it_cannot_use_and_stores_nothing(project, wait):
    make_job(project, "double", make_trigger(project, criteria={}), expression=DOUBLE)
    status, body = post(project, {"n": 2}, f"wait={wait}")
    assert status == 400
    assert body["error"].startswith(f"wait must be a number of seconds from 0 to 60 (got {wait!r})")
    assert not Message.objects.exists()


def test_it_refuses_wait_given_twice(project):
    status, body = post(project, {"n": 2}, "wait=1&wait=2")
    assert (status, body) == (400, {"error": "Give the wait parameter once."})


def test_the_django_view_waits_too(project, worker):
    make_job(project, "double", make_trigger(project, criteria={}), expression=DOUBLE)
    url = f"/inbox/{project.inbox_uuid}?wait=30"
    response = Client().post(url, {"n": 5}, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["data"][0]["data"] == {"doubled": 10}


def test_a_sender_that_leaves_while_waiting_gets_nothing_and_loses_nothing(project):
    make_job(project, "double", make_trigger(project, criteria={}), expression=DOUBLE)
    assert post(project, {"n": 2}, "wait=30", leaves=True) is None
    assert Run.objects.get().status == "pending" and Message.objects.get().body == {"n": 2}
    assert not ends._by_run  # nobody waits for its run any more
