"""Cron with several schedulers (spec section 4): a minute fires once, however many processes fire it."""

from datetime import UTC, datetime, timedelta

from kindling.jobs.scheduler import fire_due
from kindling.runs.models import CronTick, Run
from tests.conftest import make_job, make_trigger
from tests.queue.conftest import in_threads

TEN = datetime(2025, 3, 4, 10, 0, 20, tzinfo=UTC)


def test_schedulers_firing_the_same_minute_at_the_same_moment_start_one_run(shared_db, project_with):
    project = project_with()
    every_minute = make_trigger(
        project, "every-minute", kind="cron", cron="* * * * *", created_at=TEN - timedelta(days=1)
    )
    job = make_job(project, "recurring-job", every_minute)
    make_job(project, "also-recurring", every_minute)
    for minute in range(3):
        results = in_threads(4, lambda minute=minute: fire_due(TEN + timedelta(minutes=minute)))
        assert not [r for r in results if isinstance(r, Exception)], results
        # one scheduler fired both jobs of the trigger, the others nothing
        assert sorted(len(started) for started in results) == [0, 0, 0, 2]
    assert Run.objects.filter(job=job, cause="cron").count() == 3
    assert Run.objects.count() == 6
    assert CronTick.objects.count() == 3
