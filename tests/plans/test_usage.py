"""Spec section 10: runs count against the plan per billing cycle; over the limit they are rejected,
recorded with the reason, and can be reprocessed later."""

import uuid
from datetime import date

from kindling.inbox.views import answer
from kindling.lib.cycles import cycle_containing, cycles_back
from kindling.plans.changes import change_plan
from kindling.plans.limits import effective_concurrency, limits_for, max_concurrency, run_timeout
from kindling.plans.models import Usage
from kindling.runs import queue
from kindling.runs.models import Run
from kindling.runs.reprocess import reprocess_run
from kindling.runs.spec import spec_for
from tests.conftest import make_job, make_plan, make_trigger, post_message
from tests.domain.conftest import claim_next


def message_job(project, name="job-1"):
    return make_job(project, name, make_trigger(project, f"{name}-trigger", criteria={"form": "a"}))


def used(project):
    row = Usage.objects.filter(project=project).values("runs", "rejected").first()
    return (row["runs"], row["rejected"]) if row else (0, 0)


def test_a_new_project_is_on_the_free_plan(project, free):
    limits = limits_for(project.pk)
    assert (limits.plan, limits.runs_per_month, limits.max_concurrency, limits.run_timeout) == (
        "Free",
        100,
        1,
        100,
    )
    assert limits.started == project.created_at.date()


def test_every_run_created_counts_in_the_cycle_and_the_count_survives_deleting_runs(project, free):
    message_job(project, "job-1"), message_job(project, "job-2")
    post_message(project, {"form": "a"})
    post_message(project, {"form": "b"})  # matches nothing: no run, nothing counted
    assert used(project) == (2, 0)
    Run.objects.all().delete()
    assert used(project) == (2, 0)


def test_at_the_limit_new_runs_are_rejected_with_the_reason_and_the_message_is_kept(project, free):
    free.runs_per_month = 3
    free.save()
    job = message_job(project)
    for _ in range(3):
        post_message(project, {"form": "a"})
    message, runs = post_message(project, {"form": "a"})
    assert message.pk is not None
    [run] = runs
    assert run.status == Run.Status.REJECTED and run.finished_at is not None
    reason = run.log_lines.get().message
    assert reason.startswith(
        "Rejected: the project has used all 3 runs of its Free plan for the billing cycle"
    )
    assert used(project) == (3, 1)
    assert Run.objects.filter(job=job, status="pending").count() == 3


def test_the_inbox_answers_202_and_names_the_rejected_runs_in_errors(project, free):
    free.runs_per_month = 0
    free.save()
    message_job(project, "job-1")
    status, body, _ = answer(
        str(project.inbox_uuid), "POST", "12", "application/json", lambda n: b'{"form": "a"}', {}
    )
    assert status == 202
    assert body["data"] == []
    assert body["errors"][0].startswith("job-1: Rejected: the project has used all 0 runs")


def test_runs_of_one_message_over_the_limit_are_split_exactly_at_the_limit(project, free):
    free.runs_per_month = 1
    free.save()
    message_job(project, "job-1"), message_job(project, "job-2")
    _message, runs = post_message(project, {"form": "a"})
    assert [run.status for run in runs] == ["pending", "rejected"]
    assert used(project) == (1, 1)


def test_a_rejected_run_is_never_claimed_and_a_reprocess_after_an_upgrade_runs_and_counts(project, free):
    free.runs_per_month = 0
    free.save()
    message_job(project)
    _message, [rejected] = post_message(project, {"form": "a"})
    assert claim_next() is None
    change_plan(project, make_plan("Bigger", runs_per_month=10))
    again = reprocess_run(rejected)
    assert again.status == "pending" and again.message_id == rejected.message_id
    assert claim_next().pk == again.pk
    assert used(project) == (1, 1)
    # ...and a double click (one click token) still starts one run, not two
    click = str(uuid.uuid4())
    assert reprocess_run(rejected, token=click).pk == reprocess_run(rejected, token=click).pk


def test_cron_flow_and_manual_runs_count_too(project, free):
    job = make_job(project, "cron-job", make_trigger(project, "every-minute", kind="cron", cron="* * * * *"))
    queue.enqueue(job, Run.Cause.CRON, {})
    queue.enqueue(job, Run.Cause.MANUAL, {})
    assert used(project) == (2, 0)


def test_the_queue_runs_no_more_than_the_plans_maximum_concurrency(project, free):
    job = message_job(project)
    project.concurrency = 5
    project.save()
    for _ in range(3):
        queue.enqueue(job, Run.Cause.MANUAL, {})
    assert effective_concurrency(project) == 1
    assert claim_next() is not None and claim_next() is None
    change_plan(project, make_plan("Three", runs_per_month=None, max_concurrency=3))
    assert max_concurrency(project) == 3
    assert claim_next() is not None and claim_next() is not None and claim_next() is None


def test_the_worker_gives_a_run_its_plans_timeout_within_the_instance_ceiling(project, free, settings):
    job = message_job(project)
    settings.RUN_TIMEOUT_SECONDS = 3600
    change_plan(project, make_plan("Long", run_timeout=300))
    run = queue.enqueue(job, Run.Cause.MANUAL, {})
    assert run_timeout(project) == 300
    assert spec_for(run).timeout == 300
    settings.RUN_TIMEOUT_SECONDS = 30
    assert spec_for(run).timeout == 30


def test_a_project_on_no_plan_at_all_is_not_limited(project, free):
    free.delete()
    assert limits_for(project.pk).runs_per_month is None


def test_cycles_start_on_the_projects_day_of_the_month():
    assert cycle_containing(date(2026, 1, 15), date(2026, 3, 14)) == (date(2026, 2, 15), date(2026, 3, 15))
    assert cycle_containing(date(2026, 1, 15), date(2026, 3, 15)) == (date(2026, 3, 15), date(2026, 4, 15))
    # the 31st: the last day of shorter months
    assert cycle_containing(date(2026, 1, 31), date(2026, 3, 1)) == (date(2026, 2, 28), date(2026, 3, 31))
    assert cycle_containing(date(2025, 12, 20), date(2026, 1, 5)) == (date(2025, 12, 20), date(2026, 1, 20))
    assert cycles_back(date(2026, 1, 31), date(2026, 4, 2), 10) == [
        (date(2026, 3, 31), date(2026, 4, 30)),
        (date(2026, 2, 28), date(2026, 3, 31)),
        (date(2026, 1, 31), date(2026, 2, 28)),
    ]


def test_the_counter_is_one_row_per_project_and_cycle(project, free):
    message_job(project)
    post_message(project, {"form": "a"})
    post_message(project, {"form": "a"})
    assert Usage.objects.filter(project=project).count() == 1
