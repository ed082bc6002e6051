"""Activity filters (log text, date, job, status) in the URL, and keyset pages."""

import re
from datetime import datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from kindling.runs.filters import RUNS_PER_PAGE
from kindling.runs.models import Run
from tests.conftest import make_job
from tests.portal.conftest import make_run


@pytest.fixture
def activity(project):
    return reverse("project-activity", args=[project.slug])


def row_ids(html) -> list[int]:
    return [int(n) for n in re.findall(r'<tr id="run-(\d+)"', html)]


def ago(**kw):
    return timezone.now() - timedelta(**kw)


def link(html, rel) -> str:
    return unescape(re.search(rf'href="(\?[^"]*)" rel="{rel}"', html).group(1))


def test_it_shows_the_last_30_days_by_default(client_for, project, alice, activity):
    job = make_job(project)
    recent = make_run(job, created_at=ago(days=29))
    make_run(job, created_at=ago(days=31))

    html = client_for(alice).get(activity).content.decode()

    assert row_ids(html) == [recent.pk]


@pytest.mark.parametrize(
    ("period", "visible"),
    [
        ("hour", ["minutes"]),
        ("day", ["minutes", "hours"]),
        ("7d", ["minutes", "hours", "days"]),
        ("90d", ["minutes", "hours", "days", "months"]),
    ],
)
def test_relative_periods(client_for, project, alice, activity, period, visible):
    job = make_job(project)
    runs = {
        "minutes": make_run(job, created_at=ago(minutes=10)),
        "hours": make_run(job, created_at=ago(hours=5)),
        "days": make_run(job, created_at=ago(days=3)),
        "months": make_run(job, created_at=ago(days=60)),
    }

    html = client_for(alice).get(activity, {"date": period}).content.decode()

    assert sorted(row_ids(html)) == sorted(runs[name].pk for name in visible)


def test_a_custom_range_takes_whole_days_in_the_projects_time_zone(client_for, project, alice, activity):
    project.timezone = "Africa/Nairobi"  # UTC+3
    project.save()
    job = make_job(project)
    nairobi = ZoneInfo("Africa/Nairobi")
    first_minute = make_run(job, created_at=datetime(2026, 3, 1, 0, 0, tzinfo=nairobi))
    last_minute = make_run(job, created_at=datetime(2026, 3, 2, 23, 59, tzinfo=nairobi))
    make_run(job, created_at=datetime(2026, 2, 28, 23, 59, tzinfo=nairobi))
    make_run(job, created_at=datetime(2026, 3, 3, 0, 0, tzinfo=nairobi))

    html = (
        client_for(alice)
        .get(activity, {"date": "custom", "start": "2026-03-01", "end": "2026-03-02"})
        .content.decode()
    )

    assert row_ids(html) == [last_minute.pk, first_minute.pk]


def test_a_custom_range_that_ends_before_it_starts_says_so(client_for, project, alice, activity):
    make_run(make_job(project))

    html = (
        client_for(alice)
        .get(activity, {"date": "custom", "start": "2026-03-02", "end": "2026-03-01"})
        .content.decode()
    )

    assert "The range ends before it starts." in html


def test_the_log_text_filter_ignores_case_and_matches_whole_words(client_for, project, alice, activity):
    job = make_job(project)
    refused = make_run(
        job, logs=[("JOB", "info", "sending"), ("R/T", "error", "Error: ECONNREFUSED 10.0.0.5")]
    )
    make_run(job, logs=[("JOB", "info", "sent 100% of rows")])
    percent = make_run(job, logs=[("JOB", "info", "sent 50% of_rows")])
    client = client_for(alice)

    assert row_ids(client.get(activity, {"q": "econnrefused"}).content.decode()) == [refused.pk]
    # Full text (issue 15): words, not substrings; punctuation separates words.
    assert row_ids(client.get(activity, {"q": "50% of_rows"}).content.decode()) == [percent.pk]
    assert row_ids(client.get(activity, {"q": "econnref"}).content.decode()) == []
    assert row_ids(client.get(activity, {"q": "nowhere"}).content.decode()) == []
    assert "No runs match these filters." in client.get(activity, {"q": "nowhere"}).content.decode()


def test_job_and_status_filters(client_for, project, alice, activity):
    a, b = make_job(project, "a"), make_job(project, "b")
    a_failed = make_run(a, status=Run.Status.FAILED, exit_code=1)
    make_run(a)
    b_failed = make_run(b, status=Run.Status.FAILED, exit_code=1)
    client = client_for(alice)

    assert row_ids(client.get(activity, {"status": "failed"}).content.decode()) == [b_failed.pk, a_failed.pk]
    assert row_ids(client.get(activity, {"job": a.pk, "status": "failed"}).content.decode()) == [a_failed.pk]


def test_bad_filter_values_are_reported_not_crashed_on(client_for, project, alice, activity):
    make_run(make_job(project))

    response = client_for(alice).get(activity, {"job": "x", "status": "bogus", "date": "forever"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "is not a job" in html and "is not a run status" in html and "Unknown period" in html


def test_pages_go_back_in_time_and_keep_the_filters(client_for, project, alice, activity):
    job = make_job(project)
    moment = ago(minutes=1)
    # Ties on created_at: the id decides the order, and no run is shown twice or skipped.
    failed = [
        make_run(job, status=Run.Status.FAILED, exit_code=1, created_at=moment)
        for _ in range(RUNS_PER_PAGE + 5)
    ]
    make_run(job)
    client = client_for(alice)

    first = client.get(activity, {"status": "failed"}).content.decode()
    older = link(first, "next")
    second = client.get(activity + older).content.decode()
    newer = link(second, "prev")
    back = client.get(activity + newer).content.decode()

    assert "status=failed" in older and "before=" in older
    assert row_ids(first) + row_ids(second) == [run.pk for run in reversed(failed)]
    assert 'rel="next"' not in second
    assert row_ids(back) == row_ids(first)
    assert "status=failed" in newer


def test_a_bookmarked_filtered_page_shows_the_same_runs(client_for, project, alice, activity):
    job = make_job(project, "send")
    make_run(job, status=Run.Status.FAILED, exit_code=1, logs=[("R/T", "error", "timeout")])
    url = activity + f"?q=timeout&date=7d&job={job.pk}&status=failed"

    html = client_for(alice).get(url).content.decode()

    assert len(row_ids(html)) == 1
    assert 'value="timeout"' in html
    assert '<option value="7d" selected>' in html
    assert f'<option value="{job.pk}" selected>' in html
    assert '<option value="failed" selected>' in html


def test_a_garbled_cursor_shows_the_first_page(client_for, project, alice, activity):
    run = make_run(make_job(project))

    html = client_for(alice).get(activity, {"before": "not-a-cursor"}).content.decode()

    assert row_ids(html) == [run.pk]
