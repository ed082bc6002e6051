"""A worker process executes several runs at once (slots), within each project's concurrency, and
stops cleanly: on SIGTERM it finishes its current runs and claims no more."""

import signal
import threading
import time
from collections import Counter

import pytest
from django.db import OperationalError

from kindling.runs import queue, worker
from kindling.runs.models import Run
from kindling.runs.worker import Worker
from tests.conftest import make_job, make_trigger
from tests.queue.conftest import kindling, queued

SLEEPY = "fn(state => new Promise(resolve => setTimeout(() => resolve(state), {ms})));"


def finish_ok(run, **hooks):
    return queue.finish(run, 0, {"done": run.pk}, [])


def run_until_done(w: Worker, timeout=60):
    w.start(once=True)
    assert w.wait(timeout), "the worker did not finish in time"


def statuses():
    return Counter(Run.objects.values_list("status", flat=True))


def test_a_worker_with_3_slots_runs_3_runs_of_a_project_with_concurrency_3_at_once(
    shared_db, project_with, monkeypatch
):
    queued(project_with(concurrency=3).jobs.get(), 3)
    all_three = threading.Barrier(3, timeout=20)

    def execute(run, **hooks):
        all_three.wait()  # breaks (and the run is not finished) unless three run at the same time
        return finish_ok(run)

    monkeypatch.setattr(worker, "execute", execute)
    run_until_done(Worker("w1", slots=3, poll_seconds=0.05))
    assert statuses() == {"success": 3}


def test_slots_never_run_more_of_a_project_than_its_concurrency(shared_db, project_with, monkeypatch):
    two = project_with(concurrency=2, name="Two").jobs.get()
    one = project_with(concurrency=1, name="One").jobs.get()
    queued(two, 8)
    queued(one, 4)
    lock, running, most = threading.Lock(), Counter(), Counter()

    def execute(run, **hooks):
        with lock:
            running[run.project_id] += 1
            most[run.project_id] = max(most[run.project_id], running[run.project_id])
        time.sleep(0.1)
        with lock:
            running[run.project_id] -= 1
        return finish_ok(run)

    monkeypatch.setattr(worker, "execute", execute)
    run_until_done(Worker("w1", slots=5, poll_seconds=0.01))
    assert statuses() == {"success": 12}
    # 5 slots could run 5 at once; the projects allow 2 and 1
    assert most[two.project_id] <= 2 and most[one.project_id] == 1


def test_a_stopping_worker_finishes_its_current_runs_and_claims_no_more(shared_db, project_with, monkeypatch):
    queued(project_with(concurrency=2).jobs.get(), 5)
    started, release = threading.Semaphore(0), threading.Event()

    def execute(run, **hooks):
        started.release()
        release.wait(20)
        return finish_ok(run)

    monkeypatch.setattr(worker, "execute", execute)
    w = Worker("w1", slots=3, poll_seconds=0.01)
    w.start()
    assert started.acquire(timeout=20) and started.acquire(timeout=20)
    w.stop()
    release.set()
    assert w.wait(30)
    assert statuses() == {"success": 2, "pending": 3}


def test_a_worker_slot_survives_a_database_error(shared_db, project_with, monkeypatch):
    queued(project_with().jobs.get(), 1)
    real_claim, calls = queue.claim, []

    def flaky_claim(*args, **kw):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real_claim(*args, **kw)

    monkeypatch.setattr(queue, "claim", flaky_claim)
    monkeypatch.setattr(worker, "execute", finish_ok)
    run_until_done(Worker("w1", slots=1, poll_seconds=0.01))
    assert statuses() == {"success": 1}


@pytest.fixture
def sleepy_job(project_with):
    def build(ms: int, concurrency: int = 1):
        project = project_with(concurrency=concurrency)
        return make_job(
            project,
            "sleepy",
            make_trigger(project, "manual", criteria={"never": True}),
            expression=SLEEPY.format(ms=ms),
        )

    return build


def test_two_slots_execute_two_real_runs_at_the_same_time(shared_db, sleepy_job):
    job = sleepy_job(1500, concurrency=2)
    queued(job, 2)
    run_until_done(Worker("w1", slots=2, poll_seconds=0.05), timeout=120)
    first, second = Run.objects.filter(job=job).order_by("id")
    assert (first.status, second.status) == ("success", "success"), first.log_text() + second.log_text()
    assert second.started_at < first.finished_at and first.started_at < second.finished_at


def test_the_worker_command_finishes_its_run_on_sigterm_and_claims_no_more(shared_db, sleepy_job):
    job = sleepy_job(2000)
    first, second = queued(job, 2)
    process = kindling(shared_db, "worker", "--slots", "2")
    try:
        deadline = time.monotonic() + 60
        while Run.objects.get(pk=first.pk).status == "pending" and time.monotonic() < deadline:
            assert process.poll() is None, process.stdout.read()
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=60)[0]
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert Run.objects.get(pk=first.pk).status == "success", output
    assert Run.objects.get(pk=second.pk).status == "pending"
    assert "started with 2 slot(s)" in output and "stopped" in output


def test_an_idle_worker_wakes_up_when_a_run_is_queued_not_after_its_poll_interval(
    shared_db, project_with, monkeypatch
):
    # SQLite: the worker watches the file's commit counter; PostgreSQL: it LISTENs for queue's NOTIFY.
    job = project_with().jobs.get()
    monkeypatch.setattr(worker, "execute", finish_ok)
    w = Worker("w1", slots=1, poll_seconds=120)
    w.start()
    try:
        time.sleep(0.5)  # the worker found nothing and sleeps
        run = queued(job, 1)[0]
        deadline = time.monotonic() + 60  # half the poll interval
        while Run.objects.get(pk=run.pk).status != "success" and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        w.stop()
        w.wait(30)
    assert Run.objects.get(pk=run.pk).status == "success"
