"""Failure alerts: one email per job per period to the members who opted in, with how many runs failed,
the newest error line and links; never a state or a secret."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from kindling.accounts import preferences
from kindling.projects.configure import ConfigError, configure
from kindling.runs import queue
from kindling.runs.alerts import send_failure_alerts
from kindling.runs.janitor import mark_lost_runs
from kindling.runs.models import FailureAlert, Run
from kindling.runs.worker import process_one
from tests.api import conftest as api_fixtures
from tests.conftest import make_credential, make_job, make_trigger, put_on_plan
from tests.domain import test_mail
from tests.domain.conftest import Line, start
from tests.plans import conftest as plan_fixtures
from tests.plans.conftest import wait_for_mail

# The API client, and a local SMTP server that keeps what it is sent (with the settings that use it).
call = api_fixtures.call
smtp_server = test_mail.smtp_server
smtp_settings = plan_fixtures.smtp_settings


@pytest.fixture
def alerting(project, alice, bob):
    """The project emails failures at most hourly per job; alice opted in, bob did not."""
    put_on_plan(project)
    project.failure_alert_minutes = 60
    project.save()
    preferences.set_preferences(alice, failure_alerts="on")
    return project


@pytest.fixture
def job(alerting):
    return make_job(alerting, "send-to-dhis2", make_trigger(alerting))


def fail(job, error="Error: HTTP 503 from https://dhis2.example.org", state=None):
    run = start(job, state)
    queue.finish(
        run,
        1,
        None,
        [
            Line(error, source="R/T", level="error"),
            Line("Run complete with status: fail", source="R/T", level="error"),
        ],
    )
    return run


def later(minutes):
    return timezone.now() + timedelta(minutes=minutes)


def test_an_opted_in_member_gets_one_email_counting_the_jobs_failures(alerting, job, smtp_settings):
    fail(job, "Error: first")
    newest = fail(job, "Error: HTTP 503 from https://dhis2.example.org")
    assert len(send_failure_alerts()) == 1
    ((_sender, to, mail),) = wait_for_mail(smtp_settings)
    assert to == ["alice@example.com"]
    assert mail["Subject"] == "[Kindling] Health Ministry: 2 runs of send-to-dhis2 failed"
    body = mail.get_payload(decode=True).decode()
    assert "2 runs of job send-to-dhis2 in project Health Ministry failed since" in body
    assert f"The newest: run {newest.pk}" in body and "exit code 1 (the job failed)" in body
    assert "Its last error line: Error: HTTP 503 from https://dhis2.example.org" in body
    assert f"/projects/{alerting.slug}/runs/{newest.pk}" in body
    assert f"/projects/{alerting.slug}/activity?job={job.pk}&status=failed" in body


def test_failures_within_the_period_wait_for_its_end_and_are_counted_then(alerting, job, smtp_settings):
    fail(job)
    send_failure_alerts()
    fail(job)
    fail(job)
    assert send_failure_alerts(later(59)) == []
    assert len(send_failure_alerts(later(61))) == 1
    first, second = (mail for _s, _to, mail in wait_for_mail(smtp_settings, 2))
    assert "1 run of send-to-dhis2" in first["Subject"] and "2 runs of send-to-dhis2" in second["Subject"]


def test_each_job_has_a_period_of_its_own(alerting, job, smtp_settings):
    other = make_job(alerting, "nightly-sync")
    fail(job)
    fail(other)
    assert len(send_failure_alerts()) == 2
    subjects = sorted(mail["Subject"] for _s, _to, mail in wait_for_mail(smtp_settings, 2))
    assert subjects == [
        "[Kindling] Health Ministry: 1 run of nightly-sync failed",
        "[Kindling] Health Ministry: 1 run of send-to-dhis2 failed",
    ]


def test_nothing_is_sent_when_no_run_failed(alerting, job, smtp_settings):
    run = start(job)
    queue.finish(run, 0, {}, [])
    assert send_failure_alerts() == []


def test_members_who_did_not_opt_in_and_outsiders_get_nothing(alerting, job, bob, charlie, smtp_settings):
    preferences.set_preferences(charlie, failure_alerts="on")
    preferences.set_preferences(
        alerting.memberships.get(user__email="alice@example.com").user, failure_alerts="off"
    )
    fail(job)
    send_failure_alerts()
    assert smtp_settings.received == []
    assert FailureAlert.objects.get().failures == 0  # counted and dropped: nobody wanted it


def test_a_project_with_alerts_off_notes_nothing(project, alice):
    preferences.set_preferences(alice, failure_alerts="on")
    put_on_plan(project)
    fail(make_job(project, "quiet"))
    assert not FailureAlert.objects.exists()
    assert send_failure_alerts() == []


def test_a_failure_that_is_retried_is_not_reported_until_its_series_ends(alerting, job, smtp_settings):
    job.retry_attempts, job.retry_delay = 1, 0
    job.save()
    fail(job)
    assert send_failure_alerts() == []
    (retry,) = Run.objects.filter(status="pending")
    queue.finish(queue.claim("w", 60), 1, None, [Line("Error: again", source="R/T", level="error")])
    assert len(send_failure_alerts()) == 1
    ((_s, _to, mail),) = wait_for_mail(smtp_settings)
    assert "1 run of send-to-dhis2" in mail["Subject"] and f"run {retry.pk}" in mail.get_payload()


def test_a_lost_run_is_reported(alerting, job, smtp_settings):
    run = start(job)
    Run.objects.filter(pk=run.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    mark_lost_runs()
    send_failure_alerts()
    ((_s, _to, mail),) = wait_for_mail(smtp_settings)
    assert "exit code 4 (lost: its worker stopped)" in mail.get_payload()


def test_a_failed_send_is_tried_again_with_nothing_lost(alerting, job, settings, smtp_settings):
    fail(job)
    settings.EMAIL_PORT = 1  # nothing listens there
    assert send_failure_alerts() == []
    assert FailureAlert.objects.get().failures == 1
    settings.EMAIL_PORT = smtp_settings.server_address[1]
    assert len(send_failure_alerts()) == 1


def test_the_email_holds_no_state_and_no_secret_of_a_real_failed_run(alerting, alice, job, smtp_settings):
    credential = make_credential(alice, "dhis2", {"password": "shhh-secret-987"}, projects=[alerting])
    job.credential = credential
    job.expression = (
        "fn(state => { state.data.ssn = 'ssn-123-45'; "
        "throw new Error('refused with ' + state.configuration.password); });"
    )
    job.save()
    queue.enqueue(job, Run.Cause.MANUAL, {"data": {"patient": "patient-name-xyz"}})
    run = process_one("test-worker")
    run.refresh_from_db()
    assert run.status == "failed"
    send_failure_alerts()
    ((_s, _to, mail),) = wait_for_mail(smtp_settings)
    body = mail.get_payload(decode=True).decode()
    assert "Its last error line:" in body and "refused with" in body
    for secret in ("shhh-secret-987", "ssn-123-45", "patient-name-xyz"):
        assert secret not in body and secret not in mail["Subject"]


# Settings


def test_administrators_choose_the_period_and_odd_periods_are_refused(project):
    assert configure(project, failure_alert_minutes="60").failure_alert_minutes == 60
    with pytest.raises(ConfigError, match="one of these periods in minutes: 0, 15, 60, 360, 1440"):
        configure(project, failure_alert_minutes=7)


def test_the_api_sets_the_period_for_administrators_only(call, project, alice, bob):
    assert call(bob, "PATCH", f"/projects/{project.slug}", {"failure_alert_minutes": 60}).status_code == 403
    response = call(alice, "PATCH", f"/projects/{project.slug}", {"failure_alert_minutes": 60})
    assert (response.status_code, response.json()["failure_alert_minutes"]) == (200, 60)
    assert call(alice, "PATCH", f"/projects/{project.slug}", {"failure_alert_minutes": 5}).status_code == 422


def test_project_settings_save_the_period(client_for, project, alice):
    page = client_for(alice).post(
        f"/projects/{project.slug}/settings",
        {
            "name": project.name,
            "concurrency": 1,
            "notification_threshold": 85,
            "timezone": "UTC",
            "failure_alert_minutes": "1440",
        },
    )
    assert page.status_code == 302
    project.refresh_from_db()
    assert project.failure_alert_minutes == 1440


def test_a_user_opts_in_on_account_settings(client_for, bob):
    client = client_for(bob)
    assert "Failure alerts" in client.get("/account").content.decode()
    assert client.post("/account", {"name": "Bob", "failure_alerts": "on"}).status_code == 302
    bob.refresh_from_db()
    assert preferences.get(bob, preferences.FAILURE_ALERTS) == "on"


def test_the_command_line_sets_the_period(project):
    out = StringIO()
    call_command("project", "set", project.slug, "--failure-alert-minutes", "15", stdout=out)
    assert json.loads(out.getvalue())["failure_alert_minutes"] == 15
    with pytest.raises(CommandError, match="one of these periods"):
        call_command("project", "set", project.slug, "--failure-alert-minutes", "7", stdout=StringIO())
