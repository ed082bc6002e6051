"""The threshold notice (spec section 10): all collaborators are emailed once per cycle when the
project has used its threshold share (85% by default) of the cycle's runs. Sent through a real
SMTP server on 127.0.0.1."""

from kindling.plans.models import Usage
from tests.conftest import make_job, make_trigger, post_message
from tests.plans.conftest import wait_for_mail


def test_collaborators_are_emailed_once_when_85_percent_of_the_runs_are_used(
    project, free, smtp_settings, django_capture_on_commit_callbacks
):
    free.runs_per_month = 10
    free.save()
    make_job(project, "job-1", make_trigger(project, criteria={}))
    for _ in range(8):
        with django_capture_on_commit_callbacks(execute=True):
            post_message(project, {"n": 1})
    assert Usage.objects.get(project=project).notified is False
    assert smtp_settings.received == []

    with django_capture_on_commit_callbacks(execute=True):
        post_message(project, {"n": 9})  # 9 of 10: past 85%
    [(_sender, recipients, mail)] = wait_for_mail(smtp_settings)
    assert sorted(recipients) == ["alice@example.com", "bob@example.com"]
    assert mail["Subject"] == "[Kindling] Health Ministry has used 85% of its runs this month"
    assert "has used 9 of the 10 runs its Free plan allows" in mail.get_payload()

    with django_capture_on_commit_callbacks(execute=True):
        post_message(project, {"n": 10})
        post_message(project, {"n": 11})  # rejected; still no second notice this cycle
    assert len(wait_for_mail(smtp_settings, count=2, seconds=0.5)) == 1
    assert Usage.objects.get(project=project).notified is True


def test_no_notice_without_a_limit(project, free, smtp_settings, django_capture_on_commit_callbacks):
    free.runs_per_month = None
    free.save()
    make_job(project, "job-1", make_trigger(project, criteria={}))
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            post_message(project, {"n": 1})
    assert wait_for_mail(smtp_settings, seconds=0.3) == []
