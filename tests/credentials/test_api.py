"""The credentials REST API: masked on read, the mask meaning "unchanged" on write."""

import json

import pytest

from kindling.credentials.models import Credential
from kindling.credentials.schemas import MASK
from tests.conftest import make_project
from tests.credentials.conftest import EXAMPLE_ADAPTOR, EXAMPLE_BODY


def send(client, method, url, data=None):
    return getattr(client, method)(
        url, json.dumps(data) if data is not None else None, content_type="application/json"
    )


def test_credential_types_list_raw_json_and_the_installed_schemas(api_for, alice, adaptors):
    response = api_for(alice).get("/api/v1/credential-types")

    assert response.status_code == 200
    types = response.json()["items"]
    assert [(t["type"], t["adaptor_version"]) for t in types] == [("raw", None), (EXAMPLE_ADAPTOR, "1.0.0")]
    assert types[1]["schema"]["properties"]["password"]["writeOnly"] is True


def test_create_returns_the_masked_body_and_shares_with_the_given_projects(api_for, alice, project, adaptors):
    response = send(
        api_for(alice),
        "post",
        "/api/v1/credentials",
        {"name": "dhis2", "type": EXAMPLE_ADAPTOR, "body": EXAMPLE_BODY, "projects": [project.slug]},
    )

    assert response.status_code == 201, response.content
    out = response.json()
    assert out["body"] == {"username": "ada@example.org", "password": MASK, "baseUrl": "https://example.org"}
    assert out["projects"] == [project.slug]
    assert out["owner"]["email"] == "alice@example.com"
    assert Credential.objects.get().body == EXAMPLE_BODY


def test_create_names_the_invalid_fields(api_for, alice, adaptors):
    response = send(
        api_for(alice),
        "post",
        "/api/v1/credentials",
        {"name": "dhis2", "type": EXAMPLE_ADAPTOR, "body": {"username": "ada", "baseUrl": "nope"}},
    )

    # The type's rules (its adaptor's schema), which the OpenAPI document cannot spell out: 400.
    assert response.status_code == 400
    assert response.json()["fields"] == {"baseUrl": "'nope' is not a 'uri'", "password": "is required"}
    assert "baseUrl (Base URL)" in response.json()["error"]
    assert not Credential.objects.exists()


@pytest.mark.parametrize(
    "payload, problem",
    [
        ({"name": "x", "type": "@openfn/language-nope"}, "Unknown credential type"),
        ({"name": "x", "projects": ["not-mine"]}, "No project 'not-mine' among your projects"),
    ],
)
def test_create_refuses_with_a_reason(api_for, alice, adaptors, charlie, payload, problem):
    make_project(charlie, name="Not Mine")

    response = send(api_for(alice), "post", "/api/v1/credentials", payload)

    assert response.status_code == 400
    assert problem in response.json()["error"]
    assert not Credential.objects.exists()


def test_the_owner_reads_the_masked_body_a_member_only_the_fields_set(api_for, alice, bob, credential):
    owner = api_for(alice).get(f"/api/v1/credentials/{credential.pk}").json()
    member = api_for(bob).get(f"/api/v1/credentials/{credential.pk}").json()

    assert owner["body"]["password"] == MASK and owner["body"]["username"] == "ada@example.org"
    assert "body" not in member
    assert member["fields_set"] == ["username", "password", "baseUrl"]
    assert (member["name"], member["type"], member["owner"]["email"]) == (
        "dhis2-prod",
        EXAMPLE_ADAPTOR,
        "alice@example.com",
    )


def test_a_member_sees_only_the_shared_projects_they_are_in(
    api_for, alice, bob, project, other_project, credential
):
    credential.projects.add(other_project)

    assert api_for(alice).get(f"/api/v1/credentials/{credential.pk}").json()["projects"] == sorted(
        [project.slug, other_project.slug]
    )
    assert api_for(bob).get(f"/api/v1/credentials/{credential.pk}").json()["projects"] == [project.slug]


def test_patch_with_the_mask_keeps_the_stored_secret(api_for, alice, credential):
    response = send(
        api_for(alice),
        "patch",
        f"/api/v1/credentials/{credential.pk}",
        {"body": {"username": "grace", "password": MASK, "baseUrl": "https://example.net"}},
    )

    assert response.status_code == 200
    credential.refresh_from_db()
    assert credential.body == {
        "username": "grace",
        "password": "hunter2-secret",
        "baseUrl": "https://example.net",
    }


def test_patch_with_a_new_secret_replaces_it_and_an_invalid_body_changes_nothing(api_for, alice, credential):
    client = api_for(alice)
    url = f"/api/v1/credentials/{credential.pk}"

    assert send(client, "patch", url, {"body": {**EXAMPLE_BODY, "password": "new-one"}}).status_code == 200
    refused = send(client, "patch", url, {"body": {**EXAMPLE_BODY, "baseUrl": ""}})

    assert refused.status_code == 400 and "baseUrl" in refused.json()["fields"]
    credential.refresh_from_db()
    assert credential.body["password"] == "new-one" and credential.body["baseUrl"] == "https://example.org"


def test_put_projects_grants_and_revokes(api_for, alice, project, other_project, credential):
    response = send(
        api_for(alice),
        "put",
        f"/api/v1/credentials/{credential.pk}/projects",
        {"projects": [other_project.slug]},
    )

    assert response.status_code == 200
    assert list(credential.projects.all()) == [other_project]


def test_put_projects_refuses_a_project_the_owner_is_not_in(api_for, alice, charlie, project, credential):
    theirs = make_project(charlie, name="Theirs")

    response = send(
        api_for(alice),
        "put",
        f"/api/v1/credentials/{credential.pk}/projects",
        {"projects": [project.slug, theirs.slug]},
    )

    assert response.status_code == 400
    assert response.json()["error"] == "No project 'theirs' among your projects."
    assert list(credential.projects.all()) == [project]


def test_a_new_owner_may_revoke_a_project_they_are_not_in(api_for, alice, charlie, project, credential):
    send(
        api_for(alice),
        "post",
        f"/api/v1/credentials/{credential.pk}/transfer",
        {"email": "charlie@example.com", "user_number": charlie.user_number},
    )

    response = send(
        api_for(charlie), "put", f"/api/v1/credentials/{credential.pk}/projects", {"projects": []}
    )

    assert response.status_code == 200
    assert not credential.projects.exists()


def test_transfer_moves_ownership_and_the_former_owner_gets_404(api_for, alice, charlie, credential):
    response = send(
        api_for(alice),
        "post",
        f"/api/v1/credentials/{credential.pk}/transfer",
        {"email": "charlie@example.com", "user_number": charlie.user_number},
    )

    assert response.status_code == 200
    assert response.json()["owner"] == {"email": "charlie@example.com"}
    # alice is a member of the shared project, so she still sees it, as a member: no body.
    assert "body" not in api_for(alice).get(f"/api/v1/credentials/{credential.pk}").json()
    assert api_for(charlie).get(f"/api/v1/credentials/{credential.pk}").json()["body"]["password"] == MASK


def test_a_former_owner_outside_every_shared_project_loses_it_entirely(api_for, alice, charlie, credential):
    credential.projects.clear()
    send(
        api_for(alice),
        "post",
        f"/api/v1/credentials/{credential.pk}/transfer",
        {"email": "charlie@example.com", "user_number": charlie.user_number},
    )

    assert api_for(alice).get(f"/api/v1/credentials/{credential.pk}").status_code == 404


@pytest.mark.parametrize(
    "who, number, problem",
    [
        ("nobody@example.com", "right", "No user has this email and user number"),
        ("charlie@example.com", "wrong", "No user has this email and user number"),
        ("alice@example.com", "own", "You already own this credential"),
    ],
    ids=["unknown-email", "wrong-user-number", "to-self"],
)
def test_a_refused_transfer_changes_nothing(api_for, alice, charlie, credential, who, number, problem):
    numbers = {
        "right": charlie.user_number,
        "own": alice.user_number,
        "wrong": 100_000 if charlie.user_number != 100_000 else 100_001,
    }

    response = send(
        api_for(alice),
        "post",
        f"/api/v1/credentials/{credential.pk}/transfer",
        {"email": who, "user_number": numbers[number]},
    )

    assert response.status_code == 400
    assert problem in response.json()["error"]
    assert Credential.objects.get().owner == alice


def test_delete_is_immediate(api_for, alice, credential):
    client = api_for(alice)

    assert client.delete(f"/api/v1/credentials/{credential.pk}").status_code == 204
    assert client.get(f"/api/v1/credentials/{credential.pk}").status_code == 404
    assert not Credential.objects.exists()


def test_search_by_name(api_for, alice, project, credential):
    from tests.conftest import make_credential

    make_credential(alice, name="openmrs", projects=[project])

    names = [c["name"] for c in api_for(alice).get("/api/v1/credentials?q=MRS").json()["items"]]

    assert names == ["openmrs"]


def test_the_openapi_document_lists_the_endpoints(api_for, alice):
    paths = api_for(alice).get("/api/v1/openapi.json").json()["paths"]

    assert {
        "/api/v1/credentials",
        "/api/v1/credentials/{credential_id}",
        "/api/v1/credential-types",
        "/api/v1/credentials/{credential_id}/projects",
        "/api/v1/credentials/{credential_id}/transfer",
        "/api/v1/projects/{slug}/credentials",
    } <= set(paths)
