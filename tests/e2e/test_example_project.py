"""The example project of spec section 12, end to end through the real Node engine."""

from datetime import timedelta

from django.utils import timezone

from kindling.jobs.scheduler import fire_due
from kindling.runs.models import Run
from tests.conftest import post_message
from tests.e2e.conftest import drain


def run_of(job_name: str) -> Run:
    return Run.objects.get(job__name=job_name)


def test_a_number_runs_job_1_then_flow_job_with_its_final_state(example):
    post_message(example, {"number": 2})

    drain()

    job1, flow = run_of("job-1"), run_of("flow-job")
    assert (job1.status, job1.exit_code) == ("success", 0)
    assert job1.final_state["data"] == {"number": 4}
    assert "configuration" not in job1.final_state
    assert flow.parent_id == job1.pk and flow.cause == "flow"
    assert flow.initial_state == job1.final_state
    assert (flow.status, flow.final_state["data"]) == ("success", {"number": 12})
    assert Run.objects.count() == 2


def test_job_1_receives_its_credential_as_configuration(example):
    job = example.jobs.get(name="job-1")
    job.expression = "fn(state => ({ ...state, seen: state.configuration.username }))"
    job.save()
    post_message(example, {"number": 2})

    drain()

    assert run_of("job-1").final_state["seen"] == "user@example.com"
    assert run_of("job-1").initial_state == {"data": {"number": 2}}


def test_a_failure_runs_bad_job_then_catch_job_with_the_error(example):
    post_message(example, {"premonition": "failure"})

    drain()

    bad, catch = run_of("bad-job"), run_of("catch-job")
    assert (bad.status, bad.exit_code) == ("failed", 1)
    assert "oops" in bad.log_text()
    assert catch.cause == "catch" and catch.parent_id == bad.pk
    assert catch.initial_state == {"data": {"premonition": "failure"}, "error": bad.log_text()}
    assert (catch.status, catch.final_state["message"]) == ("success", "handled it.")
    assert "configuration" not in catch.final_state


def test_a_message_matching_nothing_starts_no_run(example):
    _message, runs = post_message(example, {"number": 3})

    assert runs == [] and drain() == []


def test_recurring_job_counts_up_and_a_failure_keeps_the_count(example):
    # The next minutes: a trigger never fires for a minute that began before it was created (imported).
    t0 = (timezone.now() + timedelta(minutes=1)).replace(second=5, microsecond=0)
    job = example.jobs.get(name="recurring-job")

    for minute in range(2):
        fire_due(t0 + timedelta(minutes=minute))
        drain()
    job.refresh_from_db()
    assert job.saved_state == {"counter": 2}

    good = job.expression
    job.expression = "fn(() => { throw new Error('down'); })"
    job.save()
    fire_due(t0 + timedelta(minutes=2))
    drain()
    job.refresh_from_db()
    assert job.saved_state == {"counter": 2}

    job.expression = good
    job.save()
    fire_due(t0 + timedelta(minutes=3))
    drain()
    last = Run.objects.filter(job=job).latest("id")
    assert last.initial_state == {"counter": 2}
    assert last.final_state == {"counter": 3}
    assert [r.status for r in Run.objects.filter(job=job).order_by("id")] == [
        "success",
        "success",
        "failed",
        "success",
    ]
