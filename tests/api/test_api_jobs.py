"""Jobs and triggers in the REST API: the same domain functions as the portal, the same refusals."""

import pytest

from kindling.jobs.models import Job, Trigger
from kindling.runs.models import Run
from tests.conftest import make_credential, make_job, make_project, make_trigger, post_message


def test_it_creates_a_job_switched_off_by_default(call, project, bob):
    credential = make_credential(bob, "dhis2", projects=[project])
    make_trigger(project, "registrations")

    response = call(
        bob,
        "POST",
        f"/projects/{project.slug}/jobs",
        {
            "name": "send",
            "trigger": "registrations",
            "adaptor": "@openfn/language-http",
            "adaptor_version": "6.4.0",
            "credential": "dhis2",
            "expression": "get('/x');",
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["trigger"], body["credential"], body["enabled"]) == (
        "send",
        "registrations",
        "dhis2",
        False,
    )
    job = Job.objects.get(name="send")
    assert (job.credential, job.adaptor_spec) == (credential, "@openfn/language-http@6.4.0")


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"name": "taken"}, "already taken"),
        ({"name": "x", "trigger": "nope"}, "No trigger named 'nope'"),
        ({"name": "x", "credential": "not-shared"}, "No credential named 'not-shared' is shared"),
        ({"name": "x", "adaptor": "left-pad"}, "is not an adaptor Kindling can run"),
    ],
)
def test_it_refuses_a_bad_job(call, project, alice, payload, error):
    make_job(project, "taken")
    make_credential(alice, "not-shared")

    response = call(alice, "POST", f"/projects/{project.slug}/jobs", payload)

    assert response.status_code == 400
    assert error in response.json()["error"]
    assert Job.objects.count() == 1


def test_a_credential_id_of_someone_elses_credential_is_not_found(call, project, alice, charlie):
    theirs = make_credential(charlie, "charlies-secret")

    response = call(
        alice, "POST", f"/projects/{project.slug}/jobs", {"name": "x", "credential_id": theirs.pk}
    )

    assert response.status_code == 400
    assert "charlies-secret" not in response.json()["error"]


@pytest.mark.parametrize(
    ("change", "field", "value"),
    [
        ({"enabled": True}, "enabled", True),
        ({"private": True}, "private", True),
        ({"archived": True}, "archived", True),
        ({"console_disabled": True}, "console_disabled", True),
        ({"name": "renamed"}, "name", "renamed"),
        ({"expression": "fn(s => s);"}, "expression", "fn(s => s);"),
    ],
)
def test_patch_changes_only_what_it_names(call, project, alice, change, field, value):
    job = make_job(project, "send", make_trigger(project), enabled=False)

    response = call(alice, "PATCH", f"/jobs/{job.pk}", change)

    assert response.status_code == 200
    assert response.json()[field] == value
    job.refresh_from_db()
    assert getattr(job, field) == value
    assert job.trigger is not None


def test_patch_removes_the_trigger_with_null(call, project, alice):
    job = make_job(project, "send", make_trigger(project))

    assert call(alice, "PATCH", f"/jobs/{job.pk}", {"trigger": None}).json()["trigger"] is None
    job.refresh_from_db()
    assert job.trigger is None


def test_patch_refuses_switching_on_an_archived_job(call, project, alice):
    job = make_job(project, enabled=False, archived=True)

    response = call(alice, "PATCH", f"/jobs/{job.pk}", {"enabled": True})

    assert response.status_code == 400
    assert "restore it" in response.json()["error"]


def test_patch_refuses_a_cycle(call, project, alice):
    a = make_job(project, "a", make_trigger(project, "in"))
    make_trigger(project, "after-a", Trigger.Kind.FLOW, upstream_job=a)

    response = call(alice, "PATCH", f"/jobs/{a.pk}", {"trigger": "after-a"})

    assert response.status_code == 400
    assert "start itself forever" in response.json()["error"]


def test_run_a_message_job_on_a_message(call, project, alice):
    job = make_job(project, trigger=make_trigger(project, criteria={"n": 1}), enabled=False)
    message, _ = post_message(project, {"n": 1})

    response = call(alice, "POST", f"/jobs/{job.pk}/run", {"message": message.pk})

    assert response.status_code == 201
    assert response.json()["message"] == message.pk
    assert Run.objects.get().initial_state == {"data": {"n": 1}}


def test_run_a_message_job_without_a_message_is_a_conflict(call, project, alice):
    job = make_job(project, trigger=make_trigger(project))

    response = call(alice, "POST", f"/jobs/{job.pk}/run")

    assert response.status_code == 409
    assert "choose the message" in response.json()["error"]


def test_run_a_cron_job_from_its_saved_state(call, project, alice):
    job = make_job(
        project,
        trigger=make_trigger(project, "c", Trigger.Kind.CRON, cron="* * * * *"),
        saved_state={"counter": 2},
    )

    response = call(alice, "POST", f"/jobs/{job.pk}/run", {})

    assert response.status_code == 201
    assert Run.objects.get().initial_state == {"counter": 2}


def test_triggers_list_create_patch_delete(call, project, alice):
    make_job(project, "send")
    slug = project.slug

    created = call(
        alice,
        "POST",
        f"/projects/{slug}/triggers",
        {"name": "reg", "kind": "message", "criteria": {"formID": "v7"}, "exclusion": '{"test": true}'},
    )
    flow = call(
        alice, "POST", f"/projects/{slug}/triggers", {"name": "after", "kind": "flow", "upstream_job": "send"}
    )
    make_job(project, "follow", Trigger.objects.get(name="after"))
    listed = call(alice, "GET", f"/projects/{slug}/triggers").json()
    patched = call(
        alice, "PATCH", f"/triggers/{created.json()['id']}", {"kind": "cron", "cron": "*/5 * * * *"}
    )
    deleted = call(alice, "DELETE", f"/triggers/{flow.json()['id']}")

    assert created.status_code == 201 and created.json()["exclusion"] == {"test": True}
    assert flow.json()["upstream_job"] == "send"
    assert [t["name"] for t in listed["items"]] == ["after", "reg"] and listed["items"][0]["jobs"] == [
        "follow"
    ]
    assert patched.status_code == 200
    assert (patched.json()["kind"], patched.json()["cron"], patched.json()["criteria"]) == (
        "cron",
        "*/5 * * * *",
        None,
    )
    assert deleted.json() == {"deleted": "after", "jobs_without_trigger": ["follow"]}
    assert Job.objects.get(name="follow").trigger is None


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"name": "t", "kind": "message", "criteria": '{"a": }'}, "invalid JSON at line 1, column 7"),
        ({"name": "t", "kind": "message", "criteria": ["a"]}, "Invalid request"),
        ({"name": "t", "kind": "message"}, "Inclusion criteria are required"),
        ({"name": "t", "kind": "cron", "cron": "* * *"}, "must have 5 fields"),
        ({"name": "t", "kind": "catch"}, "Choose the job"),
        ({"name": "t", "kind": "catch", "upstream_job": "ghost"}, "No job named 'ghost'"),
    ],
)
def test_it_refuses_a_bad_trigger(call, project, alice, payload, error):
    response = call(alice, "POST", f"/projects/{project.slug}/triggers", payload)

    assert response.status_code in (400, 422)
    assert error in response.json()["error"]
    assert not Trigger.objects.exists()


@pytest.fixture
def paths(project):
    trigger = make_trigger(project)
    job = make_job(project, trigger=trigger)
    return {"slug": project.slug, "job": job.pk, "trigger": trigger.pk}


ENDPOINTS = [
    ("GET", "/projects/{slug}/triggers", None),
    ("POST", "/projects/{slug}/triggers", {"name": "x", "kind": "cron", "cron": "* * * * *"}),
    ("POST", "/projects/{slug}/jobs", {"name": "x"}),
    ("GET", "/jobs/{job}", None),
    ("PATCH", "/jobs/{job}", {"enabled": False}),
    ("POST", "/jobs/{job}/run", {}),
    ("GET", "/triggers/{trigger}", None),
    ("PATCH", "/triggers/{trigger}", {"name": "renamed"}),
    ("DELETE", "/triggers/{trigger}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_an_outsider_gets_404_and_changes_nothing(call, charlie, paths, method, path, body):
    before = (list(Job.objects.values_list("name", "enabled")), list(Trigger.objects.values_list("name")))

    response = call(charlie, method, path.format(**paths), body)

    assert response.status_code == 404
    assert "error" in response.json()
    assert (
        list(Job.objects.values_list("name", "enabled")),
        list(Trigger.objects.values_list("name")),
    ) == before
    assert not Run.objects.exists()


def test_a_trigger_of_another_project_cannot_be_given_to_a_job(call, project, alice):
    other = make_project(alice, "Other")
    make_trigger(other, "theirs")
    job = make_job(project, "mine", trigger=None)

    response = call(alice, "PATCH", f"/jobs/{job.pk}", {"trigger": "theirs"})

    assert response.status_code == 400
    job.refresh_from_db()
    assert job.trigger is None


def test_patch_sets_and_removes_the_credential(call, project, alice):
    credential = make_credential(alice, "dhis2", projects=[project])
    job = make_job(project, "send")

    given = call(alice, "PATCH", f"/jobs/{job.pk}", {"credential_id": credential.pk}).json()
    removed = call(alice, "PATCH", f"/jobs/{job.pk}", {"credential": None}).json()

    assert (given["credential"], given["credential_id"]) == ("dhis2", credential.pk)
    assert removed["credential"] is None
    job.refresh_from_db()
    assert job.credential is None
