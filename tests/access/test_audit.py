"""The audit log: append-only, recorded by the domain functions (jobs, credentials, access), shown to
administrators on the Audit page and in the API with filters; never a secret."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from kindling.audit.log import record
from kindling.audit.models import AppendOnly, AuditEvent
from kindling.credentials.sharing import set_projects
from kindling.credentials.transfer import transfer
from kindling.jobs import editing
from tests.conftest import make_credential, make_job, make_project


def actions(project) -> list[tuple[str, str, str]]:
    return list(
        AuditEvent.objects.filter(project=project)
        .order_by("id")
        .values_list("actor_email", "action", "target")
    )


def test_events_cannot_be_changed_or_deleted(project, alice):
    event = record(project, alice, "member.added", "x@example.org")

    with pytest.raises(AppendOnly):
        event.save()
    with pytest.raises(AppendOnly):
        event.delete()
    with pytest.raises(AppendOnly):
        AuditEvent.objects.filter(pk=event.pk).update(action="nothing")
    with pytest.raises(AppendOnly):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get().action == "member.added"


def test_record_drops_anything_named_like_a_secret(project, alice):
    event = record(
        project,
        alice,
        "settings.changed",
        "x",
        password="hunter2",
        api_key="k",
        fields=["name"],
        nested={"token": "t", "ok": 1},
    )
    assert event.details == {"fields": ["name"], "nested": {"ok": 1}}


def test_job_edits_switches_and_archiving_are_recorded(project, alice, bob):
    job = editing.create_job(project, bob, name="intake", expression="fn(s => s);")
    editing.update_job(job, bob, expression="fn(s => ({...s, ok: true}));")
    editing.set_enabled(job, True, bob)
    editing.set_enabled(job, False, alice)
    editing.archive_job(job, alice)
    editing.restore_job(job, alice)
    editing.update_job(job, alice, expression=job.expression)  # no change, no event

    assert actions(project) == [
        ("bob@example.com", "job.created", "intake"),
        ("bob@example.com", "job.edited", "intake"),
        ("bob@example.com", "job.switched_on", "intake"),
        ("alice@example.com", "job.switched_off", "intake"),
        ("alice@example.com", "job.archived", "intake"),
        ("alice@example.com", "job.restored", "intake"),
    ]
    assert AuditEvent.objects.get(action="job.edited").details == {"fields": ["expression"]}


def test_the_portal_switch_records_who_switched(client_for, project, bob):
    job = make_job(project, enabled=False)
    client_for(bob).post(reverse("job-set-enabled", args=[project.slug, job.pk]), {"enabled": "on"})
    assert actions(project) == [("bob@example.com", "job.switched_on", "job-1")]


def test_sharing_revoking_and_transferring_a_credential_are_recorded(project, alice, bob):
    other = make_project(alice, name="Other")
    credential = make_credential(alice, name="dhis2", projects=[project])
    set_projects(credential, alice, [other])
    transfer(credential, alice, "bob@example.com", bob.user_number)

    assert actions(project) == [("alice@example.com", "credential.unshared", "dhis2")]
    assert actions(other) == [
        ("alice@example.com", "credential.shared", "dhis2"),
        ("alice@example.com", "credential.transferred", "dhis2"),
    ]
    assert "shhh-secret" not in json.dumps(list(AuditEvent.objects.values_list("details", flat=True)))


# The Audit page and the API


@pytest.fixture
def history(project, alice, bob):
    record(project, alice, "member.added", "carol@example.org", role="collaborator")
    record(project, bob, "job.edited", "intake", fields=["expression"])
    record(project, alice, "inbox_auth.added", "survey tool", type="api_key")
    return project


def test_the_audit_page_shows_events_newest_first(client_for, history, alice):
    response = client_for(alice).get(reverse("project-audit", args=[history.slug]))
    html = response.content.decode()

    assert response.status_code == 200
    assert html.index("Inbox auth method added") < html.index("Job edited") < html.index("User added")
    assert "survey tool" in html and "type: api_key" in html


def test_the_audit_page_filters_by_action_and_actor(client_for, history, alice):
    client = client_for(alice)
    by_action = client.get(
        reverse("project-audit", args=[history.slug]), {"action": "job.edited"}
    ).content.decode()
    by_actor = client.get(reverse("project-audit", args=[history.slug]), {"actor": "bob@"}).content.decode()

    assert "intake" in by_action and "carol@example.org" not in by_action
    assert "intake" in by_actor and "survey tool" not in by_actor


def test_the_audit_page_says_what_is_wrong_with_a_date(client_for, history, alice):
    response = client_for(alice).get(reverse("project-audit", args=[history.slug]), {"since": "yesterday"})
    assert response.status_code == 400 and b"is not a date: use YYYY-MM-DD" in response.content


def test_the_audit_page_is_for_administrators(client_for, history, bob, charlie):
    url = reverse("project-audit", args=[history.slug])
    assert client_for(bob).get(url).status_code == 403
    assert client_for(charlie).get(url).status_code == 404


def test_the_api_lists_and_filters_the_audit_log(call, history, alice, bob, charlie):
    path = f"/projects/{history.slug}/audit"
    everything = call(alice, "GET", path).json()
    today = timezone.localdate().isoformat()
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()

    assert everything["count"] == 3
    assert [e["action"] for e in everything["items"]] == ["inbox_auth.added", "job.edited", "member.added"]
    assert everything["items"][1] | {"at": None, "id": None} == {
        "id": None,
        "at": None,
        "actor": "bob@example.com",
        "via_support": False,
        "action": "job.edited",
        "label": "Job edited",
        "target": "intake",
        "details": {"fields": ["expression"]},
    }
    assert call(alice, "GET", path, action="member.added").json()["count"] == 1
    assert call(alice, "GET", path, since=today, until=today).json()["count"] == 3
    assert call(alice, "GET", path, since=tomorrow).json()["count"] == 0
    assert call(alice, "GET", path, until="2026-13-01").status_code == 400
    assert call(bob, "GET", path).status_code == 403
    assert call(charlie, "GET", path).status_code == 404


def test_the_audit_pages_keep_the_filters(client_for, project, alice):
    for n in range(55):
        record(project, alice, "job.edited", f"job-{n}")
    html = (
        client_for(alice)
        .get(reverse("project-audit", args=[project.slug]), {"action": "job.edited"})
        .content.decode()
    )
    assert "?action=job.edited&amp;page=2" in html
