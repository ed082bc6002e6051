"""An administrator aborts a pending or running run: exit 6 (spec section 6), and a running run's Node
process is killed."""

import pytest

from kindling import engine
from kindling.engine.execute import ABORTED_NOTE
from kindling.runs import queue
from kindling.runs.models import IllegalTransition, Run
from kindling.runs.worker import LeaseKeeper, Worker
from tests.conftest import make_job, make_trigger
from tests.domain.conftest import Line, claim_next
from tests.engine.test_cancel import gone
from tests.queue.conftest import queued
from tests.queue.test_live_log import wait_for


@pytest.fixture
def project(project_with):
    return project_with(concurrency=1)


@pytest.fixture
def job(project):
    return project.jobs.get()


def test_aborting_a_pending_run_ends_it_with_exit_6_and_it_never_starts(job):
    run = queued(job, 1)[0]
    assert run.abort() is True
    run.refresh_from_db()
    assert (run.status, run.exit_code, run.started_at) == ("aborted", 6, None)
    assert run.finished_at is not None
    assert claim_next() is None


def test_aborting_a_running_run_ends_it_with_exit_6_and_frees_its_slot(job):
    queued(job, 2)
    running = claim_next()
    assert running.abort() is True
    running.refresh_from_db()
    assert (running.status, running.exit_code, running.lease_until) == ("aborted", 6, None)
    assert claim_next() is not None  # the next run of the project starts


def test_the_result_of_an_aborted_run_is_dropped_and_starts_no_listener(project, job):
    for kind in ("flow", "catch"):
        make_job(project, f"on-{kind}", make_trigger(project, kind, kind=kind, upstream_job=job))
    queued(job, 1)
    run = claim_next()
    Run.objects.get(pk=run.pk).abort()  # from the portal, while the worker holds `run`
    assert queue.finish(run, 0, {"done": True}, [Line("finished anyway")]) == []
    run.refresh_from_db()
    assert (run.status, run.exit_code, run.final_state) == ("aborted", 6, None)
    assert Run.objects.count() == 1
    assert list(run.log_lines.values_list("message", flat=True)) == ["finished anyway"]


@pytest.mark.parametrize("status", ["success", "failed", "lost", "aborted"])
def test_a_finished_run_cannot_be_aborted(job, status):
    run = queued(job, 1)[0]
    Run.objects.filter(pk=run.pk).update(status=status, exit_code=1)
    run.refresh_from_db()
    with pytest.raises(IllegalTransition):
        run.abort()
    assert Run.objects.get(pk=run.pk).status == status


def test_an_abort_that_loses_the_race_with_the_end_of_the_run_changes_nothing(job):
    queued(job, 1)
    run = claim_next()
    stale = Run.objects.get(pk=run.pk)  # what the admin's page loaded while the run still ran
    queue.finish(run, 0, {"ok": 1}, [])
    assert stale.abort() is False
    stale.refresh_from_db()
    assert (stale.status, stale.exit_code) == ("success", 0)


NEVER_ENDS = "fn(state => { console.log('waiting for ever'); return new Promise(() => {}); });"


def test_aborting_a_running_run_kills_its_node_process_and_the_project_runs_on(shared_db, project, job):
    forever = make_job(
        project, "forever", make_trigger(project, "manual", criteria={"never": True}), expression=NEVER_ENDS
    )
    (run,) = queued(forever, 1)
    engine.shared_pool().close()
    worker = Worker("w1", slots=1, poll_seconds=0.05)
    worker.start()
    try:
        assert wait_for(lambda: run.log_lines.filter(message="waiting for ever").exists())
        killed = engine.shared_pool().node_pids(f"project-{project.pk}")
        assert killed

        assert Run.objects.get(pk=run.pk).abort()
        aborted = Run.objects.get(pk=run.pk)

        assert all(gone(pid) for pid in killed)
        assert wait_for(lambda: run.log_lines.filter(message=ABORTED_NOTE).exists())
        (after,) = queued(job, 1)
        assert wait_for(lambda: Run.objects.get(pk=after.pk).status == "success")
    finally:
        worker.stop()
        assert worker.wait(60)
        engine.shared_pool().close()

    run.refresh_from_db()
    # finish() left the abort's record as it was and only added the rest of the log.
    assert (run.status, run.exit_code, run.finished_at) == ("aborted", 6, aborted.finished_at)
    assert run.final_state is None
    lines = list(run.log_lines.order_by("seq").values_list("seq", "message"))
    assert [seq for seq, _ in lines] == list(range(len(lines)))
    assert [message for _, message in lines].count("waiting for ever") == 1
    assert [message for _, message in lines][-2:] == [ABORTED_NOTE, "Run complete with status: cancelled"]
    assert Run.objects.count() == 2  # an aborted run starts no catch run, and nothing ran twice


def test_a_worker_notices_an_abort_between_two_lease_renewals(job):
    queued(job, 1)
    run = claim_next()
    keeper = LeaseKeeper("w1", lease_seconds=30)
    stopped = keeper.hold(run.pk)
    run.abort()

    keeper.check()  # what the keeper does every second; renewals come every 10 s

    assert stopped.is_set()


def test_the_keepers_thread_notices_an_abort_long_before_its_next_renewal(shared_db, project_with):
    queued(project_with().jobs.get(), 1)
    run = claim_next()
    # Renewals every 200 s: only the short check can notice the abort within the wait below.
    keeper = LeaseKeeper("test-worker", lease_seconds=600, check_seconds=0.1)
    stopped = keeper.hold(run.pk)
    keeper.start()
    try:
        Run.objects.get(pk=run.pk).abort()
        assert stopped.wait(60)
    finally:
        keeper.stop()
