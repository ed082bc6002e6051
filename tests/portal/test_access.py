"""Every project page: anonymous users log in first, outsiders get 404, members see it."""

import pytest
from django.urls import reverse

from tests.conftest import make_job, make_project, post_message
from tests.portal.conftest import make_run


@pytest.fixture
def pages(project):
    job = make_job(project)
    message, _ = post_message(project, {"number": 2})
    run = make_run(job, message=message)
    return {
        "activity": reverse("project-activity", args=[project.slug]),
        "run": reverse("run-detail", args=[project.slug, run.pk]),
        "inbox": reverse("project-inbox", args=[project.slug]),
        "message": reverse("message-detail", args=[project.slug, message.pk]),
    }


PAGES = ["activity", "run", "inbox", "message"]


@pytest.mark.parametrize("page", PAGES)
def test_an_anonymous_user_is_sent_to_login(client, pages, page):
    response = client.get(pages[page])

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={pages[page]}"


@pytest.mark.parametrize("page", PAGES)
def test_an_outsider_gets_404(client_for, pages, page, charlie):
    response = client_for(charlie).get(pages[page])

    assert response.status_code == 404
    assert "Health Ministry" not in response.content.decode()


@pytest.mark.parametrize("page", PAGES)
def test_a_collaborator_sees_the_page(client_for, pages, page, bob):
    assert client_for(bob).get(pages[page]).status_code == 200


@pytest.mark.parametrize("page", PAGES)
def test_the_owner_sees_the_page(client_for, pages, page, alice):
    assert client_for(alice).get(pages[page]).status_code == 200


def test_an_unknown_project_is_404(client_for, alice):
    assert client_for(alice).get(reverse("project-activity", args=["no-such-project"])).status_code == 404


def test_a_run_of_another_project_is_404_under_this_projects_slug(client_for, project, alice, charlie):
    other = make_project(charlie, name="Other")
    run = make_run(make_job(other))
    # alice is a member of both: the run exists and she may see it, but not under the wrong project.
    other.memberships.create(user=alice)

    client = client_for(alice)

    assert client.get(reverse("run-detail", args=[project.slug, run.pk])).status_code == 404
    assert client.get(reverse("run-detail", args=[other.slug, run.pk])).status_code == 200


def test_a_message_of_another_project_is_404_under_this_projects_slug(client_for, project, alice, charlie):
    other = make_project(charlie, name="Other")
    message, _ = post_message(other, {"x": 1})
    other.memberships.create(user=alice)

    client = client_for(alice)

    assert client.get(reverse("message-detail", args=[project.slug, message.pk])).status_code == 404
    assert client.get(reverse("message-detail", args=[other.slug, message.pk])).status_code == 200
