"""Starting runs by hand (runs/reprocess.py): run now, reprocess a run or a message, the v1 rule that one
(message, job) pair creates at most one run every 10 seconds when a message is matched again (spec
sections 4, 8 and 11), and the request token that keeps an explicit click's double click to one run."""

from datetime import timedelta

import pytest
from django.utils import timezone

from kindling.inbox.models import Message
from kindling.jobs.models import Job, RunRequest
from kindling.runs import queue
from kindling.runs.models import Run
from kindling.runs.reprocess import BadToken, CannotRun, reprocess_message, reprocess_run, run_now
from tests.conftest import make_job, make_project, make_trigger, post_message
from tests.domain.conftest import Line, claim_next
from tests.queue.conftest import in_threads


@pytest.fixture
def job(project):
    return make_job(project, "job-1", make_trigger(project, "trigger-1", criteria={"number": 2}))


@pytest.fixture
def cron_job(project):
    every_minute = make_trigger(project, "every-minute", kind="cron", cron="* * * * *")
    return make_job(project, "recurring-job", every_minute)


@pytest.fixture
def message(project, job):
    message, _runs = post_message(project, {"number": 2})
    Run.objects.all().delete()
    return message


def flow_job(project, upstream, kind="flow", name="flow-job"):
    return make_job(project, name, make_trigger(project, f"after-{name}", kind=kind, upstream_job=upstream))


def ten_seconds_pass():
    Run.objects.update(created_at=timezone.now() - timedelta(seconds=10, milliseconds=1))


# Run now


def test_run_now_runs_a_message_job_on_the_chosen_message(job, message):
    run = run_now(job, message)
    assert (run.job, run.message, run.cause, run.status) == (job, message, "manual", "pending")
    assert run.initial_state == {"data": {"number": 2}}


def test_run_now_runs_a_switched_off_job_too(job, message):
    Job.objects.filter(pk=job.pk).update(enabled=False)
    job.refresh_from_db()
    assert run_now(job, message).status == "pending"


def test_run_now_of_a_message_job_needs_a_message(job):
    with pytest.raises(CannotRun, match="choose the message"):
        run_now(job)
    assert not Run.objects.exists()


def test_run_now_refuses_a_message_of_another_project(job, charlie):
    other, _ = post_message(make_project(charlie, "Other"), {"number": 2})
    with pytest.raises(CannotRun, match="another project"):
        run_now(job, other)


def test_run_now_of_a_cron_job_starts_from_its_saved_state(cron_job):
    Job.objects.filter(pk=cron_job.pk).update(saved_state={"counter": 4})
    cron_job.refresh_from_db()
    run = run_now(cron_job)
    assert (run.cause, run.message, run.initial_state) == ("manual", None, {"counter": 4})


def test_a_cron_job_run_on_demand_saves_its_state_like_a_scheduled_run(cron_job):
    run_now(cron_job)
    queue.finish(claim_next(), 0, {"counter": 1}, [])
    cron_job.refresh_from_db()
    assert cron_job.saved_state == {"counter": 1}
    assert run_now(cron_job).initial_state == {"counter": 1}


def test_a_cron_job_can_be_run_now_twice_in_a_row(cron_job):
    run_now(cron_job)
    run_now(cron_job)
    assert Run.objects.count() == 2


@pytest.mark.parametrize("kind", ["flow", "catch"])
def test_run_now_refuses_flow_and_catch_jobs(project, job, kind):
    listener = flow_job(project, job, kind)
    with pytest.raises(CannotRun, match="reprocess a run"):
        run_now(listener)


def test_run_now_refuses_an_archived_job(job, message):
    Job.objects.filter(pk=job.pk).update(archived=True)
    job.refresh_from_db()
    with pytest.raises(CannotRun, match="archived"):
        run_now(job, message)


# Explicit runs and the request token


def test_running_a_job_now_twice_at_once_on_the_same_message_starts_two_runs(job, message):
    first = run_now(job, message, token="click-one")
    second = run_now(job, message, token="click-two")
    assert first.pk != second.pk
    assert Run.objects.filter(job=job, message=message).count() == 2


def test_a_repeated_request_token_gets_the_run_it_started_instead_of_a_second(job, message):
    first = run_now(job, message, token="double-click")
    again = run_now(job, message, token="double-click")
    assert again.pk == first.pk
    assert Run.objects.count() == 1


def test_a_request_token_older_than_a_minute_starts_a_new_run(job, message):
    first = run_now(job, message, token="page-kept-open")
    RunRequest.objects.update(created_at=timezone.now() - timedelta(minutes=1, seconds=1))
    again = run_now(job, message, token="page-kept-open")
    assert again.pk != first.pk
    assert RunRequest.objects.get().run == again


def test_a_request_token_of_another_project_is_not_reused(project, job, message, alice):
    other = make_project(alice, "Other Ministry")
    other_job = make_job(other, "job-1")
    run_now(other_job, token="shared-token")
    with pytest.raises(CannotRun, match="already used"):
        run_now(job, message, token="shared-token")
    assert Run.objects.filter(job=job).count() == 0


def test_a_malformed_request_token_is_refused(job, message):
    with pytest.raises(BadToken, match="8 to 64 letters"):
        run_now(job, message, token="no spaces!")
    assert not Run.objects.exists()


def test_after_10_seconds_the_pair_may_run_again(job, message):
    run_now(job, message)
    ten_seconds_pass()
    run_now(job, message)
    assert Run.objects.count() == 2


def test_the_rule_is_per_pair(project, job, message):
    other_job = make_job(project, "job-2", job.trigger)
    run_now(job, message)
    run_now(other_job, message)
    second_message = Message.objects.create(project=project, body={"number": 2})
    run_now(job, second_message)
    assert sorted(Run.objects.values_list("job__name", "message_id")) == sorted(
        [("job-1", message.pk), ("job-2", message.pk), ("job-1", second_message.pk)]
    )


def test_a_double_click_that_reaches_two_processes_at_once_starts_one_run(shared_db, project_with):
    project = project_with()
    job = project.jobs.get()
    message = Message.objects.create(project=project, body={"number": 2})
    results = in_threads(4, lambda: run_now(job, message, token="one-click-token"))
    assert all(isinstance(r, Run) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert Run.objects.filter(message=message, job=job).count() == 1
    assert RunRequest.objects.count() == 1


# Reprocess a run


def test_reprocessing_a_message_run_uses_the_message_as_it_is_now(project, job):
    _message, (run,) = post_message(project, {"number": 2})
    Message.objects.filter(pk=run.message_id).update(body={"number": 2, "edited": True})
    ten_seconds_pass()
    again = reprocess_run(run)
    assert (again.job, again.message_id, again.cause) == (job, run.message_id, "message")
    assert again.initial_state == {"data": {"number": 2, "edited": True}}


def test_reprocessing_a_message_run_at_once_starts_a_run_and_a_double_click_one_only(project, job):
    _message, (run,) = post_message(project, {"number": 2})
    again = reprocess_run(run, token="reprocess-click")
    assert reprocess_run(run, token="reprocess-click").pk == again.pk
    assert reprocess_run(run, token="another-click").pk != again.pk
    assert Run.objects.count() == 3


def test_reprocessing_a_cron_run_starts_from_the_current_saved_state(cron_job):
    run = queue.enqueue(cron_job, Run.Cause.CRON, {"counter": 1})
    Job.objects.filter(pk=cron_job.pk).update(saved_state={"counter": 5})
    again = reprocess_run(run)
    assert (again.cause, again.initial_state) == ("cron", {"counter": 5})


def test_reprocessing_a_flow_run_starts_from_the_same_state_and_upstream_run(project, job):
    listener = flow_job(project, job)
    _message, (upstream,) = post_message(project, {"number": 2})
    queue.finish(claim_next(), 0, {"data": {"number": 4}}, [])
    flow_run = Run.objects.get(job=listener)
    again = reprocess_run(flow_run)
    assert (again.job, again.cause, again.parent_id) == (listener, "flow", upstream.pk)
    assert again.initial_state == {"data": {"number": 4}}


def test_reprocessing_a_catch_run_keeps_the_error_it_received(project, job):
    listener = flow_job(project, job, "catch", "catch-job")
    post_message(project, {"number": 2})
    queue.finish(claim_next(), 1, None, [Line("oops")])
    catch_run = Run.objects.get(job=listener)
    again = reprocess_run(catch_run)
    assert again.initial_state == {"data": {"number": 2}, "error": "[JOB] oops"}
    assert again.cause == "catch"


def test_reprocessing_a_run_of_an_archived_job_is_refused(project, job):
    _message, (run,) = post_message(project, {"number": 2})
    Job.objects.filter(pk=job.pk).update(archived=True)
    run.refresh_from_db()
    with pytest.raises(CannotRun, match="archived"):
        reprocess_run(run)


# Reprocess a message


def test_reprocessing_a_message_matches_it_against_the_triggers_as_they_are_now(project, job):
    message, _runs = post_message(project, {"number": 2, "kind": "visit"})
    ten_seconds_pass()
    new_job = make_job(project, "new-job", make_trigger(project, "visits", criteria={"kind": "visit"}))
    Job.objects.filter(pk=job.pk).update(enabled=False)
    runs = reprocess_message(message)
    assert [r.job for r in runs] == [new_job]
    assert runs[0].initial_state == {"data": {"number": 2, "kind": "visit"}}


def test_reprocessing_a_message_leaves_out_pairs_started_in_the_last_10_seconds(project, job):
    second = make_job(project, "job-2", job.trigger)
    message, _runs = post_message(project, {"number": 2})
    Run.objects.filter(job=second).update(created_at=timezone.now() - timedelta(seconds=11))
    runs = reprocess_message(message)
    assert [r.job for r in runs] == [second]
    assert reprocess_message(message) == []
    assert Run.objects.count() == 3
