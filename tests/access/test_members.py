"""User access: adding (or inviting) users, changing roles, revoking, the last administrator, in the
portal, the REST API and the CLI; every change in the audit log."""

import json
from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from kindling.accounts.models import User
from kindling.audit.models import AuditEvent
from kindling.projects.members import AccessError, add_member, change_role, remove_member
from kindling.projects.models import Membership
from tests.access.conftest import link_in
from tests.conftest import make_user


def roles(project) -> dict:
    return {m.user.email: m.role_label for m in project.memberships.select_related("user")}


def test_an_administrator_adds_an_existing_user_as_collaborator(project, alice, charlie):
    add_member(project, alice, "Charlie@Example.com", "collaborator")

    assert roles(project)["charlie@example.com"] == "collaborator"
    event = AuditEvent.objects.get(project=project)
    assert (event.actor, event.action, event.target, event.details) == (
        alice,
        "member.added",
        "charlie@example.com",
        {"role": "collaborator"},
    )


def test_an_address_without_an_account_gets_an_invitation_by_smtp_and_joins(project, alice, smtp, client):
    add_member(project, alice, "dora@example.org", "administrator")

    [(_sender, recipients, message)] = smtp
    assert recipients == ["dora@example.org"] and project.name in message["Subject"]
    path = urlsplit(link_in(message))
    assert client.get(f"{path.path}?{path.query}").status_code == 200
    token = path.query.removeprefix("token=")
    joined = client.post(
        reverse("join"),
        {"token": token, "new_password1": "a long new password", "new_password2": "a long new password"},
    )

    assert joined.status_code == 302
    dora = User.objects.get(email="dora@example.org")
    assert dora.check_password("a long new password")
    assert roles(project)["dora@example.org"] == "administrator"
    assert AuditEvent.objects.filter(
        project=project, action="member.invited", target="dora@example.org"
    ).exists()
    # The link works once.
    assert client.get(f"{path.path}?{path.query}").status_code == 400


def test_a_tampered_invitation_link_is_refused(project, alice, smtp, client):
    add_member(project, alice, "dora@example.org", "collaborator")
    token = urlsplit(link_in(smtp[0][2])).query.removeprefix("token=")

    response = client.get(reverse("join"), {"token": token[:-2] + "xx"})

    assert response.status_code == 400 and b"not valid" in response.content


@pytest.mark.parametrize("email", ["", "not-an-email", None])
def test_it_refuses_a_bad_email(project, alice, email):
    with pytest.raises(AccessError, match="not an email address"):
        add_member(project, alice, email, "collaborator")


def test_it_refuses_an_unknown_role(project, alice, charlie):
    with pytest.raises(AccessError, match="role must be one of: administrator, collaborator"):
        add_member(project, alice, "charlie@example.com", "owner")
    assert "charlie@example.com" not in roles(project)


def test_adding_a_member_twice_is_refused(project, alice, bob):
    with pytest.raises(AccessError, match="already a member") as refused:
        add_member(project, alice, "bob@example.com", "administrator")
    assert refused.value.status == 409 and roles(project)["bob@example.com"] == "collaborator"


def test_the_last_administrator_cannot_be_demoted_or_removed(project, alice, bob):
    with pytest.raises(AccessError, match="last administrator"):
        change_role(project, alice, alice.pk, "collaborator")
    with pytest.raises(AccessError, match="last administrator"):
        remove_member(project, alice, alice.pk)
    assert roles(project)["alice@example.com"] == "administrator"


def test_with_a_second_administrator_the_owner_can_step_down(project, alice, bob):
    change_role(project, alice, bob.pk, "administrator")
    change_role(project, bob, alice.pk, "collaborator")

    assert roles(project) == {"alice@example.com": "collaborator", "bob@example.com": "administrator"}
    assert list(
        AuditEvent.objects.filter(action="member.role_changed").values_list("details", flat=True)
    ) == [
        {"before": "collaborator", "after": "administrator"},
        {"before": "administrator", "after": "collaborator"},
    ]


def test_a_collaborator_cannot_manage_access(project, bob, charlie):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied, match="manage access"):
        add_member(project, bob, "charlie@example.com", "collaborator")


# The REST API


def test_the_api_lists_adds_changes_and_revokes_members(call, project, alice, bob, charlie):
    base = f"/projects/{project.slug}/members"
    added = call(alice, "POST", base, {"email": "charlie@example.com", "role": "administrator"})
    assert added.status_code == 201
    assert added.json() | {"since": None} == {
        "user_id": charlie.pk,
        "email": "charlie@example.com",
        "name": "Charlie",
        "role": "administrator",
        "owner": False,
        "invited": False,
        "since": None,
    }
    assert (
        call(alice, "PATCH", f"{base}/{charlie.pk}", {"role": "collaborator"}).json()["role"]
        == "collaborator"
    )
    assert call(alice, "DELETE", f"{base}/{bob.pk}").status_code == 204

    listed = call(alice, "GET", base).json()["items"]
    assert [(m["email"], m["role"], m["owner"]) for m in listed] == [
        ("alice@example.com", "administrator", True),
        ("charlie@example.com", "collaborator", False),
    ]


def test_the_api_answers_errors_as_json(call, project, alice, bob):
    base = f"/projects/{project.slug}/members"
    bad_role = call(alice, "POST", base, {"email": "x@example.org", "role": "owner"})
    last = call(alice, "DELETE", f"{base}/{alice.pk}")
    unknown = call(alice, "PATCH", f"{base}/999999", {"role": "collaborator"})
    collaborator = call(bob, "GET", base)

    assert (bad_role.status_code, bad_role.json()["error"]) == (
        422,
        "Invalid request: role: Input should be 'administrator' or 'collaborator'",
    )
    assert last.status_code == 409 and "last administrator" in last.json()["error"]
    assert unknown.status_code == 404 and unknown.json() == {"error": "No user 999999 in this project."}
    assert collaborator.status_code == 403
    assert collaborator.json() == {"error": "Your role in this project does not allow: manage access"}
    assert not User.objects.filter(email="x@example.org").exists()


def test_an_outsider_gets_404_from_the_members_api(call, project, charlie):
    response = call(
        charlie, "POST", f"/projects/{project.slug}/members", {"email": "c@x.org", "role": "collaborator"}
    )
    assert response.status_code == 404 and not User.objects.filter(email="c@x.org").exists()


# The portal


def test_the_access_page_lists_users_and_adds_one(client_for, project, alice, charlie):
    client = client_for(alice)
    page = client.get(reverse("project-access", args=[project.slug]))
    assert page.status_code == 200 and b"bob@example.com" in page.content

    added = client.post(
        reverse("project-access-member-add", args=[project.slug]),
        {"email": "charlie@example.com", "role": "administrator"},
    )

    assert added.status_code == 302 and roles(project)["charlie@example.com"] == "administrator"


def test_the_access_page_shows_what_was_wrong(client_for, project, alice):
    response = client_for(alice).post(
        reverse("project-access-member-add", args=[project.slug]),
        {"email": "bob@example.com", "role": "collaborator"},
    )
    assert response.status_code == 400
    assert b"bob@example.com is already a member of this project" in response.content


def test_revoking_in_the_portal_removes_access_at_once(client_for, project, alice, bob):
    client_for(alice).post(reverse("project-access-member-revoke", args=[project.slug, bob.pk]))

    assert client_for(bob).get(reverse("project-activity", args=[project.slug])).status_code == 404


def test_a_collaborator_sees_no_access_page(client_for, project, bob):
    response = client_for(bob).get(reverse("project-access", args=[project.slug]))
    assert response.status_code == 403


# The CLI


def test_the_cli_adds_lists_changes_and_removes_members(project, alice, bob, charlie):
    out = StringIO()
    call_command(
        "project",
        "members",
        "add",
        project.slug,
        "charlie@example.com",
        "--role",
        "administrator",
        stdout=out,
    )
    call_command("project", "members", "role", project.slug, "bob@example.com", "administrator", stdout=out)
    call_command("project", "members", "remove", project.slug, "charlie@example.com", stdout=out)
    listed = StringIO()
    call_command("project", "members", "list", project.slug, stdout=listed)

    assert [json.loads(line)["role"] for line in listed.getvalue().splitlines()] == [
        "administrator",
        "administrator",
    ]
    events = AuditEvent.objects.filter(project=project).order_by("id")
    assert [(e.action, e.actor_label) for e in events] == [
        ("member.added", "command line"),
        ("member.role_changed", "command line"),
        ("member.removed", "command line"),
    ]


def test_the_cli_refuses_to_remove_the_last_administrator(project, alice):
    with pytest.raises(CommandError, match="last administrator"):
        call_command("project", "members", "remove", project.slug, "alice@example.com")
    assert Membership.objects.filter(project=project, user=alice).exists()


def test_a_user_marked_as_support_from_the_cli(db):
    dora = make_user("dora@example.org")
    call_command("user", "support", "dora@example.org", stdout=StringIO())
    dora.refresh_from_db()
    assert dora.is_support


def test_an_invitation_that_cannot_be_sent_keeps_the_user_added_and_says_so(
    client_for, project, alice, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens on the discard port

    response = client_for(alice).post(
        reverse("project-access-member-add", args=[project.slug]),
        {"email": "dora@example.org", "role": "collaborator"},
        follow=True,
    )

    assert roles(project)["dora@example.org"] == "collaborator"
    assert b"The invitation email could not be sent" in response.content


def test_a_demoted_administrator_loses_the_rights_at_once(project, alice, bob):
    from django.core.exceptions import PermissionDenied

    change_role(project, alice, bob.pk, "administrator")
    change_role(project, alice, alice.pk, "collaborator")

    with pytest.raises(PermissionDenied):
        add_member(project, alice, "eve@example.org", "collaborator")
