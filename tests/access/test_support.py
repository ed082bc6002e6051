"""Support access: an administrator's toggle; instance staff marked as support then open the project as
an administrator would, and every request they make there is in the audit log."""

import pytest
from django.urls import reverse

from kindling.audit.models import AuditEvent
from kindling.projects.members import set_support_access
from tests.conftest import make_job, make_user


@pytest.fixture
def sam(db):
    return make_user("sam@kindling.example", is_support=True)


def test_without_the_grant_support_staff_get_404(client_for, project, sam):
    assert client_for(sam).get(reverse("project-activity", args=[project.slug])).status_code == 404


def test_with_the_grant_support_staff_act_as_an_administrator_and_it_is_recorded(
    client_for, project, alice, sam
):
    client_for(alice).post(reverse("project-access-support", args=[project.slug]), {"support_access": "on"})
    job = make_job(project, enabled=False)
    client = client_for(sam)

    listed = client.get(reverse("project-list"))
    access = client.get(reverse("project-access", args=[project.slug]))
    switched = client.post(reverse("job-set-enabled", args=[project.slug, job.pk]), {"enabled": "on"})

    assert project.name.encode() in listed.content
    assert access.status_code == 200 and switched.status_code == 302
    job.refresh_from_db()
    assert job.enabled
    support = AuditEvent.objects.filter(project=project, via_support=True).order_by("id")
    assert [(e.action, e.details.get("method"), e.details.get("status")) for e in support] == [
        ("support.request", "GET", 200),
        ("job.switched_on", None, None),
        ("support.request", "POST", 302),
    ]
    assert AuditEvent.objects.filter(project=project, action="support_access.granted", actor=alice).exists()


def test_support_requests_through_the_api_are_recorded(call, project, alice, sam):
    set_support_access(project, alice, True)

    response = call(sam, "GET", f"/projects/{project.slug}/members")

    assert response.status_code == 200
    event = AuditEvent.objects.get(project=project, action="support.request")
    assert (event.actor, event.target, event.via_support) == (
        sam,
        f"/api/v1/projects/{project.slug}/members",
        True,
    )


def test_revoking_the_grant_shuts_support_out(client_for, project, alice, sam):
    set_support_access(project, alice, True)
    set_support_access(project, alice, False)
    assert client_for(sam).get(reverse("project-activity", args=[project.slug])).status_code == 404


def test_users_not_marked_as_support_never_benefit(client_for, project, alice, charlie):
    set_support_access(project, alice, True)
    assert client_for(charlie).get(reverse("project-activity", args=[project.slug])).status_code == 404


def test_a_collaborator_cannot_grant_support_access(client_for, project, bob):
    response = client_for(bob).post(
        reverse("project-access-support", args=[project.slug]), {"support_access": "on"}
    )
    project.refresh_from_db()
    assert response.status_code == 403 and not project.support_access


def test_support_requests_to_objects_addressed_by_id_are_recorded(call, project, alice, sam):
    set_support_access(project, alice, True)
    job = make_job(project)

    response = call(sam, "GET", f"/jobs/{job.pk}")

    assert response.status_code == 200
    event = AuditEvent.objects.get(project=project, action="support.request")
    assert (event.target, event.details) == (f"/api/v1/jobs/{job.pk}", {"method": "GET", "status": 200})


def test_an_administrator_grants_then_revokes_support_access_through_the_api(call, project, alice, sam):
    granted = call(alice, "PUT", f"/projects/{project.slug}/support-access", {"enabled": True})
    assert granted.status_code == 200 and granted.json()["support_access"] is True
    assert call(sam, "GET", f"/projects/{project.slug}/members").status_code == 200

    revoked = call(alice, "PUT", f"/projects/{project.slug}/support-access", {"enabled": False})

    assert revoked.status_code == 200 and revoked.json()["support_access"] is False
    assert call(sam, "GET", f"/projects/{project.slug}/members").status_code == 404
    actions = AuditEvent.objects.filter(project=project, action__startswith="support_access.")
    assert sorted(actions.values_list("action", flat=True)) == [
        "support_access.granted",
        "support_access.revoked",
    ]


def test_a_collaborator_cannot_grant_support_access_through_the_api(call, project, bob):
    response = call(bob, "PUT", f"/projects/{project.slug}/support-access", {"enabled": True})

    assert response.status_code == 403 and "manage access" in response.json()["error"]
    project.refresh_from_db()
    assert project.support_access is False
