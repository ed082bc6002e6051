import re
from html import unescape

import pytest
from django.db import connection
from django.urls import reverse

from kindling.runs.models import Run
from kindling.runs.views import RUNS_PER_PAGE
from tests.conftest import make_job
from tests.portal.conftest import make_run


@pytest.fixture
def activity(project):
    return reverse("project-activity", args=[project.slug])


def row_ids(html) -> list[int]:
    return [int(n) for n in re.findall(r'<tr id="run-(\d+)"', html)]


def row_of(html, run) -> str:
    start = html.index(f'<tr id="run-{run.pk}"')
    return html[start : html.index("</tr>", start)]


def test_it_lists_the_runs_newest_first(client_for, project, alice, activity):
    job = make_job(project)
    first, second, third = make_run(job), make_run(job), make_run(job)

    html = client_for(alice).get(activity).content.decode()

    assert row_ids(html) == [third.pk, second.pk, first.pk]


def test_a_row_shows_job_status_exit_code_times_and_duration(client_for, project, alice, activity):
    run = make_run(make_job(project, name="send-to-dhis2"), seconds=2.5)

    html = client_for(alice).get(activity).content.decode()

    row = row_of(html, run)
    assert "send-to-dhis2" in row
    assert ">success</span>" in row
    assert '<td class="kindling-exit-code">0</td>' in row
    assert f'datetime="{run.started_at.isoformat()}"' in row
    assert f'datetime="{run.finished_at.isoformat()}"' in row
    assert "2.50 s" in row


def test_failed_runs_are_red(client_for, project, alice, activity):
    job = make_job(project)
    ok = make_run(job)
    failed = make_run(job, status=Run.Status.FAILED, exit_code=1)

    html = client_for(alice).get(activity).content.decode()

    assert 'class="table-danger"' in row_of(html, failed)
    assert "table-danger" not in row_of(html, ok)


def test_a_pending_run_has_no_exit_code_or_times_yet(client_for, project, alice, activity):
    run = make_run(make_job(project), status=Run.Status.PENDING)

    html = client_for(alice).get(activity).content.decode()

    row = row_of(html, run)
    assert '<td class="kindling-exit-code"></td>' in row
    assert ">pending</span>" in row
    assert "<time" not in row


def test_it_pages_the_runs(client_for, project, alice, activity):
    job = make_job(project)
    oldest = make_run(job)
    for _ in range(RUNS_PER_PAGE):
        make_run(job)

    first = client_for(alice).get(activity).content.decode()
    older = unescape(re.search(r'href="(\?[^"]*before=[^"]+)" rel="next"', first).group(1))
    second = client_for(alice).get(activity + older).content.decode()

    assert len(row_ids(first)) == RUNS_PER_PAGE and oldest.pk not in row_ids(first)
    assert row_ids(second) == [oldest.pk]
    assert 'rel="next"' not in second and 'rel="prev"' in second


def test_the_number_of_queries_does_not_grow_with_the_runs(
    client_for, project, alice, activity, django_assert_max_num_queries
):
    client = client_for(alice)
    for i in range(3):
        make_run(make_job(project, name=f"job-{i}"))
    client.get(activity)  # warm the session
    # PostgreSQL: one more, `SET LOCAL jit = off` before the page's query (see runs/filters.py).
    with django_assert_max_num_queries(9 if connection.vendor == "postgresql" else 8) as few:
        client.get(activity)
    for i in range(3, 30):
        make_run(make_job(project, name=f"job-{i}"))

    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(activity)


def test_it_shows_the_projects_inbox_url(client_for, project, alice, activity):
    html = client_for(alice).get(activity).content.decode()

    assert f'value="{project.inbox_url}"' in html


def test_an_empty_project_says_how_runs_start(client_for, project, alice, activity):
    html = client_for(alice).get(activity).content.decode()

    assert "No runs yet" in html


def test_the_project_menu_has_the_v1_entries_in_order(client_for, project, alice, activity):
    html = client_for(alice).get(activity).content.decode()

    menu = html[html.index('aria-label="Project menu"') :]
    menu = menu[: menu.index("</nav>")]
    entries = re.findall(r"</i> ([^<]+?)\s*</(?:a|span)>", menu)
    assert entries == [
        "Project Dashboard",
        "Jobs",
        "Triggers",
        "Credentials",
        "My Credentials",
        "Activity",
        "Inbox",
        "Search Console",
        "Project Settings",
        # v1 shows the plan inside Project Settings; here it has its own page, next to it
        "Plan &amp; usage",
        "Access &amp; Security",
        "Version Control",
        # beyond v1, after its entries
        "Collections",
    ]


def test_jobs_triggers_activity_and_inbox_are_links_in_the_menu(client_for, project, alice, activity):
    html = client_for(alice).get(activity).content.decode()

    menu = html[html.index('aria-label="Project menu"') :]
    menu = menu[: menu.index("</nav>")]
    links = re.findall(r'<a [^>]*href="([^"]+)"', menu)
    wanted = [
        reverse("project-list"),
        reverse("job-list", args=[project.slug]),
        reverse("trigger-list", args=[project.slug]),
        activity,
        reverse("project-inbox", args=[project.slug]),
        reverse("search-console", args=[project.slug]),
        reverse("project-settings", args=[project.slug]),
        reverse("project-access", args=[project.slug]),
    ]
    assert [link for link in links if link in wanted] == wanted
    assert "disabled" not in menu  # every menu entry is a page now
    assert '<a class="nav-link active" aria-current="page" href="' + activity in menu
