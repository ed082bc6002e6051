"""New project, the project dashboard and Project Settings in the portal."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from kindling.projects.models import Membership, Project, SlugRedirect
from kindling.runs.models import Run
from tests.conftest import make_job, make_project, make_trigger, post_message
from tests.portal.conftest import make_run

SETTINGS = {
    "name": "Health Ministry",
    "description": "",
    "concurrency": "1",
    "notification_threshold": "85",
    "timezone": "UTC",
}


@pytest.fixture(autouse=True)
def _plan_allows_ten(generous_default_plan):
    pass


def test_new_project_creates_it_with_its_inbox_and_the_creator_as_owner(client_for, charlie):
    client = client_for(charlie)

    response = client.post(reverse("project-new"), {"name": "Clinic Forms", "description": "ODK intake"})

    project = Project.objects.get(name="Clinic Forms")
    assert response.status_code == 302
    assert response["Location"] == reverse("project-dashboard", args=[project.slug])
    assert Membership.objects.get(project=project, user=charlie).role == "owner"
    assert project.description == "ODK intake"
    html = client.get(response["Location"]).content.decode()
    assert project.inbox_url in html


def test_new_project_without_a_name_keeps_the_description_and_says_why(client_for, charlie):
    response = client_for(charlie).post(reverse("project-new"), {"name": "", "description": "kept"})

    assert response.status_code == 400
    assert "This field is required" in response.content.decode()
    assert "kept</textarea>" in response.content.decode()
    assert not Project.objects.exists()


def test_the_project_list_links_to_new_project_and_each_dashboard(client_for, project, alice):
    html = client_for(alice).get("/").content.decode()

    assert f'href="{reverse("project-new")}"' in html
    assert f'href="{reverse("project-dashboard", args=[project.slug])}"' in html


def test_the_dashboard_counts_jobs_messages_runs_of_30_days_and_the_queue(client_for, project, bob):
    job = make_job(project, trigger=make_trigger(project))
    make_job(project, name="archived", archived=True)
    post_message(project, {"a": 1})  # one message, one pending run
    make_run(job)
    make_run(job, status=Run.Status.FAILED, exit_code=1)
    make_run(job, status=Run.Status.RUNNING)
    old = make_run(job)
    Run.objects.filter(pk=old.pk).update(created_at=old.created_at - timedelta(days=31))

    context = client_for(bob).get(reverse("project-dashboard", args=[project.slug])).context

    summary = context["summary"]
    assert (summary["jobs"], summary["messages"], summary["runs"]) == (1, 1, 4)
    assert (summary["succeeded"], summary["failed"], summary["pending"], summary["running"]) == (1, 1, 1, 1)


def test_an_outsider_gets_404_for_dashboard_settings_and_export(client_for, project, charlie):
    client = client_for(charlie)
    for name in ("project-dashboard", "project-settings"):
        assert client.get(reverse(name, args=[project.slug])).status_code == 404
    assert client.post(reverse("project-settings", args=[project.slug]), SETTINGS).status_code == 404
    assert (
        client.post(reverse("project-export", args=[project.slug]), {"kind": "project.yaml"}).status_code
        == 404
    )


def test_a_collaborator_reads_the_settings_but_cannot_change_them(client_for, project, bob):
    client = client_for(bob)

    html = client.get(reverse("project-settings", args=[project.slug])).content.decode()
    response = client.post(reverse("project-settings", args=[project.slug]), {**SETTINGS, "concurrency": "5"})

    assert re.search(r'<input type="text" name="name" value="Health Ministry"[^>]* disabled', html)
    assert re.search(r'<select name="timezone"[^>]* disabled', html)
    assert "Update Project" not in html
    assert response.status_code == 403
    assert Project.objects.get(pk=project.pk).concurrency == 1


def test_an_administrator_updates_concurrency_threshold_and_time_zone(client_for, project, alice):
    response = client_for(alice).post(
        reverse("project-settings", args=[project.slug]),
        {**SETTINGS, "concurrency": "3", "notification_threshold": "70", "timezone": "Africa/Nairobi"},
    )

    assert response.status_code == 302
    project.refresh_from_db()
    assert (project.concurrency, project.notification_threshold, project.timezone) == (
        3,
        70,
        "Africa/Nairobi",
    )


def test_an_admin_member_may_change_settings(client_for, project, charlie):
    Membership.objects.create(project=project, user=charlie, role=Membership.Role.ADMIN)

    response = client_for(charlie).post(
        reverse("project-settings", args=[project.slug]), {**SETTINGS, "description": "by an admin"}
    )

    assert response.status_code == 302
    assert Project.objects.get(pk=project.pk).description == "by an admin"


def test_a_concurrency_over_the_plan_maximum_is_a_form_error(client_for, project, alice):
    response = client_for(alice).post(
        reverse("project-settings", args=[project.slug]),
        {**SETTINGS, "concurrency": "12", "description": "x"},
    )

    assert response.status_code == 400
    assert "at most 10" in response.content.decode()
    assert Project.objects.get(pk=project.pk).concurrency == 1


def test_the_settings_page_hides_the_inbox_url_behind_an_eye_with_copy(client_for, project, alice):
    html = client_for(alice).get(reverse("project-settings", args=[project.slug])).content.decode()

    field = re.search(r'<input type="password"[^>]*id="settings-inbox-url"[^>]*>', html)
    assert field and f'value="{project.inbox_url}"' in field.group(0)
    assert 'aria-label="Show the inbox URL"' in html
    assert 'aria-label="Copy the inbox URL"' in html
    assert 'type="range"' in html and 'max="10"' in html


def test_a_rename_changes_the_slug_and_old_urls_redirect_301_for_members(client_for, project, alice, bob):
    old = project.slug
    client_for(alice).post(
        reverse("project-settings", args=[old]), {**SETTINGS, "name": "Ministry of Health"}
    )
    project.refresh_from_db()

    response = client_for(bob).get(f"/projects/{old}/inbox?q=fever")

    assert project.slug == "ministry-of-health"
    assert response.status_code == 301
    assert response["Location"] == "/projects/ministry-of-health/inbox?q=fever"
    assert client_for(bob).get(f"/projects/{old}/").status_code == 301


def test_the_inbox_url_never_changes_with_a_rename(client_for, project, alice):
    inbox_url = project.inbox_url
    client_for(alice).post(reverse("project-settings", args=[project.slug]), {**SETTINGS, "name": "Renamed"})

    assert Project.objects.get(pk=project.pk).inbox_url == inbox_url


def test_old_urls_answer_404_after_60_days(client_for, project, alice):
    old = project.slug
    client_for(alice).post(reverse("project-settings", args=[old]), {**SETTINGS, "name": "Renamed"})
    SlugRedirect.objects.update(created_at=SlugRedirect.objects.get().created_at - timedelta(days=61))

    assert client_for(alice).get(f"/projects/{old}/activity").status_code == 404


def test_an_outsider_is_not_redirected_from_an_old_url(client_for, project, alice, charlie):
    old = project.slug
    client_for(alice).post(reverse("project-settings", args=[old]), {**SETTINGS, "name": "Renamed"})

    assert client_for(charlie).get(f"/projects/{old}/activity").status_code == 404


def test_a_new_project_does_not_take_a_slug_that_still_redirects(client_for, project, alice):
    old = project.slug
    client_for(alice).post(reverse("project-settings", args=[old]), {**SETTINGS, "name": "Renamed"})

    other = make_project(alice, name="Health Ministry")

    assert other.slug == "health-ministry-2"
    assert client_for(alice).get(f"/projects/{old}/activity")["Location"] == "/projects/renamed/activity"


def test_renaming_back_takes_the_old_slug_again(client_for, project, alice):
    client = client_for(alice)
    client.post(reverse("project-settings", args=["health-ministry"]), {**SETTINGS, "name": "Renamed"})
    client.post(reverse("project-settings", args=["renamed"]), {**SETTINGS, "name": "Health Ministry"})

    project.refresh_from_db()
    assert project.slug == "health-ministry"
    assert client.get("/projects/renamed/activity")["Location"] == "/projects/health-ministry/activity"
