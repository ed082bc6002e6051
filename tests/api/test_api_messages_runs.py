"""Messages (edit, process, filters) and runs (filters, reprocess, abort) in the REST API."""

from datetime import timedelta

import pytest
from django.utils import timezone

from kindling.inbox.models import Message
from kindling.projects.models import Membership
from kindling.runs.models import Run
from tests.conftest import make_job, make_trigger, post_message
from tests.portal.conftest import make_run


def test_patch_replaces_a_message_body(call, project, bob):
    message, _ = post_message(project, {"name": "Jak"})

    response = call(bob, "PATCH", f"/messages/{message.pk}", {"body": {"name": "Jack"}})

    assert response.status_code == 200 and response.json()["body"] == {"name": "Jack"}
    message.refresh_from_db()
    assert message.body == {"name": "Jack"}


@pytest.mark.parametrize("body", [{"body": None}, {"body": {"a": "nul\u0000"}}])
def test_patch_refuses_a_body_that_cannot_be_stored(call, project, alice, body):
    message, _ = post_message(project, {"name": "Jak"})

    response = call(alice, "PATCH", f"/messages/{message.pk}", body)

    assert response.status_code == 400
    message.refresh_from_db()
    assert message.body == {"name": "Jak"}


def test_process_runs_the_message_against_the_current_triggers(call, project, alice):
    message, _ = post_message(project, {"number": 2})
    make_job(project, "double", make_trigger(project, criteria={"number": 2}))

    response = call(alice, "POST", f"/messages/{message.pk}/process")

    assert [run["job"] for run in response.json()["runs"]] == ["double"]
    assert Run.objects.get().message == message


def test_messages_filter_by_text_trigger_state_and_time(call, project, alice):
    make_trigger(project, "v7", criteria={"formID": "v7"})
    india, _ = post_message(project, {"formID": "v7", "country": "India"})
    kenya, _ = post_message(project, {"formID": "v8", "country": "Kenya"})
    old, _ = post_message(project, {"formID": "v7", "country": "Kenya"})
    Message.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(days=400))
    make_run(make_job(project, "j"), message=kenya, status=Run.Status.FAILED, exit_code=1)
    path = f"/projects/{project.slug}/messages"

    def ids(**params):
        return [m["id"] for m in call(alice, "GET", path, **params).json()["items"]]

    assert ids(q="india") == [india.pk]
    assert ids(trigger="v7") == [india.pk, old.pk]
    assert ids(state="failed") == [kenya.pk]
    assert ids(since=(timezone.now() - timedelta(days=1)).isoformat()) == [kenya.pk, india.pk]
    assert call(alice, "GET", path, trigger="ghost").status_code == 400
    assert call(alice, "GET", path, state="bogus").status_code == 422  # not one of the declared enum


def test_runs_filter_by_log_text_and_time(call, project, alice):
    job = make_job(project)
    refused = make_run(job, logs=[("R/T", "error", "ECONNREFUSED")])
    old = make_run(
        job, logs=[("R/T", "error", "econnrefused again")], created_at=timezone.now() - timedelta(days=90)
    )
    path = f"/projects/{project.slug}/runs"

    assert [r["id"] for r in call(alice, "GET", path, q="EconnRefused").json()["items"]] == [
        refused.pk,
        old.pk,
    ]
    recent = call(
        alice, "GET", path, q="econnrefused", since=(timezone.now() - timedelta(days=1)).isoformat()
    )
    assert [r["id"] for r in recent.json()["items"]] == [refused.pk]


def test_reprocess_a_run(call, project, bob):
    job = make_job(
        project, trigger=make_trigger(project, "c", "cron", cron="* * * * *"), saved_state={"n": 1}
    )
    run = make_run(job, cause=Run.Cause.CRON)

    response = call(bob, "POST", f"/runs/{run.pk}/reprocess")

    assert response.status_code == 201
    new = Run.objects.get(pk=response.json()["id"])
    assert (new.job, new.initial_state, new.status) == (job, {"n": 1}, "pending")


def test_reprocess_refuses_an_archived_job(call, project, alice):
    run = make_run(make_job(project, archived=True))

    response = call(alice, "POST", f"/runs/{run.pk}/reprocess")

    assert response.status_code == 409 and "archived" in response.json()["error"]


def test_owners_and_admins_abort_collaborators_cannot(call, project, alice, bob):
    job = make_job(project)
    first, second = make_run(job, status=Run.Status.PENDING), make_run(job, status=Run.Status.PENDING)

    refused = call(bob, "POST", f"/runs/{first.pk}/abort")
    aborted = call(alice, "POST", f"/runs/{first.pk}/abort")
    Membership.objects.filter(user=bob).update(role=Membership.Role.ADMIN)
    by_admin = call(bob, "POST", f"/runs/{second.pk}/abort")
    again = call(alice, "POST", f"/runs/{first.pk}/abort")

    assert refused.status_code == 403
    assert aborted.status_code == 200 and (aborted.json()["status"], aborted.json()["exit_code"]) == (
        "aborted",
        6,
    )
    assert by_admin.status_code == 200
    assert again.status_code == 409 and "already ended" in again.json()["error"]


@pytest.fixture
def paths(project):
    job = make_job(project, trigger=make_trigger(project))
    message, _ = post_message(project, {"n": 1})
    run = make_run(job, message=message, status=Run.Status.PENDING)
    return {"message": message.pk, "run": run.pk}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/messages/{message}", None),
        ("PATCH", "/messages/{message}", {"body": {"x": 1}}),
        ("POST", "/messages/{message}/process", None),
        ("POST", "/runs/{run}/reprocess", None),
        ("POST", "/runs/{run}/abort", None),
    ],
)
def test_an_outsider_gets_404_and_changes_nothing(call, charlie, paths, method, path, body):
    before = (list(Message.objects.values_list("pk", "body")), list(Run.objects.values_list("pk", "status")))

    response = call(charlie, method, path.format(**paths), body)

    assert response.status_code == 404 and "error" in response.json()
    assert (
        list(Message.objects.values_list("pk", "body")),
        list(Run.objects.values_list("pk", "status")),
    ) == before


def test_a_member_posts_a_message_into_the_inbox_and_it_starts_the_matching_jobs(call, project, bob):
    make_job(project, "register", trigger=make_trigger(project, criteria={"form": "reg"}), enabled=True)

    response = call(bob, "POST", f"/projects/{project.slug}/messages", {"body": {"form": "reg"}})

    assert response.status_code == 201
    posted = response.json()
    assert posted["body"] == {"form": "reg"} and posted["headers"]["x-kindling-posted-by"] == bob.email
    assert [run["job"] for run in posted["runs"]] == ["register"]
    assert Message.objects.get(pk=posted["id"]).project == project


def test_posting_a_null_message_is_refused_and_nothing_is_stored(call, project, alice):
    response = call(alice, "POST", f"/projects/{project.slug}/messages", {"body": None})

    assert response.status_code == 400 and "null cannot be stored" in response.json()["error"]
    assert not Message.objects.exists()
