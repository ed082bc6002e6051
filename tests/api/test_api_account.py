"""Account Settings through the REST API: profile and preferences, personal API tokens, password, email
change and account deletion. Each acts on the token's user only."""

from django.contrib.auth.hashers import check_password
from django.core import mail

from kindling.accounts import preferences, tokens
from kindling.accounts.models import ApiToken, User
from kindling.projects.models import Project
from tests.conftest import PASSWORD, make_project


def test_it_answers_your_account_with_every_preference(call, alice):
    response = call(alice, "GET", "/account")

    assert response.status_code == 200
    body = response.json()
    assert (body["email"], body["name"], body["user_number"]) == (
        "alice@example.com",
        "Alice",
        alice.user_number,
    )
    assert body["preferences"] == preferences.DEFAULTS


def test_it_opts_in_to_failure_alerts_and_renames_you(call, alice):
    response = call(alice, "PATCH", "/account", {"failure_alerts": "on", "name": "Alice B."})

    assert response.status_code == 200
    assert response.json()["preferences"]["failure_alerts"] == "on"
    alice.refresh_from_db()
    assert alice.name == "Alice B." and preferences.get(alice, "failure_alerts") == "on"


def test_a_preference_outside_its_choices_is_a_422_naming_it(call, alice):
    response = call(alice, "PATCH", "/account", {"theme": "purple"})

    assert response.status_code == 422 and "theme" in response.json()["error"]
    alice.refresh_from_db()
    assert alice.preferences == {}


def test_a_created_token_works_and_is_listed_without_its_secret(call, client, alice):
    response = call(alice, "POST", "/account/tokens", {"name": "nightly sync", "days": 30})

    assert response.status_code == 201
    created = response.json()
    assert created["token"].startswith(created["prefix"]) and created["expires_at"] is not None
    assert (
        client.get("/api/v1/account", headers={"Authorization": f"Bearer {created['token']}"}).status_code
        == 200
    )
    listed = call(alice, "GET", "/account/tokens").json()["items"]
    assert created["id"] in [item["id"] for item in listed]
    assert all("token" not in item for item in listed)


def test_a_blank_token_name_is_refused(call, alice):
    response = call(alice, "POST", "/account/tokens", {"name": "   "})

    assert response.status_code in (400, 422)
    assert not ApiToken.objects.filter(user=alice, name__startswith=" ").exists()


def test_revoking_a_token_stops_it_at_once(call, client, alice):
    row, secret = tokens.create_token(alice, "old laptop")

    response = call(alice, "DELETE", f"/account/tokens/{row.pk}")

    assert response.status_code == 204
    assert client.get("/api/v1/account", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_nobody_revokes_another_users_token(call, alice, bob):
    row, _secret = tokens.create_token(alice, "mine")

    response = call(bob, "DELETE", f"/account/tokens/{row.pk}")

    assert response.status_code == 404
    assert ApiToken.objects.filter(pk=row.pk).exists()


def test_it_changes_the_password_after_the_current_one(call, alice):
    response = call(
        alice, "POST", "/account/password", {"old_password": PASSWORD, "new_password": "a n3w phrase!"}
    )

    assert response.status_code == 204
    alice.refresh_from_db()
    assert alice.check_password("a n3w phrase!")


def test_a_wrong_current_password_or_a_weak_new_one_changes_nothing(call, alice):
    wrong = call(
        alice, "POST", "/account/password", {"old_password": "guess", "new_password": "a n3w phrase!"}
    )
    weak = call(alice, "POST", "/account/password", {"old_password": PASSWORD, "new_password": "123"})

    assert wrong.status_code == 400 and wrong.json()["error"].startswith("old_password:")
    assert weak.status_code == 400 and weak.json()["error"].startswith("new_password:")
    alice.refresh_from_db()
    assert check_password(PASSWORD, alice.password)


def test_an_email_change_waits_for_the_link_sent_to_the_new_address(call, alice):
    response = call(
        alice, "POST", "/account/email", {"new_email": "alice@new.example.org", "password": PASSWORD}
    )

    assert response.status_code == 202 and response.json() == {"emailed_to": "alice@new.example.org"}
    [sent] = mail.outbox
    assert sent.to == ["alice@new.example.org"]
    alice.refresh_from_db()
    assert alice.email == "alice@example.com"
    token = sent.body.split("token=")[1].split()[0]

    confirmed = call(alice, "POST", "/account/email/confirm", {"token": token})

    assert confirmed.status_code == 200 and confirmed.json() == {"email": "alice@new.example.org"}
    alice.refresh_from_db()
    assert alice.email == "alice@new.example.org"


def test_an_email_change_needs_the_password_and_a_free_address(call, alice, bob):
    no_password = call(
        alice, "POST", "/account/email", {"new_email": "alice@new.example.org", "password": "x"}
    )
    taken = call(alice, "POST", "/account/email", {"new_email": bob.email, "password": PASSWORD})

    assert no_password.status_code == 400 and "password" in no_password.json()["error"]
    assert taken.status_code == 400 and "Another account" in taken.json()["error"]
    assert mail.outbox == []


def test_a_bad_confirmation_token_is_a_400(call, alice):
    response = call(alice, "POST", "/account/email/confirm", {"token": "forged"})

    assert response.status_code == 400 and "not valid" in response.json()["error"]


def test_deleting_your_account_takes_the_projects_only_you_use(call, charlie):
    make_project(charlie, "Solo")

    response = call(charlie, "POST", "/account/delete", {"password": PASSWORD})

    assert response.status_code == 204
    assert not User.objects.filter(email="charlie@example.com").exists()
    assert not Project.objects.filter(name="Solo").exists()


def test_the_only_administrator_of_a_shared_project_cannot_delete_the_account(call, project, alice):
    response = call(alice, "POST", "/account/delete", {"password": PASSWORD})

    assert response.status_code == 409 and project.name in response.json()["error"]
    assert User.objects.filter(pk=alice.pk, is_active=True).exists()


def test_deleting_the_account_needs_the_password(call, charlie):
    response = call(charlie, "POST", "/account/delete", {"password": "guess"})

    assert response.status_code == 400
    assert User.objects.filter(pk=charlie.pk).exists()


def test_account_operations_need_a_token(call):
    assert call(None, "GET", "/account").status_code == 401
    assert call(None, "POST", "/account/delete", {"password": PASSWORD}).status_code == 401
