"""Bulk reprocess of runs and messages (run this file on SQLite and PostgreSQL)."""

from datetime import timedelta

from django.utils import timezone

from kindling.inbox.filters import InboxFilters
from kindling.jobs.models import Trigger
from kindling.runs.batch import approximate_count, reprocess_messages, reprocess_runs
from kindling.runs.filters import ActivityFilters
from kindling.runs.models import Run
from kindling.runs.wording import describe_messages, describe_runs
from tests.conftest import make_job, make_trigger, post_message
from tests.portal.conftest import make_run


def activity(**params) -> ActivityFilters:
    return ActivityFilters.from_params(params)


def inbox(**params) -> InboxFilters:
    return InboxFilters.from_params(params)


def new_runs(before: int):
    return list(Run.objects.filter(pk__gt=before).order_by("id"))


def last_id() -> int:
    return Run.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_failed_runs_are_queued_again_in_the_order_they_were_received(project):
    forms = make_trigger(project, "forms", criteria={"form": "v7"})
    send = make_job(project, "send", forms)
    first, _ = post_message(project, {"form": "v7", "n": 1})
    second, _ = post_message(project, {"form": "v7", "n": 2})
    Run.objects.all().delete()
    older = make_run(
        send,
        message=first,
        status=Run.Status.FAILED,
        exit_code=1,
        created_at=timezone.now() - timedelta(hours=2),
    )
    newer = make_run(
        send,
        message=second,
        status=Run.Status.FAILED,
        exit_code=1,
        created_at=timezone.now() - timedelta(hours=1),
    )
    make_run(
        send, message=second, status=Run.Status.SUCCESS, created_at=timezone.now() - timedelta(minutes=5)
    )
    first.body = {"form": "v7", "n": 1, "fixed": True}
    first.save()
    before = last_id()

    count = reprocess_runs(project, activity(status="failed"))

    runs = new_runs(before)
    assert count == 2
    assert [(r.message_id, r.job_id, r.status) for r in runs] == [
        (older.message_id, send.pk, "pending"),
        (newer.message_id, send.pk, "pending"),
    ]
    assert runs[0].initial_state == {"data": {"form": "v7", "n": 1, "fixed": True}}
    assert runs[0].cause == Run.Cause.MESSAGE


def test_a_pair_is_queued_once_and_not_again_within_10_seconds(project):
    send = make_job(project, "send")
    message, _ = post_message(project, {"a": 1})
    for _ in range(3):
        make_run(
            send,
            message=message,
            status=Run.Status.FAILED,
            exit_code=1,
            created_at=timezone.now() - timedelta(minutes=5),
        )

    assert reprocess_runs(project, activity(status="failed")) == 1
    assert reprocess_runs(project, activity(status="failed")) == 0
    later = timezone.now() + timedelta(seconds=11)
    assert reprocess_runs(project, activity(status="failed"), now=later) == 1


def test_flow_catch_switched_off_and_archived_jobs_stay_out_of_a_run_batch(project):
    send = make_job(project, "send")
    after = make_job(
        project, "after", make_trigger(project, "after-send", Trigger.Kind.FLOW, upstream_job=send)
    )
    caught = make_job(
        project, "caught", make_trigger(project, "on-fail", Trigger.Kind.CATCH, upstream_job=send)
    )
    off = make_job(project, "off", enabled=False)
    archived = make_job(project, "gone", archived=True)
    nightly = make_job(
        project,
        "nightly",
        make_trigger(project, "cron", Trigger.Kind.CRON, cron="0 2 * * *"),
        saved_state={"counter": 3},
    )
    for job in (send, after, caught, off, archived):
        make_run(job, status=Run.Status.FAILED, exit_code=1, initial_state={"x": job.name})
    make_run(nightly, status=Run.Status.FAILED, exit_code=1, cause=Run.Cause.CRON)
    before = last_id()

    assert reprocess_runs(project, activity(status="failed")) == 2

    runs = new_runs(before)
    assert [run.job.name for run in runs] == ["send", "nightly"]
    assert runs[1].initial_state == {"counter": 3} and runs[1].cause == Run.Cause.CRON


def test_messages_are_matched_again_with_current_triggers_and_switched_on_jobs(project):
    v7 = make_trigger(project, "v7", criteria={"form": "v7"}, exclusion={"test": True})
    register = make_job(project, "register", v7, enabled=False)
    one, _ = post_message(project, {"form": "v7", "n": 1})
    two, _ = post_message(project, {"form": "v7", "n": 2})
    post_message(project, {"form": "v7", "test": True})
    post_message(project, {"form": "v8"})
    assert Run.objects.count() == 0  # the job was off when they came
    make_job(project, "off-too", v7, enabled=False)
    audit = make_job(project, "audit", make_trigger(project, "all", criteria={}))
    register.enabled = True
    register.save()
    before = last_id()

    count = reprocess_messages(project, inbox(q="v7"))

    runs = new_runs(before)
    assert count == 5  # the three v7 messages: register takes two (not the test one), audit all three
    assert count == len(runs)
    assert [(r.message_id, r.job.name) for r in runs][:4] == [
        (one.pk, "register"),
        (one.pk, "audit"),
        (two.pk, "register"),
        (two.pk, "audit"),
    ]
    assert all(r.initial_state["data"]["form"] == "v7" for r in runs)
    assert audit.pk in {r.job_id for r in runs}


def test_a_message_batch_respects_the_pair_rule(project):
    make_job(project, "send", make_trigger(project, "all", criteria={}))
    post_message(project, {"a": 1})  # its run was created just now

    assert reprocess_messages(project, inbox()) == 0


def test_the_dialog_words_and_count(project):
    send = make_job(project, "send-to-dhis2")
    for _ in range(3):
        make_run(send, status=Run.Status.FAILED, exit_code=1, logs=[("R/T", "error", "ECONNREFUSED")])
    filters = activity(
        status="failed",
        job=str(send.pk),
        q="econnrefused -timeout",
        date="custom",
        start="2026-12-01",
        end="2026-12-03",
    )

    assert describe_runs(project, filters) == (
        "failed runs of send-to-dhis2, whose log has econnrefused and without timeout, "
        "from 1 Dec 2026 to 3 Dec 2026"
    )
    assert describe_messages(project, inbox(state="failed")) == (
        "messages, where a job's last run failed, received in the last 30 days"
    )
    assert approximate_count(activity(status="failed").runs(project)) == (3, True)


def test_a_batch_counts_against_the_plan_and_records_the_runs_over_it_rejected(project):
    from kindling.runs.models import JobState, LogLine
    from tests.conftest import make_plan, put_on_plan

    forms = make_trigger(project, "forms", criteria={"form": "v7"})
    make_job(project, "send", forms)
    put_on_plan(project, make_plan("Small", runs_per_month=5))
    for n in range(4):  # 4 runs of the 5 used
        post_message(project, {"form": "v7", "n": n})
    Run.objects.update(created_at=timezone.now() - timedelta(minutes=5))  # past the pair rule
    before = last_id()

    count = reprocess_messages(project, inbox())

    batch = new_runs(before)
    assert count == 4
    assert [run.status for run in batch] == [Run.Status.PENDING] + [Run.Status.REJECTED] * 3
    assert "runs" in LogLine.objects.get(run=batch[-1]).message
    rejected_states = JobState.objects.filter(state=JobState.State.REJECTED).count()
    assert rejected_states == 3
