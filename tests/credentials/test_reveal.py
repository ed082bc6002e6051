"""Revealing a Raw JSON credential's values: only its owner, only after typing their password again, and
recorded (without a value in the record); everyone else keeps seeing masks or nothing at all."""

import logging

import pytest
from django.urls import reverse

from kindling.credentials.schemas import MASK
from tests.conftest import PASSWORD, make_credential
from tests.credentials.conftest import EXAMPLE_ADAPTOR

BODY = {"username": "ada@example.org", "url": "https://dhis2.example.org", "password": "pw-42-secret"}


@pytest.fixture
def raw(alice, project):
    return make_credential(alice, "dhis2-raw", body=BODY, projects=[project])


def reveal(client, credential, password):
    return client.post(reverse("credential-reveal", args=[credential.pk]), {"password": password})


def test_the_owner_sees_the_values_after_typing_the_password_and_it_is_logged(client_for, alice, raw, caplog):
    with caplog.at_level(logging.INFO, logger="kindling.credentials.reveal"):
        response = reveal(client_for(alice), raw, PASSWORD)

    html = response.content.decode()
    assert response.status_code == 200
    assert "ada@example.org" in html and "https://dhis2.example.org" in html and "pw-42-secret" in html
    assert "no-store" in response["Cache-Control"]
    assert [r.getMessage() for r in caplog.records if r.name == "kindling.credentials.reveal"] == [
        f"credential {raw.pk} ('dhis2-raw') revealed to its owner alice@example.com"
    ]


def test_without_the_reveal_every_raw_value_stays_masked(client_for, alice, raw):
    html = client_for(alice).get(reverse("credential-detail", args=[raw.pk])).content.decode()

    assert "ada@example.org" not in html and "pw-42-secret" not in html
    assert MASK in html and "Reveal values" in html


def test_a_wrong_password_keeps_the_values_masked_and_is_logged(client_for, alice, raw, caplog):
    with caplog.at_level(logging.INFO, logger="kindling.credentials.reveal"):
        response = reveal(client_for(alice), raw, "not my password")

    html = response.content.decode()
    assert response.status_code == 400
    assert "That is not your password" in html
    assert "ada@example.org" not in html and "pw-42-secret" not in html
    assert [
        (r.levelname, r.getMessage()) for r in caplog.records if r.name == "kindling.credentials.reveal"
    ] == [("WARNING", f"credential {raw.pk} ('dhis2-raw'): reveal refused to alice@example.com")]


def test_a_member_of_a_project_it_is_shared_with_cannot_reveal(client_for, bob, raw):
    response = reveal(client_for(bob), raw, PASSWORD)

    assert response.status_code == 403 and b"pw-42-secret" not in response.content


def test_an_outsider_gets_404(client_for, charlie, raw):
    response = reveal(client_for(charlie), raw, PASSWORD)

    assert response.status_code == 404 and b"pw-42-secret" not in response.content


def test_a_typed_credential_is_not_revealed_here(client_for, alice, adaptors):
    typed = make_credential(
        alice, "typed", body={"username": "ada", "password": "pw-1", "baseUrl": "https://x.org"}
    )
    typed.schema = EXAMPLE_ADAPTOR
    typed.save()

    response = reveal(client_for(alice), typed, PASSWORD)

    assert response.status_code == 400 and b"Only a Raw JSON credential" in response.content
    assert b"pw-1" not in response.content


def test_saving_the_revealed_form_keeps_the_values(client_for, alice, raw):
    client = client_for(alice)
    html = reveal(client, raw, PASSWORD).content.decode()
    assert "https://dhis2.example.org" in html

    client.post(
        reverse("credential-detail", args=[raw.pk]),
        {
            "name": "dhis2-raw",
            "body": '{"username": "ada@example.org", "url": "https://new.example.org", '
            '"password": "pw-42-secret"}',
        },
    )

    raw.refresh_from_db()
    assert raw.body == {**BODY, "url": "https://new.example.org"}
