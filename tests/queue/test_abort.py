"""An administrator aborts a pending or running run: exit 6 (spec section 6)."""

import pytest

from kindling.runs import queue
from kindling.runs.models import IllegalTransition, Run
from tests.conftest import make_job, make_trigger
from tests.domain.conftest import Line, claim_next
from tests.queue.conftest import queued


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
