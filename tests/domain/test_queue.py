"""The run queue: claim order and concurrency, finish, flow/catch listeners, cron saved state
(spec sections 3, 4, 5 and 10)."""

import pytest
from django.core import mail

from kindling.jobs.models import Job
from kindling.runs import claim as claim_module
from kindling.runs import queue
from kindling.runs.models import IllegalTransition, LogLine, Run
from tests.conftest import make_credential, make_job, make_project, make_trigger, post_message, put_on_plan
from tests.domain.conftest import Line, claim_next, start


@pytest.fixture
def job(project):
    return make_job(project, "job-1", make_trigger(project, "trigger-1", criteria={"number": 2}))


def flow(project, upstream, name, **kw):
    return make_job(
        project,
        name,
        make_trigger(project, f"after-{upstream.name}-{name}", kind="flow", upstream_job=upstream),
        **kw,
    )


def catch(project, upstream, name, **kw):
    return make_job(
        project,
        name,
        make_trigger(project, f"fail-{upstream.name}-{name}", kind="catch", upstream_job=upstream),
        **kw,
    )


@pytest.fixture
def cron_job(project):
    every_minute = make_trigger(project, "every-minute", kind="cron", cron="* * * * *")
    return make_job(project, "recurring-job", every_minute)


def sized_state(size: int) -> dict:
    """A state whose compact JSON is exactly `size` bytes."""
    return {"x": "a" * (size - len('{"x":""}'))}


# Claiming


def test_claim_takes_the_oldest_pending_run(job):
    first = queue.enqueue(job, Run.Cause.MANUAL, {"n": 1})
    queue.enqueue(job, Run.Cause.MANUAL, {"n": 2})
    claimed = claim_next()
    assert claimed.pk == first.pk
    assert (claimed.status, claimed.worker) == ("running", "test-worker")
    assert claimed.started_at is not None and claimed.lease_until > claimed.started_at
    assert list(Run.objects.order_by("id").values_list("status", flat=True)) == ["running", "pending"]


def test_claim_returns_none_when_nothing_is_pending(job):
    assert claim_next() is None


def test_a_second_run_of_the_same_project_waits_while_one_runs(job):
    start(job)
    queue.enqueue(job, Run.Cause.MANUAL, {})
    assert claim_next() is None
    assert Run.objects.filter(status="pending").count() == 1


def test_a_run_of_another_project_is_claimed_while_the_first_project_is_busy(job, charlie):
    start(job)
    queue.enqueue(job, Run.Cause.MANUAL, {})
    other = make_project(charlie, "Other")
    other_run = queue.enqueue(make_job(other, "other-job"), Run.Cause.MANUAL, {})
    assert claim_next().pk == other_run.pk
    assert Run.objects.filter(status="running").count() == 2


def test_with_concurrency_2_two_runs_of_a_project_run_at_once(project, job):
    put_on_plan(project)
    project.concurrency = 2
    project.save()
    runs = [queue.enqueue(job, Run.Cause.MANUAL, {}) for _ in range(3)]
    claimed = [claim_next(), claim_next(), claim_next()]
    assert [run and run.pk for run in claimed] == [runs[0].pk, runs[1].pk, None]
    assert Run.objects.get(pk=runs[2].pk).status == "pending"


def test_a_worker_that_loses_the_race_for_the_last_slot_claims_nothing(job, monkeypatch):
    first = queue.enqueue(job, Run.Cause.MANUAL, {})
    second = queue.enqueue(job, Run.Cause.MANUAL, {})
    look = claim_module.projects_ready

    def another_worker_claims_first():
        # This worker sees a free slot; before it takes the project's lock, another worker fills it.
        ready = look()
        Run.objects.filter(pk=first.pk, status="pending").update(status="running")
        return ready

    monkeypatch.setattr(claim_module, "projects_ready", another_worker_claims_first)
    assert claim_next() is None
    assert Run.objects.get(pk=second.pk).status == "pending"


def test_a_finished_run_frees_its_slot(job):
    running = start(job)
    waiting = queue.enqueue(job, Run.Cause.MANUAL, {})
    queue.finish(running, 0, {}, [])
    assert claim_next().pk == waiting.pk


# Finishing


def test_exit_0_is_success_and_the_final_state_is_saved_without_configuration(job):
    run = start(job, {"data": {"number": 2}})
    queue.finish(
        run, 0, {"data": {"number": 4}, "configuration": {"password": "shhh"}}, [Line("doubled")], "3.3.4"
    )
    run.refresh_from_db()
    assert (run.status, run.exit_code, run.adaptor_version) == ("success", 0, "3.3.4")
    assert run.final_state == {"data": {"number": 4}}
    assert run.finished_at >= run.started_at
    assert list(run.log_lines.values_list("seq", "source", "message")) == [(0, "JOB", "doubled")]


@pytest.mark.parametrize("exit_code", [1, 2, 3, 4, 6, 10, 11, 134])
def test_any_non_zero_exit_is_failure(job, exit_code):
    run = start(job)
    queue.finish(run, exit_code, None, [])
    run.refresh_from_db()
    assert (run.status, run.exit_code, run.final_state) == ("failed", exit_code, None)


def test_enqueue_never_stores_configuration(job):
    run = queue.enqueue(job, Run.Cause.MANUAL, {"data": 1, "configuration": {"password": "shhh"}})
    assert Run.objects.get(pk=run.pk).initial_state == {"data": 1}


def test_finishing_a_pending_run_raises(job):
    run = queue.enqueue(job, Run.Cause.MANUAL, {})
    with pytest.raises(IllegalTransition):
        queue.finish(run, 0, {}, [])
    run.refresh_from_db()
    assert (run.status, run.exit_code, run.finished_at) == ("pending", None, None)


def test_finishing_a_run_twice_raises_and_starts_nothing_more(project, job):
    flow(project, job, "flow-job")
    run = start(job)
    queue.finish(run, 0, {"a": 1}, [])
    with pytest.raises(IllegalTransition):
        queue.finish(run, 1, {"b": 2}, [Line("again")])
    run.refresh_from_db()
    assert (run.status, run.final_state) == ("success", {"a": 1})
    assert Run.objects.count() == 2 and not LogLine.objects.exists()


@pytest.mark.parametrize(
    ("from_status", "to_status"),
    [
        ("pending", "success"),
        ("pending", "failed"),
        ("success", "running"),
        ("failed", "success"),
        ("aborted", "running"),
        ("lost", "success"),
    ],
)
def test_illegal_status_transitions_raise(job, from_status, to_status):
    run = queue.enqueue(job, Run.Cause.MANUAL, {})
    Run.objects.filter(pk=run.pk).update(status=from_status)
    run.refresh_from_db()
    with pytest.raises(IllegalTransition):
        run.record_end(to_status, 0, {}, [])
    assert Run.objects.get(pk=run.pk).status == from_status


# Flow and catch


def test_success_starts_the_flow_job_with_the_upstream_final_state(project, job):
    flow_job = flow(project, job, "flow-job")
    run = start(job, {"data": {"number": 2}})
    started = queue.finish(run, 0, {"data": {"number": 4}, "references": [1], "configuration": {"p": 1}}, [])
    assert [(r.job, r.cause, r.parent_id) for r in started] == [(flow_job, "flow", run.pk)]
    assert Run.objects.get(job=flow_job).initial_state == {"data": {"number": 4}, "references": [1]}


def test_failure_starts_the_catch_job_with_the_initial_state_and_the_log_as_error(project, job):
    catch_job = catch(project, job, "catch-job")
    run = start(job, {"data": {"premonition": "failure"}})
    queue.finish(
        run,
        1,
        {"data": "ignored"},
        [Line("starting"), Line("Error: oops", level="error"), Line("exit 1", source="R/T")],
    )
    child = Run.objects.get(job=catch_job)
    assert (child.cause, child.parent_id) == ("catch", run.pk)
    assert child.initial_state == {"data": {"premonition": "failure"}, "error": run.log_text()}
    error = child.initial_state["error"]
    assert isinstance(error, str)
    assert error.index("starting") < error.index("Error: oops") < error.index("exit 1")


def test_success_does_not_start_catch_jobs(project, job):
    flow(project, job, "flow-job")
    catch(project, job, "catch-job")
    started = queue.finish(start(job), 0, {}, [])
    assert [r.job.name for r in started] == ["flow-job"]
    assert sorted(Run.objects.values_list("job__name", flat=True)) == ["flow-job", "job-1"]


def test_failure_does_not_start_flow_jobs(project, job):
    flow(project, job, "flow-job")
    catch(project, job, "catch-job")
    started = queue.finish(start(job), 1, None, [])
    assert [r.job.name for r in started] == ["catch-job"]
    assert sorted(Run.objects.values_list("job__name", flat=True)) == ["catch-job", "job-1"]


def test_every_listening_job_gets_a_run(project, job):
    trigger = make_trigger(project, "after-job-1", kind="flow", upstream_job=job)
    make_job(project, "flow-a", trigger)
    make_job(project, "flow-b", trigger)
    flow(project, job, "flow-c")
    started = queue.finish(start(job), 0, {"x": 1}, [])
    assert sorted(r.job.name for r in started) == ["flow-a", "flow-b", "flow-c"]
    assert Run.objects.filter(cause="flow").count() == 3


def test_listeners_that_are_off_or_archived_do_not_start(project, job):
    flow(project, job, "off", enabled=False)
    flow(project, job, "archived", archived=True)
    catch(project, job, "catch-off", enabled=False)
    assert queue.finish(start(job), 0, {}, []) == []
    assert queue.finish(start(job), 1, {}, []) == []
    assert Run.objects.count() == 2


def test_listeners_of_another_job_do_not_start(project, job):
    other = make_job(project, "other", job.trigger)
    flow(project, other, "after-other")
    assert queue.finish(start(job), 0, {}, []) == []
    assert Run.objects.count() == 1


def test_chains_are_transitive(project, job):
    second = flow(project, job, "second")
    third = flow(project, second, "third")
    handler = catch(project, third, "handler")
    queue.finish(start(job, {"data": {"number": 2}}), 0, {"data": {"number": 4}}, [])
    second_run = claim_next()
    assert (second_run.job, second_run.initial_state) == (second, {"data": {"number": 4}})
    queue.finish(second_run, 0, {"data": {"number": 12}}, [])
    third_run = claim_next()
    assert (third_run.job, third_run.initial_state) == (third, {"data": {"number": 12}})
    queue.finish(third_run, 1, None, [Line("boom")])
    handler_run = Run.objects.get(job=handler)
    assert handler_run.initial_state == {"data": {"number": 12}, "error": "[JOB] boom"}
    assert handler_run.parent.parent.parent.job == job


def test_the_example_project_runs_as_the_spec_describes(project, alice):
    credential = make_credential(alice, projects=[project])
    job_1 = make_job(
        project, "job-1", make_trigger(project, "trigger-1", criteria={"number": 2}), credential=credential
    )
    flow(project, job_1, "flow-job")
    _message, runs = post_message(project, {"number": 2})
    assert [r.initial_state for r in runs] == [{"data": {"number": 2}}]
    queue.finish(claim_next(), 0, {"data": {"number": 4}, "configuration": credential.body}, [])
    flow_run = claim_next()
    assert (flow_run.job.name, flow_run.initial_state) == ("flow-job", {"data": {"number": 4}})


# Cron saved state


def test_a_successful_cron_run_saves_its_final_state_for_the_next_run(cron_job):
    queue.finish(
        start(cron_job, queue.cron_state(cron_job), cause="cron"),
        0,
        {"counter": 1, "configuration": {"p": "shhh"}},
        [],
    )
    cron_job.refresh_from_db()
    assert cron_job.saved_state == {"counter": 1}
    assert queue.cron_state(cron_job) == {"counter": 1}


def test_a_failed_cron_run_changes_nothing(cron_job):
    Job.objects.filter(pk=cron_job.pk).update(saved_state={"counter": 3})
    queue.finish(start(cron_job, {"counter": 3}, cause="cron"), 1, {"counter": 4}, [Line("oops")])
    cron_job.refresh_from_db()
    assert cron_job.saved_state == {"counter": 3}


def test_the_first_cron_run_starts_from_an_empty_state(cron_job):
    assert queue.cron_state(cron_job) == {}


def test_a_message_job_saves_no_state(job):
    queue.finish(start(job), 0, {"counter": 1}, [])
    job.refresh_from_db()
    assert job.saved_state is None


def test_a_state_of_10000_bytes_is_saved_without_warning(cron_job):
    queue.finish(start(cron_job, cause="cron"), 0, sized_state(10_000), [])
    cron_job.refresh_from_db()
    assert cron_job.saved_state == sized_state(10_000)
    assert mail.outbox == []


def test_a_state_over_10000_bytes_is_saved_and_the_members_are_warned(cron_job, alice, bob, charlie):
    run = start(cron_job, cause="cron")
    queue.finish(run, 0, sized_state(10_001), [])
    cron_job.refresh_from_db()
    assert cron_job.saved_state == sized_state(10_001)
    assert len(mail.outbox) == 1
    assert sorted(mail.outbox[0].to) == ["alice@example.com", "bob@example.com"]
    assert "recurring-job" in mail.outbox[0].subject
    assert "10,001 bytes" in mail.outbox[0].body and "was saved" in mail.outbox[0].body


def test_a_state_of_50000_bytes_is_still_saved(cron_job):
    queue.finish(start(cron_job, cause="cron"), 0, sized_state(50_000), [])
    cron_job.refresh_from_db()
    assert cron_job.saved_state == sized_state(50_000)
    assert len(mail.outbox) == 1


def test_a_state_over_50000_bytes_is_not_saved_and_the_previous_one_is_kept(cron_job):
    Job.objects.filter(pk=cron_job.pk).update(saved_state={"counter": 7})
    run = start(cron_job, {"counter": 7}, cause="cron")
    queue.finish(run, 0, sized_state(50_001), [])
    run.refresh_from_db()
    cron_job.refresh_from_db()
    assert run.status == "success"
    assert cron_job.saved_state == {"counter": 7}
    assert len(mail.outbox) == 1 and "NOT saved" in mail.outbox[0].body


def test_the_size_rule_counts_utf8_bytes(cron_job):
    # 20,000 "é" are 40,000 bytes of UTF-8: saved (with a warning), though 120,000 bytes as \u escapes.
    state = {"x": "é" * 20_000}
    queue.finish(start(cron_job, cause="cron"), 0, state, [])
    cron_job.refresh_from_db()
    assert cron_job.saved_state == state
    assert len(mail.outbox) == 1 and "40,008 bytes" in mail.outbox[0].body
