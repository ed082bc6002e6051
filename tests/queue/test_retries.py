"""Automatic retries: a run that ends failed, timed out or lost is tried again after its backoff, as a
new run of the same series; aborted runs and failures the job marks final never are; flow and catch
listeners start once, on the series' final outcome."""

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from kindling.lib.backoff import retry_delay
from kindling.runs import queue
from kindling.runs.janitor import mark_lost_runs
from kindling.runs.models import Run
from kindling.runs.retries import FINAL_MARK
from kindling.runs.worker import process_one
from tests.api import conftest as api_fixtures
from tests.conftest import make_job, make_plan, make_trigger, put_on_plan
from tests.domain.conftest import Line, claim_next, start

call = api_fixtures.call  # the API client fixture


@pytest.fixture
def project(project_with):
    return project_with()


@pytest.fixture
def job(project):
    job = project.jobs.get()
    job.retry_attempts, job.retry_backoff, job.retry_delay = 3, "fixed", 30
    job.save()
    return job


def fail(run, exit_code=1, state=None, lines=()):
    return queue.finish(run, exit_code, state, list(lines))


def due_now(run):
    """The backoff of a waiting retry is over (as if its time had come)."""
    Run.objects.filter(pk=run.pk).update(not_before=timezone.now() - timedelta(seconds=1))


def next_attempt(retry):
    due_now(retry)
    claimed = claim_next()
    assert claimed is not None and claimed.pk == retry.pk
    return claimed


def listener(project, upstream, kind, name):
    return make_job(project, name, make_trigger(project, f"{kind}-{name}", kind=kind, upstream_job=upstream))


# Backoff


def test_a_fixed_backoff_waits_the_same_before_every_retry_less_its_jitter():
    waits = [retry_delay(n, "fixed", 60, 3600, random.Random(n)) for n in (1, 2, 5)]
    assert all(48 <= wait <= 60 for wait in waits)


def test_an_exponential_backoff_doubles_its_wait_after_every_retry_up_to_its_cap():
    no_jitter = type("NoJitter", (), {"random": lambda self: 0.0})()
    assert [retry_delay(n, "exponential", 10, 100, no_jitter) for n in (1, 2, 3, 4, 5)] == [
        10,
        20,
        40,
        80,
        100,
    ]


def test_jitter_shortens_a_wait_by_at_most_a_fifth():
    full = type("FullJitter", (), {"random": lambda self: 1.0})()
    assert retry_delay(1, "fixed", 100, 1000, full) == pytest.approx(80)


# Which ends are retried


def test_a_failed_run_of_a_job_without_retries_is_not_retried(project):
    run = start(project.jobs.get())
    assert fail(run) == []
    assert Run.objects.count() == 1
    run.refresh_from_db()
    assert (run.attempt, run.attempts, run.attempt_label) == (1, 1, "")


def test_a_failed_run_is_retried_as_attempt_2_after_its_backoff(job):
    run = start(job, {"data": {"n": 7}})
    before = timezone.now()
    (retry,) = fail(run)
    assert (retry.status, retry.attempt, retry.attempts, retry.first_attempt_id) == ("pending", 2, 4, run.pk)
    assert (retry.job_id, retry.cause, retry.initial_state) == (job.pk, run.cause, {"data": {"n": 7}})
    assert before + timedelta(seconds=24) <= retry.not_before <= timezone.now() + timedelta(seconds=30)
    run.refresh_from_db()
    assert (run.attempt_label, retry.attempt_label) == ("attempt 1 of 4", "attempt 2 of 4")


def test_a_retry_is_not_claimed_before_its_backoff_is_over(job):
    (retry,) = fail(start(job))
    assert claim_next() is None
    due_now(retry)
    assert claim_next().pk == retry.pk


def test_a_retry_that_is_due_waits_behind_the_runs_queued_before_it(job):
    (retry,) = fail(start(job))
    older = queue.enqueue(job, Run.Cause.MANUAL, {})
    due_now(retry)
    assert [claim_next().pk] == [retry.pk]  # the retry was queued first
    fail(Run.objects.get(pk=retry.pk))
    assert claim_next().pk == older.pk


def test_a_timed_out_run_is_retried(job):
    (retry,) = fail(start(job), exit_code=2)
    assert retry.attempt == 2


def test_a_lost_run_is_retried(job):
    run = start(job)
    Run.objects.filter(pk=run.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert [lost.pk for lost in mark_lost_runs()] == [run.pk]
    retry = Run.objects.get(first_attempt=run)
    assert (retry.status, retry.attempt, retry.attempts) == ("pending", 2, 4)


def test_an_aborted_run_is_never_retried(job):
    run = start(job)
    Run.objects.get(pk=run.pk).abort()  # by an administrator, while the worker executes it
    assert fail(run, exit_code=6) == []
    assert Run.objects.count() == 1


def test_an_aborted_retry_ends_its_series_without_listeners(project, job):
    listener(project, job, "catch", "on-failure")
    (retry,) = fail(start(job))
    assert retry.abort()
    due_now(retry)
    assert claim_next() is None
    assert list(Run.objects.order_by("id").values_list("status", flat=True)) == ["failed", "aborted"]


def test_a_failure_the_job_marks_final_in_its_state_is_not_retried(project, job):
    catcher = listener(project, job, "catch", "on-failure")
    (caught,) = fail(start(job), state={"retry": False, "data": {}})
    assert caught.job == catcher
    assert not Run.objects.filter(first_attempt__isnull=False).exists()


@pytest.mark.parametrize("mark", [FINAL_MARK, FINAL_MARK.upper()])
def test_a_failure_whose_error_says_final_is_not_retried(job, mark):
    error = Line(f"Error: {mark} patient 42 does not exist", source="R/T", level="error")
    assert fail(start(job), lines=[error]) == []


def test_a_plain_error_line_does_not_make_a_failure_final(job):
    (retry,) = fail(start(job), lines=[Line("Error: HTTP 503 from the server", source="R/T", level="error")])
    assert retry.attempt == 2


def test_the_series_stops_after_the_last_attempt(job):
    run = start(job)
    for attempt in (2, 3, 4):
        (retry,) = fail(run)
        assert retry.attempt == attempt
        run = next_attempt(retry)
    assert fail(run) == []
    attempts = Run.objects.order_by("id").values_list("attempt", "attempts", "status")
    assert list(attempts) == [(1, 4, "failed"), (2, 4, "failed"), (3, 4, "failed"), (4, 4, "failed")]


def test_lowering_the_retries_while_a_series_waits_stops_it_there(job):
    (retry,) = fail(start(job))
    job.retry_attempts = 1
    job.save()
    assert fail(next_attempt(retry)) == []


def test_an_archived_jobs_failure_is_not_retried(job):
    run = start(job)
    job.archived = True
    job.save()
    assert fail(run) == []


# Listeners start once, on the final outcome


def test_catch_listeners_start_once_after_the_last_attempt_fails(project, job):
    catcher = listener(project, job, "catch", "on-failure")
    job.retry_attempts = 1
    job.save()
    first = start(job, {"data": {"id": 1}})
    (retry,) = fail(first)
    assert retry.job == job
    (caught,) = fail(next_attempt(retry), lines=[Line("boom", level="error")])
    assert (caught.job, caught.cause, caught.parent_id) == (catcher, "catch", retry.pk)
    assert caught.initial_state == {"data": {"id": 1}, "error": "[JOB] boom"}
    assert Run.objects.filter(job=catcher).count() == 1


def test_flow_listeners_start_once_when_a_retry_succeeds(project, job):
    follower = listener(project, job, "flow", "on-success")
    catcher = listener(project, job, "catch", "on-failure")
    (retry,) = fail(start(job))
    (followed,) = queue.finish(next_attempt(retry), 0, {"data": {"ok": True}}, [])
    assert (followed.job, followed.parent_id, followed.initial_state) == (
        follower,
        retry.pk,
        {"data": {"ok": True}},
    )
    assert not Run.objects.filter(job=catcher).exists()


def test_a_retry_of_a_catch_run_keeps_its_parent(project, job):
    downstream = listener(project, job, "catch", "on-failure")
    downstream.retry_attempts = 2
    downstream.save()
    job.retry_attempts = 0
    job.save()
    (caught,) = fail(start(job))
    (retry,) = fail(next_attempt(caught))
    assert (retry.job, retry.parent_id, retry.cause, retry.first_attempt_id) == (
        downstream,
        caught.parent_id,
        "catch",
        caught.pk,
    )


# Plan and concurrency


def test_attempts_count_against_the_plan_and_one_over_it_ends_the_series(project, job):
    catcher = listener(project, job, "catch", "on-failure")
    put_on_plan(project, make_plan("Two runs", runs_per_month=2))
    (retry,) = fail(start(job))
    assert fail(next_attempt(retry))[0].job == catcher  # the third run (the catch run) is rejected...
    rejected = Run.objects.filter(job=job, status="rejected")
    assert rejected.count() == 1 and rejected.get().attempt == 3  # ...and so was the retry before it
    assert Run.objects.get(job=catcher).status == "rejected"


def test_a_due_retry_waits_while_its_project_is_at_its_concurrency(job):
    (retry,) = fail(start(job))
    running = start(job)
    due_now(retry)
    assert claim_next() is None
    queue.finish(running, 0, {}, [])
    assert claim_next().pk == retry.pk


# Real runs on the Node runner: how a job marks its failure final


def run_real(project, expression):
    job = project.jobs.get()
    job.expression, job.retry_attempts, job.retry_delay = expression, 2, 0
    job.save()
    queue.enqueue(job, Run.Cause.MANUAL, {"data": {"id": 1}})
    run = process_one("test-worker")
    assert run is not None
    run.refresh_from_db()
    return run


def test_a_job_that_throws_an_error_is_retried_and_its_retry_runs_at_once_with_no_delay(project):
    first = run_real(project, "fn(state => { throw new Error('HTTP 503 from the server'); });")
    assert (first.status, first.exit_code) == ("failed", 1)
    retry = process_one("test-worker")
    assert (retry.first_attempt_id, retry.attempt, retry.status) == (first.pk, 2, "failed")


def test_a_job_that_throws_an_error_marked_final_is_not_retried(project):
    run = run_real(project, "fn(state => { throw new Error('[final] patient 42 does not exist'); });")
    assert (run.status, Run.objects.count()) == ("failed", 1)


def test_a_job_that_sets_retry_false_before_failing_is_not_retried(project):
    expression = (
        "fn(state => { state.retry = false; return state; });\nfn(state => { throw new Error('no'); });"
    )
    run = run_real(project, expression)
    assert run.status == "failed"
    assert run.final_state.get("retry") is False
    assert Run.objects.count() == 1


# Where people see it


def test_activity_and_the_run_page_show_attempt_2_of_4(client_for, project, job):
    first = start(job)
    (retry,) = fail(first)
    alice = project.memberships.get().user
    client = client_for(alice)
    activity = client.get(f"/projects/{project.slug}/activity").content.decode()
    assert activity.count("attempt 2 of 4") == 1 and activity.count("attempt 1 of 4") == 1
    page = client.get(f"/projects/{project.slug}/runs/{retry.pk}").content.decode()
    assert "attempt 2 of 4" in page and "waits until" in page
    assert f'href="/projects/{project.slug}/runs/{first.pk}"' in page


def test_the_api_gives_a_retrys_attempt_and_series(call, project, job):
    (retry,) = fail(start(job))
    alice = project.memberships.get().user
    body = call(alice, "GET", f"/runs/{retry.pk}").json()
    assert (body["attempt"], body["attempts"], body["first_attempt"]) == (2, 4, retry.first_attempt_id)
    assert body["not_before"] is not None
