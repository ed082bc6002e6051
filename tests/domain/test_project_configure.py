"""Project Settings' effects: a concurrency change counts from the next claim, and the time zone set there
is the one cron fires by."""

import io
import json
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from kindling.jobs import scheduler
from kindling.projects.configure import ConfigError, configure, max_concurrency
from kindling.runs import queue
from kindling.runs.models import Run
from tests.conftest import make_job, make_plan, make_trigger, post_message, put_on_plan


def test_raising_concurrency_lets_the_next_claim_start_a_second_run(project):
    put_on_plan(project)  # Free allows one run at a time
    make_job(project, trigger=make_trigger(project))
    post_message(project, {"n": 1})
    post_message(project, {"n": 2})
    first = queue.claim("w", lease_seconds=60)
    assert queue.claim("w", lease_seconds=60) is None  # concurrency 1: the second waits

    configure(project, concurrency=2)
    second = queue.claim("w", lease_seconds=60)

    assert second is not None and second.pk != first.pk
    assert Run.objects.filter(status=Run.Status.RUNNING).count() == 2


def test_the_time_zone_set_in_project_settings_is_the_one_cron_fires_by(project):
    # Made before the times below: a new trigger first fires at its next due time.
    created = datetime(2025, 3, 1, tzinfo=UTC)
    make_job(
        project, "daily", make_trigger(project, "nine", kind="cron", cron="0 9 * * *", created_at=created)
    )
    configure(project, timezone="Asia/Kolkata")  # UTC+5:30

    assert scheduler.fire_due(datetime(2025, 3, 4, 9, 0, 5, tzinfo=UTC)) == []
    assert len(scheduler.fire_due(datetime(2025, 3, 4, 3, 30, 5, tzinfo=UTC))) == 1


def test_the_slider_goes_up_to_the_plans_maximum(project):
    assert max_concurrency(project) == 1  # Free
    with pytest.raises(ConfigError, match="at most 1"):
        configure(project, concurrency=2)
    put_on_plan(project, make_plan("Team", max_concurrency=6))
    assert max_concurrency(project) == 6


def test_the_cli_creates_a_project_and_changes_its_settings(alice, generous_default_plan):
    out = io.StringIO()
    call_command("project", "create", "--name", "Clinic Forms", "--owner", "alice@example.com", stdout=out)
    created = json.loads(out.getvalue())

    out = io.StringIO()
    call_command("project", "set", created["project"], "--concurrency", "3", "--name", "Clinics", stdout=out)

    changed = json.loads(out.getvalue())
    assert (changed["slug"], changed["concurrency"], changed["inbox_url"]) == (
        "clinics",
        3,
        created["inbox_url"],
    )
    with pytest.raises(CommandError, match="at most 10"):
        call_command("project", "set", "clinics", "--concurrency", "12")
