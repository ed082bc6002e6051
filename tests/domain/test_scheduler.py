"""Cron: fire_due fires each switched-on cron job once per due minute (spec section 4)."""

from datetime import UTC, datetime, timedelta

import pytest

from kindling.jobs import scheduler
from kindling.jobs.models import Job
from kindling.runs.models import CronTick, Run
from tests.conftest import make_job, make_trigger

TEN = datetime(2025, 3, 4, 10, 0, 20, tzinfo=UTC)  # 20 seconds into 10:00 UTC


def cron_job(project, cron="* * * * *", name="recurring-job", trigger_name="every-minute", **kw):
    # Made the day before: a trigger never fires for a minute that began before it existed.
    trigger = make_trigger(project, trigger_name, kind="cron", cron=cron, created_at=TEN - timedelta(days=1))
    return make_job(project, name, trigger, **kw)


def test_it_fires_a_switched_on_cron_job_for_the_current_minute(project):
    job = cron_job(project)
    started = scheduler.fire_due(TEN)
    assert [(r.job, r.cause, r.status) for r in started] == [(job, "cron", "pending")]
    assert list(CronTick.objects.values_list("minute", flat=True)) == [TEN.replace(second=0)]


def test_it_fires_once_per_minute_however_often_it_is_called(project):
    cron_job(project)
    scheduler.fire_due(TEN)
    again = scheduler.fire_due(TEN + timedelta(seconds=30))
    assert again == []
    assert Run.objects.count() == 1 and CronTick.objects.count() == 1


def test_it_fires_again_the_next_minute(project):
    cron_job(project)
    scheduler.fire_due(TEN)
    scheduler.fire_due(TEN + timedelta(minutes=1))
    assert Run.objects.count() == 2
    assert CronTick.objects.count() == 2


def test_a_second_scheduler_firing_the_same_minute_creates_nothing(project, monkeypatch):
    cron_job(project)
    scheduler.fire_due(TEN)
    # The other process decided the minute was due before this one's tick was visible to it.
    monkeypatch.setattr(scheduler, "due_minute", lambda trigger, now: TEN.replace(second=0))
    assert scheduler.fire_due(TEN) == []
    assert Run.objects.count() == 1 and CronTick.objects.count() == 1


def test_after_downtime_it_fires_one_catch_up_run(project):
    job = cron_job(project)
    CronTick.objects.create(trigger=job.trigger, minute=TEN.replace(second=0) - timedelta(minutes=10))
    started = scheduler.fire_due(TEN)
    assert len(started) == 1
    assert Run.objects.count() == 1
    assert CronTick.objects.order_by("-minute").first().minute == TEN.replace(second=0)


def test_after_downtime_a_missed_daily_run_catches_up_once(project):
    job = cron_job(project, "0 6 * * *")
    six = TEN.replace(hour=6, minute=0, second=0)
    CronTick.objects.create(trigger=job.trigger, minute=six - timedelta(days=3))
    assert len(scheduler.fire_due(TEN)) == 1
    assert scheduler.fire_due(TEN + timedelta(minutes=5)) == []
    assert CronTick.objects.order_by("-minute").values_list("minute", flat=True).first() == six


def test_after_its_cron_changes_a_trigger_does_not_fire_a_minute_older_than_its_last_fire(project):
    job = cron_job(project)
    scheduler.fire_due(TEN)
    job.trigger.cron = "58 9 * * *"
    job.trigger.save()
    assert scheduler.fire_due(TEN + timedelta(minutes=5)) == []
    assert Run.objects.count() == 1 and CronTick.objects.count() == 1


def test_a_trigger_that_never_fired_does_not_fire_a_past_minute(project):
    cron_job(project, "0 0 * * *")
    assert scheduler.fire_due(TEN) == []
    assert not Run.objects.exists() and not CronTick.objects.exists()


def test_a_new_trigger_first_fires_at_its_next_due_minute_not_at_once(project):
    created = datetime(2025, 3, 4, 6, 23, 45, tzinfo=UTC)
    trigger = make_trigger(project, "every-minute", kind="cron", cron="* * * * *", created_at=created)
    job = make_job(project, "recurring-job", trigger)
    assert scheduler.fire_due(created) == []
    assert scheduler.fire_due(created + timedelta(seconds=14)) == []
    next_minute = datetime(2025, 3, 4, 6, 24, tzinfo=UTC)
    started = scheduler.fire_due(next_minute + timedelta(milliseconds=300))
    assert [r.job for r in started] == [job]
    assert list(CronTick.objects.values_list("minute", flat=True)) == [next_minute]


def test_a_new_trigger_whose_first_minute_passed_during_downtime_waits_for_its_next_one(project):
    created = datetime(2025, 3, 4, 6, 23, 45, tzinfo=UTC)
    trigger = make_trigger(project, "daily", kind="cron", cron="25 6 * * *", created_at=created)
    make_job(project, "daily-job", trigger)
    assert scheduler.fire_due(datetime(2025, 3, 4, 6, 30, 10, tzinfo=UTC)) == []
    assert len(scheduler.fire_due(datetime(2025, 3, 5, 6, 25, 1, tzinfo=UTC))) == 1


def test_a_trigger_that_is_not_due_does_not_fire(project):
    job = cron_job(project, "*/5 * * * *")
    CronTick.objects.create(trigger=job.trigger, minute=TEN.replace(second=0))
    assert scheduler.fire_due(TEN + timedelta(minutes=3)) == []
    assert Run.objects.count() == 0


def test_it_respects_the_project_time_zone(project):
    project.timezone = "Africa/Nairobi"  # UTC+3
    project.save()
    cron_job(project, "0 9 * * *")
    started = scheduler.fire_due(datetime(2025, 3, 4, 6, 0, 5, tzinfo=UTC))
    assert len(started) == 1
    assert CronTick.objects.get().minute == datetime(2025, 3, 4, 6, 0, tzinfo=UTC)


def test_it_does_not_fire_at_that_hour_in_utc(project):
    project.timezone = "Africa/Nairobi"
    project.save()
    cron_job(project, "0 9 * * *")
    assert scheduler.fire_due(datetime(2025, 3, 4, 9, 0, 5, tzinfo=UTC)) == []
    assert not Run.objects.exists()


def test_every_switched_on_job_of_the_trigger_fires_but_not_the_others(project):
    job = cron_job(project)
    make_job(project, "also", job.trigger)
    make_job(project, "off", job.trigger, enabled=False)
    make_job(project, "archived", job.trigger, archived=True)
    started = scheduler.fire_due(TEN)
    assert sorted(r.job.name for r in started) == ["also", "recurring-job"]
    assert Run.objects.count() == 2


def test_a_trigger_whose_jobs_are_all_off_does_not_fire(project):
    cron_job(project, enabled=False)
    assert scheduler.fire_due(TEN) == []
    assert not CronTick.objects.exists()


def test_message_triggers_are_not_fired(project):
    make_job(project, "job-1", make_trigger(project, "trigger-1", criteria={}))
    assert scheduler.fire_due(TEN) == []


def test_the_run_starts_from_the_jobs_saved_state(project):
    job = cron_job(project)
    Job.objects.filter(pk=job.pk).update(saved_state={"counter": 2})
    started = scheduler.fire_due(TEN)
    assert [r.initial_state for r in started] == [{"counter": 2}]
    assert Run.objects.get().initial_state == {"counter": 2}


def test_the_first_run_starts_from_an_empty_state(project):
    cron_job(project)
    scheduler.fire_due(TEN)
    assert Run.objects.get().initial_state == {}


def test_each_trigger_fires_independently(project):
    cron_job(project)
    cron_job(project, "0 10 * * *", name="daily", trigger_name="at-ten")
    cron_job(project, "0 11 * * *", name="later", trigger_name="at-eleven")
    started = scheduler.fire_due(TEN)
    assert sorted(r.job.name for r in started) == ["daily", "recurring-job"]


@pytest.mark.parametrize("seconds", [0, 59])
def test_it_fires_anywhere_in_the_due_minute(project, seconds):
    cron_job(project, "0 10 * * *")
    assert len(scheduler.fire_due(TEN.replace(second=seconds))) == 1
