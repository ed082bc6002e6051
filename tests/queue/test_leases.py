"""Leases: a worker renews the lease of each run it executes, and learns when a run it holds was
aborted or declared lost."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from kindling.runs import queue, worker
from kindling.runs.models import Run
from kindling.runs.worker import LeaseKeeper, process_one
from tests.queue.conftest import queued


@pytest.fixture
def job(project_with):
    return project_with(concurrency=3).jobs.get()


def claimed(job, count=1, name="w1", lease=30):
    queued(job, count)
    return [queue.claim(name, lease_seconds=lease) for _ in range(count)]


def test_renewing_extends_the_lease_of_the_runs_the_worker_holds(job):
    (run,) = claimed(job, lease=5)
    before = Run.objects.get(pk=run.pk).lease_until
    assert queue.renew_leases("w1", [run.pk], 60) == {run.pk}
    after = Run.objects.get(pk=run.pk).lease_until
    assert after - before > timedelta(seconds=50)


def test_a_worker_cannot_renew_another_workers_run(job):
    (run,) = claimed(job, name="w1")
    lease = Run.objects.get(pk=run.pk).lease_until
    assert queue.renew_leases("w2", [run.pk], 600) == set()
    assert Run.objects.get(pk=run.pk).lease_until == lease


def test_an_aborted_run_is_not_renewed_and_not_reported_held(job):
    first, second = claimed(job, 2)
    first.abort()
    assert queue.renew_leases("w1", [first.pk, second.pk], 60) == {second.pk}
    assert Run.objects.get(pk=first.pk).lease_until is None


def test_the_keeper_signals_a_run_that_was_aborted_while_it_ran(job):
    aborted, running = claimed(job, 2)
    keeper = LeaseKeeper("w1", lease_seconds=30)
    stopped = {run.pk: keeper.hold(run.pk) for run in (aborted, running)}
    aborted.abort()
    keeper.renew()
    assert stopped[aborted.pk].is_set()
    assert not stopped[running.pk].is_set()


def test_the_keeper_does_not_signal_a_run_its_own_slot_just_finished(job):
    (run,) = claimed(job)
    keeper = LeaseKeeper("w1", lease_seconds=30)
    stopped = keeper.hold(run.pk)
    queue.finish(run, 0, {}, [])  # the slot has finished it and is about to release it
    keeper.renew()
    assert not stopped.is_set()


def test_the_keeper_signals_a_run_the_janitor_declared_lost(job):
    (run,) = claimed(job)
    keeper = LeaseKeeper("w1", lease_seconds=30)
    stopped = keeper.hold(run.pk)
    Run.objects.filter(pk=run.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    run.mark_lost()
    keeper.renew()
    assert stopped.is_set()


def test_a_worker_with_a_keeper_claims_with_the_short_lease_and_holds_the_run_while_it_executes(
    job, monkeypatch
):
    queued(job, 1)
    keeper = LeaseKeeper("w1", lease_seconds=9)
    seen = {}

    def execute(run, **hooks):
        seen["held"] = set(keeper.stopped)
        seen["lease"] = (run.lease_until - run.started_at).total_seconds()
        return queue.finish(run, 0, {}, [])

    monkeypatch.setattr(worker, "execute", execute)
    run = process_one("w1", keeper)
    assert seen == {"held": {run.pk}, "lease": 9}
    assert keeper.stopped == {}
    assert run.status == "success"


def test_without_a_keeper_the_lease_outlasts_the_run_timeout(job, monkeypatch, settings):
    settings.RUN_TIMEOUT_SECONDS = 100
    queued(job, 1)
    leases = []

    def execute(run, **hooks):
        leases.append((run.lease_until - run.started_at).total_seconds())
        return queue.finish(run, 0, {}, [])

    monkeypatch.setattr(worker, "execute", execute)
    assert process_one("w1").status == "success"
    assert leases == [160]


def test_the_keeper_thread_renews_on_its_own(shared_db, project_with):
    job = project_with().jobs.get()
    (run,) = claimed(job, lease=3)
    keeper = LeaseKeeper("w1", lease_seconds=3)
    keeper.hold(run.pk)
    first = Run.objects.get(pk=run.pk).lease_until
    keeper.start()
    try:
        deadline = time.monotonic() + 10
        while Run.objects.get(pk=run.pk).lease_until == first and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        keeper.stop()
    assert Run.objects.get(pk=run.pk).lease_until > first
