"""Lost password: Recover Password emails a recovery token; the token and a new password reset it."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from kindling.accounts import recovery
from tests.conftest import PASSWORD

NEW_PASSWORD = "a brand new secret"


def token_in(message) -> str:
    return re.search(r"^    (\S+)$", message.body, re.MULTILINE).group(1)


def reset(client, token, password=NEW_PASSWORD, again=None):
    return client.post(
        reverse("password-reset"),
        {"token": token, "new_password1": password, "new_password2": again or password},
    )


def test_the_login_page_links_to_password_recovery(client, db):
    html = client.get(reverse("login")).content.decode()
    assert f'href="{reverse("password-recover")}"' in html and "Lost your password?" in html


def test_recover_password_emails_a_token_that_resets_the_password(client, alice):
    response = client.post(reverse("password-recover"), {"email": "Alice@Example.com"})

    assert response.status_code == 302 and response["Location"] == reverse("password-reset")
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert message.subject == "Your Kindling recovery token"
    token = token_in(message)
    assert f"{reverse('password-reset')}?token={token}" in message.body

    # The link in the email fills the token in.
    page = client.get(reverse("password-reset"), {"token": token}).content.decode()
    assert f'value="{token}"' in page

    response = reset(client, token)
    assert response.status_code == 302 and response["Location"] == reverse("login")
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD) and not alice.check_password(PASSWORD)
    logged_in = client.post(reverse("login"), {"username": "alice@example.com", "password": NEW_PASSWORD})
    assert logged_in.status_code == 302


def test_an_unknown_address_gets_the_same_answer_and_no_email(client, alice):
    known = client.post(reverse("password-recover"), {"email": "alice@example.com"}, follow=True)
    unknown = client.post(reverse("password-recover"), {"email": "nobody@example.com"}, follow=True)

    assert len(mail.outbox) == 1
    texts = [
        re.sub(
            r'"X-CSRFToken": "\w+"|name="csrfmiddlewaretoken" value="\w+"|[\w.]+@example\.com',
            "X",
            r.content.decode(),
        )
        for r in (known, unknown)
    ]
    assert texts[0] == texts[1]
    assert "If X is the email of a Kindling account, a recovery token is on its way" in texts[1]


def test_a_token_works_once_and_ends_every_session_of_the_account(client_for, client, alice):
    elsewhere = client_for(alice)
    token = recovery.make_token(alice)

    assert reset(client, token).status_code == 302
    assert elsewhere.get(reverse("project-list")).status_code == 302  # logged out: back to login

    again = reset(client, token, password="yet another one")
    assert again.status_code == 400
    assert "This recovery token is not valid" in again.content.decode()
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)


@pytest.mark.parametrize(
    "token",
    ["", "nonsense", "MQ.abc-def", "999.zzz", "!!.??"],
    ids=["empty", "junk", "forged", "nobody", "bad"],
)
def test_a_bad_token_is_refused_and_changes_nothing(client, alice, token):
    response = reset(client, token)

    assert response.status_code == 400
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_a_token_of_a_deactivated_account_is_refused(client, alice):
    token = recovery.make_token(alice)
    alice.is_active = False
    alice.save()

    assert reset(client, token).status_code == 400
    assert recovery.send_recovery("alice@example.com") is False


@pytest.mark.parametrize(
    ("password", "again", "error"),
    [
        ("short", None, "at least 8 characters"),
        (NEW_PASSWORD, "something else", "didn’t match"),
    ],
)
def test_the_new_password_must_be_valid_and_typed_twice_alike(client, alice, password, again, error):
    response = reset(client, recovery.make_token(alice), password=password, again=again)

    assert response.status_code == 400
    assert error in response.content.decode()
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_a_malformed_email_is_refused(client, db):
    response = client.post(reverse("password-recover"), {"email": "not an email"})

    assert response.status_code == 400
    assert "Enter a valid email address" in response.content.decode()
    assert mail.outbox == []
