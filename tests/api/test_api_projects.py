"""Projects in the REST API: create, read the settings, change them (administrators only)."""

import pytest

from kindling.projects.models import Membership, Project
from tests.conftest import make_job, make_trigger, post_message


@pytest.fixture(autouse=True)
def _plan_allows_ten(generous_default_plan):
    pass


def test_it_creates_a_project_with_its_inbox_and_makes_the_caller_its_owner(call, charlie):
    response = call(charlie, "POST", "/projects", {"name": "Clinic Forms", "description": "ODK intake"})

    assert response.status_code == 201, response.content
    body = response.json()
    project = Project.objects.get(slug=body["slug"])
    assert body["slug"] == "clinic-forms"
    assert body["inbox_url"].endswith(f"/inbox/{project.inbox_uuid}")
    assert (project.name, project.description) == ("Clinic Forms", "ODK intake")
    assert Membership.objects.get(project=project, user=charlie).role == "owner"


def test_creating_a_project_without_a_name_is_refused(call, charlie):
    response = call(charlie, "POST", "/projects", {"name": "   "})

    assert response.status_code == 422
    assert response.json() == {"error": "Invalid request: name: String should match pattern '\\S'"}
    assert not Project.objects.exists()


def test_a_project_answers_its_settings(call, project, bob):
    body = call(bob, "GET", f"/projects/{project.slug}").json()

    assert (body["concurrency"], body["notification_threshold"], body["timezone"]) == (1, 85, "UTC")


def test_an_outsider_gets_404_for_a_project(call, project, charlie):
    assert call(charlie, "GET", f"/projects/{project.slug}").status_code == 404
    response = call(charlie, "PATCH", f"/projects/{project.slug}", {"concurrency": 3})
    assert response.status_code == 404
    assert Project.objects.get(pk=project.pk).concurrency == 1


def test_an_administrator_changes_every_setting_and_a_rename_gives_a_new_slug(call, project, alice):
    old_inbox = project.inbox_url

    response = call(
        alice,
        "PATCH",
        f"/projects/{project.slug}",
        {
            "name": "Ministry of Health",
            "description": "National",
            "concurrency": 4,
            "notification_threshold": 60,
            "timezone": "Africa/Nairobi",
        },
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["slug"] == "ministry-of-health"
    assert body["inbox_url"] == old_inbox
    assert (body["concurrency"], body["notification_threshold"], body["timezone"]) == (
        4,
        60,
        "Africa/Nairobi",
    )
    assert call(alice, "GET", "/projects/ministry-of-health").json()["description"] == "National"


def test_a_collaborator_cannot_change_settings(call, project, bob):
    response = call(bob, "PATCH", f"/projects/{project.slug}", {"concurrency": 2})

    assert response.status_code == 403
    assert "does not allow: edit settings" in response.json()["error"]
    assert Project.objects.get(pk=project.pk).concurrency == 1


def test_concurrency_over_the_plan_maximum_is_refused_saying_the_maximum(call, project, alice):
    response = call(alice, "PATCH", f"/projects/{project.slug}", {"concurrency": 11})

    assert response.status_code == 400
    assert "at most 10" in response.json()["error"]
    assert Project.objects.get(pk=project.pk).concurrency == 1


@pytest.mark.parametrize(
    "change, status, words",
    [
        # Outside the limits the OpenAPI document declares: 422, naming the field.
        ({"concurrency": 0}, 422, "concurrency: Input should be greater than or equal to 1"),
        ({"notification_threshold": 101}, 422, "notification_threshold: Input should be less than or equal"),
        ({"name": ""}, 422, "name: String should have at least 1 character"),
        ({"name": None}, 422, "name: Input should be a valid string"),
        # The project's own rules: 400.
        ({"concurrency": 11}, 400, "from 1 to 10"),
        ({"timezone": "Mars/Olympus"}, 400, "not a known time zone"),
    ],
)
def test_bad_settings_are_refused_and_nothing_changes(call, project, alice, change, status, words):
    response = call(alice, "PATCH", f"/projects/{project.slug}", {"description": "kept?", **change})

    assert response.status_code == status
    assert words in response.json()["error"]
    assert Project.objects.get(pk=project.pk).description == ""


def test_an_unknown_field_in_a_project_patch_is_named(call, project, alice):
    response = call(alice, "PATCH", f"/projects/{project.slug}", {"concurency": 3})

    assert response.status_code == 400
    assert response.json()["error"].startswith("Unknown field(s): concurency.")


def test_unknown_fields_answer_400_in_every_patch_of_the_api(call, project, alice):
    trigger = make_trigger(project)
    job = make_job(project, trigger=trigger)
    message, _runs = post_message(project, {"a": 1})
    credential_id = call(
        alice, "POST", "/credentials", {"name": "c", "type": "raw", "body": {"k": "v"}}
    ).json()["id"]

    for path in (
        f"/jobs/{job.pk}",
        f"/triggers/{trigger.pk}",
        f"/messages/{message.pk}",
        f"/credentials/{credential_id}",
    ):
        response = call(alice, "PATCH", path, {"nmae": "typo"})
        assert response.status_code == 400, (path, response.content)
        assert response.json()["error"].startswith("Unknown field(s): nmae."), path
    job.refresh_from_db()
    assert job.name == "job-1"


def test_a_member_asks_for_the_project_yaml_export_and_gets_its_id(call, project, bob):
    from kindling.exports.models import Export

    response = call(bob, "POST", f"/projects/{project.slug}/config-export", {"kind": "project.yaml"})

    assert response.status_code == 202
    export = Export.objects.get(pk=response.json()["export"])
    assert (export.project, export.requester, export.kind) == (project, bob, "project.yaml")
    assert response.json()["emailed_to"] == bob.email


def test_an_unknown_config_export_is_a_422_naming_the_kinds(call, project, alice):
    response = call(alice, "POST", f"/projects/{project.slug}/config-export", {"kind": "project.json"})

    assert response.status_code == 422 and "'project.yaml' or 'microservice.zip'" in response.json()["error"]
