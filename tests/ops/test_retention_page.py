"""Project Settings > Data retention: administrators choose; collaborators are refused."""

import pytest
from django.urls import reverse

from kindling.ops.retention import days_of, set_retention


@pytest.fixture
def url(project):
    return reverse("project-retention", args=[project.slug])


def test_an_administrator_keeps_data_for_90_days(client_for, alice, project, url):
    response = client_for(alice).post(url, {"keep": "days", "days": "90"}, follow=True)
    assert response.status_code == 200
    assert "older than 90 days will be deleted" in response.content.decode()
    assert days_of(project) == 90


def test_an_administrator_goes_back_to_forever(client_for, alice, project, url):
    set_retention(project, 30)
    client_for(alice).post(url, {"keep": "forever", "days": "30"})
    assert days_of(project) is None


def test_forever_is_the_default(client_for, alice, project, url):
    page = client_for(alice).get(url).content.decode()
    assert 'value="forever" id="keep-forever"\n               checked' in page
    assert days_of(project) is None


@pytest.mark.parametrize(
    ("posted", "error"),
    [
        ({"keep": "days", "days": "0"}, "0 is out of range"),
        ({"keep": "days", "days": "ten"}, "got &#x27;ten&#x27;"),
        ({"keep": "days", "days": ""}, "Enter the number of days"),
        ({}, "Choose to keep data forever or for a number of days."),
    ],
)
def test_a_bad_choice_is_refused_and_named(client_for, alice, project, url, posted, error):
    set_retention(project, 30)
    response = client_for(alice).post(url, posted)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert days_of(project) == 30


def test_a_collaborator_cannot_change_retention(client_for, bob, project, url):
    response = client_for(bob).post(url, {"keep": "days", "days": "1"})
    assert response.status_code == 403
    assert days_of(project) is None


def test_project_settings_shows_the_retention_and_links_administrators_to_it(
    client_for, alice, bob, project, url
):
    set_retention(project, 7)
    admin_page = client_for(alice).get(reverse("project-settings", args=[project.slug])).content.decode()
    member_page = client_for(bob).get(reverse("project-settings", args=[project.slug])).content.decode()
    assert "for <strong>7 days</strong>, then deleted" in admin_page and url in admin_page
    assert "for <strong>7 days</strong>, then deleted" in member_page and url not in member_page


def test_the_api_reads_and_sets_retention(client, token_for, alice, project):
    headers = {"Authorization": f"Bearer {token_for(alice)}"}
    url = f"/api/v1/projects/{project.slug}/retention"
    assert client.get(url, headers=headers).json() == {"days": None, "forever": True}
    response = client.put(url, {"days": 90}, content_type="application/json", headers=headers)
    assert response.status_code == 200 and response.json() == {"days": 90, "forever": False}
    assert client.put(url, {"days": None}, content_type="application/json", headers=headers).json()["forever"]
    assert days_of(project) is None


def test_the_api_names_a_bad_number_of_days_and_an_unknown_field(client, token_for, alice, project):
    headers = {"Authorization": f"Bearer {token_for(alice)}"}
    url = f"/api/v1/projects/{project.slug}/retention"
    too_many = client.put(url, {"days": 5000}, content_type="application/json", headers=headers)
    unknown = client.put(url, {"days": 5, "weeks": 1}, content_type="application/json", headers=headers)
    assert too_many.status_code == 400 and "5000 is out of range" in too_many.json()["error"]
    assert unknown.status_code == 400 and "weeks" in unknown.json()["error"]
    assert days_of(project) is None


def test_a_collaborator_reads_retention_through_the_api_but_cannot_set_it(client, token_for, bob, project):
    headers = {"Authorization": f"Bearer {token_for(bob)}"}
    url = f"/api/v1/projects/{project.slug}/retention"
    assert client.get(url, headers=headers).status_code == 200
    refused = client.put(url, {"days": 1}, content_type="application/json", headers=headers)
    assert refused.status_code == 403
    assert refused.json() == {"error": "Your role in this project does not allow: edit settings"}
