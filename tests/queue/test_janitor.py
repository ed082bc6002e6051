"""The janitor: a run whose lease expired is lost (exit 4) and starts its catch listeners."""

import socket
import time
from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone

from kindling.runs import queue
from kindling.runs.janitor import mark_lost_runs
from kindling.runs.models import LOST_NOTE, Run
from tests.conftest import make_job, make_trigger
from tests.domain.conftest import Line
from tests.queue.conftest import in_threads, kindling, queued


def claimed_run(job, state=None):
    queue.enqueue(job, Run.Cause.MANUAL, state or {})
    return queue.claim("w1", lease_seconds=30)


def expire(run, seconds_ago=1):
    Run.objects.filter(pk=run.pk).update(lease_until=timezone.now() - timedelta(seconds=seconds_ago))


def listener(project, upstream, kind, name):
    trigger = make_trigger(project, f"{kind}-{name}", kind=kind, upstream_job=upstream)
    return make_job(project, name, trigger)


def test_a_run_whose_lease_expired_is_lost_with_exit_4_and_a_log_line(project_with):
    run = claimed_run(project_with().jobs.get())
    expire(run)
    assert [r.pk for r in mark_lost_runs()] == [run.pk]
    run.refresh_from_db()
    assert (run.status, run.exit_code, run.lease_until) == ("lost", 4, None)
    assert run.finished_at is not None
    assert list(run.log_lines.values_list("source", "level", "message")) == [("RTE", "error", LOST_NOTE)]


def test_a_lost_run_starts_its_catch_jobs_as_a_failure(project_with):
    project = project_with()
    job = project.jobs.get()
    catch_job = listener(project, job, "catch", "on-failure")
    listener(project, job, "flow", "on-success")
    run = claimed_run(job, {"data": {"premonition": "lost"}})
    expire(run)
    mark_lost_runs()
    (child,) = Run.objects.exclude(pk=run.pk)
    assert (child.job, child.cause, child.parent_id, child.status) == (catch_job, "catch", run.pk, "pending")
    assert child.initial_state == {"data": {"premonition": "lost"}, "error": f"[RTE] {LOST_NOTE}"}


def test_a_run_with_a_live_lease_and_pending_runs_are_left_alone(project_with):
    job = project_with(concurrency=2).jobs.get()
    running = claimed_run(job)
    pending = queued(job, 1)[0]
    Run.objects.filter(pk=pending.pk).update(lease_until=timezone.now() - timedelta(minutes=5))
    assert mark_lost_runs() == []
    assert Run.objects.get(pk=running.pk).status == "running"
    assert Run.objects.get(pk=pending.pk).status == "pending"


def test_a_renewal_that_lands_first_keeps_the_run(project_with):
    run = claimed_run(project_with().jobs.get())
    expire(run)
    queue.renew_leases("w1", [run.pk], 30)
    assert mark_lost_runs() == []
    assert Run.objects.get(pk=run.pk).status == "running"


def test_a_lost_run_frees_its_projects_slot(project_with):
    job = project_with(concurrency=1).jobs.get()
    run = claimed_run(job)
    waiting = queued(job, 1)[0]
    assert queue.claim("w2", 30) is None
    expire(run)
    mark_lost_runs()
    assert queue.claim("w2", 30).pk == waiting.pk


def test_a_late_finish_of_a_lost_run_changes_nothing_and_starts_nothing(project_with):
    project = project_with()
    job = project.jobs.get()
    listener(project, job, "flow", "on-success")
    run = claimed_run(job)
    expire(run)
    mark_lost_runs()
    assert queue.finish(run, 0, {"late": True}, [Line("finally done")]) == []
    run.refresh_from_db()
    assert (run.status, run.exit_code, run.final_state) == ("lost", 4, None)
    assert Run.objects.count() == 1
    # the worker's lines are kept after the janitor's, not mixed into them
    assert list(run.log_lines.values_list("seq", "message")) == [(0, LOST_NOTE), (1, "finally done")]


def test_two_janitors_at_once_lose_each_run_once_and_start_one_catch_run(shared_db, project_with):
    project = project_with(concurrency=3)
    job = project.jobs.get()
    listener(project, job, "catch", "on-failure")
    runs = [claimed_run(job) for _ in range(3)]
    for run in runs:
        expire(run)
    results = in_threads(4, mark_lost_runs)
    assert not [r for r in results if isinstance(r, Exception)]
    assert sorted(r.pk for lost in results for r in lost) == [run.pk for run in runs]
    assert Run.objects.filter(status="lost").count() == 3
    assert Run.objects.filter(cause="catch").count() == 3
    assert all(run.log_lines.count() == 1 for run in Run.objects.filter(status="lost"))


def test_the_janitor_command_reports_what_it_marked_lost(project_with, capsys):
    run = claimed_run(project_with().jobs.get())
    expire(run)
    call_command("janitor", "--once")
    assert f"lost: run {run.pk} of job-1 (worker w1)" in capsys.readouterr().out
    assert Run.objects.get(pk=run.pk).status == "lost"


def test_the_scheduler_process_also_marks_lost_runs(shared_db, project_with):
    run = claimed_run(project_with().jobs.get())
    expire(run)
    scheduler = kindling(shared_db, "scheduler")
    try:
        deadline = time.monotonic() + 30
        while Run.objects.get(pk=run.pk).status == "running" and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        scheduler.terminate()
        output = scheduler.communicate(timeout=30)[0]
    assert Run.objects.get(pk=run.pk).status == "lost", output
    assert f"lost: run {run.pk} of job-1" in output
    assert scheduler.returncode == 0


def wait_until_lost(run, process) -> str:
    try:
        deadline = time.monotonic() + 30
        while Run.objects.get(pk=run.pk).status == "running" and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert Run.objects.get(pk=run.pk).status == "lost", output
    assert process.returncode == 0, output
    return output


def free_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def test_kindling_serve_without_workers_runs_a_scheduler_that_marks_lost_runs(shared_db, project_with):
    run = claimed_run(project_with().jobs.get())
    expire(run)
    wait_until_lost(run, kindling(shared_db, "serve", "--workers", "0", "--port", free_port()))


def test_the_first_worker_of_kindling_serve_is_the_scheduler(shared_db, project_with):
    run = claimed_run(project_with().jobs.get())
    expire(run)
    output = wait_until_lost(run, kindling(shared_db, "serve", "--workers", "2", "--port", free_port()))
    assert f"lost: run {run.pk} of job-1" in output


def test_a_worker_with_scheduler_marks_lost_runs(shared_db, project_with):
    run = claimed_run(project_with().jobs.get())
    expire(run)
    output = wait_until_lost(run, kindling(shared_db, "worker", "--scheduler", "--slots", "1"))
    assert f"lost: run {run.pk} of job-1" in output
