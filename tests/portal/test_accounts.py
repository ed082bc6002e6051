import pytest
from django.conf import settings
from django.urls import reverse

from tests.conftest import PASSWORD


def test_login_page_asks_for_email_and_password(client, db):
    response = client.get(reverse("login"))

    html = response.content.decode()
    assert response.status_code == 200
    assert ">Email</label>" in html and 'type="email"' in html
    assert ">Password</label>" in html and 'type="password"' in html


def test_it_logs_in_with_email_and_password_and_opens_the_project_list(client, alice):
    response = client.post(reverse("login"), {"username": "alice@example.com", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == reverse("project-list")
    assert client.get(reverse("project-list")).context["user"] == alice


def test_the_email_is_not_case_sensitive(client, alice):
    response = client.post(reverse("login"), {"username": "Alice@Example.COM", "password": PASSWORD})

    assert response.status_code == 302


def test_it_rejects_a_wrong_password_without_saying_which_field_was_wrong(client, alice):
    response = client.post(reverse("login"), {"username": "alice@example.com", "password": "wrong password"})

    assert response.status_code == 200
    assert "Wrong email or password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_it_returns_to_the_page_asked_for_after_login(client, project):
    activity = reverse("project-activity", args=[project.slug])

    asked = client.get(activity)
    response = client.post(
        asked["Location"], {"username": "bob@example.com", "password": PASSWORD, "next": activity}
    )

    assert response["Location"] == activity


def test_the_session_lasts_24_hours_from_login(client, alice):
    response = client.post(reverse("login"), {"username": "alice@example.com", "password": PASSWORD})

    assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 24 * 60 * 60


def test_logout_is_a_post_that_ends_the_session(client, alice):
    client.force_login(alice)

    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert client.get(reverse("project-list")).status_code == 302


def test_a_logged_in_user_who_opens_login_goes_to_the_project_list(client, alice):
    client.force_login(alice)

    response = client.get(reverse("login"))

    assert response.status_code == 302
    assert response["Location"] == reverse("project-list")


def change_password(client, old, new, again=None):
    fields = {"old_password": old, "new_password1": new, "new_password2": again or new}
    return client.post(reverse("account-password"), fields)


def test_a_password_is_changed_on_the_account_settings_page_and_other_sessions_end(client_for, alice):
    here, elsewhere = client_for(alice), client_for(alice)
    assert "Change Password" in here.get(reverse("account-settings")).content.decode()

    response = change_password(here, PASSWORD, "a brand new secret")

    assert response.status_code == 302 and response["Location"] == reverse("account-settings")
    alice.refresh_from_db()
    assert alice.check_password("a brand new secret")
    assert here.get(reverse("project-list")).status_code == 200  # this session stays
    assert elsewhere.get(reverse("project-list")).status_code == 302  # the others are logged out


@pytest.mark.parametrize(
    ("old", "new", "again", "error"),
    [
        ("wrong password", "a brand new secret", None, "Your old password was entered incorrectly"),
        (PASSWORD, "a brand new secret", "something else", "didn’t match"),
        (PASSWORD, "short", None, "at least 8 characters"),
    ],
    ids=["wrong-old", "mismatch", "too-short"],
)
def test_a_bad_password_change_is_refused_with_the_reason(client_for, alice, old, new, again, error):
    response = change_password(client_for(alice), old, new, again)

    assert response.status_code == 400
    assert error in response.content.decode()
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_changing_a_password_needs_a_login(client, alice):
    response = change_password(client, PASSWORD, "a brand new secret")

    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
