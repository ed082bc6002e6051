"""Every credential page and endpoint, for each persona: the owner (alice), a collaborator of a project the
credential is shared with (bob), a collaborator of alice's project it is not shared with (dave), and an
outsider (charlie). Refused requests change nothing."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from kindling.credentials.models import Credential
from tests.credentials.conftest import EXAMPLE_BODY

PERSONAS = ["alice", "bob", "dave", "charlie"]
SECRETS = ["hunter2-secret", "ada@example.org"]


def portal_requests(credential, project, other_project, dave):
    pk, slug, other = credential.pk, project.slug, other_project.slug
    edit = {
        "name": "renamed",
        "body-username": "x",
        "body-password": "******",
        "body-baseUrl": "https://x.org",
    }
    return {
        "detail": ("get", reverse("credential-detail", args=[pk]), None),
        "detail-in-project": ("get", reverse("project-credential-detail", args=[slug, pk]), None),
        "detail-in-unshared-project": ("get", reverse("project-credential-detail", args=[other, pk]), None),
        "edit": ("post", reverse("credential-detail", args=[pk]), edit),
        "access": (
            "post",
            reverse("credential-access", args=[pk]),
            {"projects": [project.pk, other_project.pk]},
        ),
        "transfer": (
            "post",
            reverse("credential-transfer", args=[pk]),
            {"email": "dave@example.com", "user_number": dave.user_number},
        ),
        "delete": ("post", reverse("credential-delete", args=[pk]), None),
    }


PORTAL_EXPECTED = {
    #                             alice bob  dave charlie
    "detail": [200, 200, 404, 404],
    "detail-in-project": [200, 200, 404, 404],
    "detail-in-unshared-project": [200, 404, 404, 404],
    "edit": [302, 403, 404, 404],
    "access": [302, 403, 404, 404],
    "transfer": [302, 403, 404, 404],
    "delete": [302, 403, 404, 404],
}


def api_requests(credential, project, other_project, dave):
    base = f"/api/v1/credentials/{credential.pk}"
    return {
        "get": ("get", base, None),
        "patch": ("patch", base, {"name": "renamed", "body": {**EXAMPLE_BODY, "password": "******"}}),
        "projects": ("put", f"{base}/projects", {"projects": [project.slug, other_project.slug]}),
        "transfer": (
            "post",
            f"{base}/transfer",
            {"email": "dave@example.com", "user_number": dave.user_number},
        ),
        "delete": ("delete", base, None),
    }


API_EXPECTED = {
    "get": [200, 200, 404, 404],
    "patch": [200, 403, 404, 404],
    "projects": [200, 403, 404, 404],
    "transfer": [200, 403, 404, 404],
    "delete": [204, 403, 404, 404],
}


def snapshot(credential) -> tuple:
    fresh = Credential.objects.filter(pk=credential.pk).first()
    if fresh is None:
        return ("gone",)
    return fresh.name, fresh.owner_id, fresh.body, sorted(fresh.projects.values_list("pk", flat=True))


@pytest.fixture
def people(alice, bob, dave, charlie):
    return {"alice": alice, "bob": bob, "dave": dave, "charlie": charlie}


@pytest.mark.parametrize("action", list(PORTAL_EXPECTED))
@pytest.mark.parametrize("persona", PERSONAS)
def test_portal(client_for, people, persona, action, credential, project, other_project, dave):
    method, url, data = portal_requests(credential, project, other_project, dave)[action]
    expected = PORTAL_EXPECTED[action][PERSONAS.index(persona)]
    before = snapshot(credential)

    response = getattr(client_for(people[persona]), method)(url, data or {})

    assert response.status_code == expected
    if expected != 302:
        assert snapshot(credential) == before
        body = response.content.decode()
        assert "dhis2-prod" in body if expected == 200 else "dhis2-prod" not in body
    if persona != "alice":
        assert not any(secret in response.content.decode() for secret in SECRETS)


@pytest.mark.parametrize("action", list(API_EXPECTED))
@pytest.mark.parametrize("persona", PERSONAS)
def test_api(api_for, people, persona, action, credential, project, other_project, dave):
    method, url, data = api_requests(credential, project, other_project, dave)[action]
    expected = API_EXPECTED[action][PERSONAS.index(persona)]
    before = snapshot(credential)

    response = getattr(api_for(people[persona]), method)(
        url, json.dumps(data) if data else None, content_type="application/json"
    )

    assert response.status_code == expected, response.content
    if expected >= 400:
        assert snapshot(credential) == before
        assert set(response.json()) == {"error"}
    if persona != "alice":
        assert not any(secret in response.content.decode() for secret in SECRETS)


@pytest.mark.parametrize(
    "persona, listed", [("alice", True), ("bob", True), ("dave", False), ("charlie", False)]
)
def test_project_lists(client_for, api_for, people, persona, listed, credential, project, other_project):
    page = client_for(people[persona]).get(reverse("project-credentials", args=[project.slug]))
    api = api_for(people[persona]).get(f"/api/v1/projects/{project.slug}/credentials")

    if listed:
        assert page.status_code == 200 and "dhis2-prod" in page.content.decode()
        assert api.status_code == 200 and [c["name"] for c in api.json()["items"]] == ["dhis2-prod"]
    else:
        assert (page.status_code, api.status_code) == (404, 404)


@pytest.mark.parametrize("persona", ["alice", "dave"])
def test_the_unshared_projects_list_does_not_show_it(client_for, people, persona, credential, other_project):
    page = client_for(people[persona]).get(reverse("project-credentials", args=[other_project.slug]))

    assert page.status_code == 200 and "dhis2-prod" not in page.content.decode()


@pytest.mark.parametrize(
    "persona, listed", [("alice", True), ("bob", False), ("dave", False), ("charlie", False)]
)
def test_my_credentials_lists_only_my_own(client_for, api_for, people, persona, listed, credential):
    page = client_for(people[persona]).get(reverse("my-credentials"))
    api = api_for(people[persona]).get("/api/v1/credentials")

    assert ("dhis2-prod" in page.content.decode()) is listed
    assert ([c["name"] for c in api.json()["items"]] == ["dhis2-prod"]) is listed


def test_anonymous_users_log_in_first_and_the_api_wants_a_token(credential, project, other_project, dave):
    for method, url, data in portal_requests(credential, project, other_project, dave).values():
        response = getattr(Client(), method)(url, data or {})
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), url
    for method, url, data in api_requests(credential, project, other_project, dave).values():
        response = getattr(Client(), method)(
            url, json.dumps(data) if data else None, content_type="application/json"
        )
        assert response.status_code == 401, url
    assert Credential.objects.filter(pk=credential.pk, owner__email="alice@example.com").exists()


@pytest.mark.parametrize("persona, status", [("alice", 200), ("bob", 200), ("dave", 404), ("charlie", 404)])
@pytest.mark.parametrize("name", ["project-credentials", "project-my-credentials", "project-credential-new"])
def test_the_project_pages_are_404_for_non_members(
    client_for, people, persona, status, name, project, adaptors
):
    assert client_for(people[persona]).get(reverse(name, args=[project.slug])).status_code == status
