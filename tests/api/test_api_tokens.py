"""The REST API refuses expired and revoked tokens with 401 and says why."""

from datetime import timedelta

from django.utils import timezone

from kindling.accounts import tokens
from kindling.accounts.models import ApiToken


def get_projects(client, secret):
    return client.get("/api/v1/projects", headers={"Authorization": f"Bearer {secret}"})


def test_an_expired_token_answers_401_saying_it_expired(client, alice):
    row, secret = tokens.create_token(alice, "nightly sync", days=30)
    assert get_projects(client, secret).status_code == 200
    ApiToken.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    response = get_projects(client, secret)

    assert response.status_code == 401
    error = response.json()["error"]
    assert "This API token (nightly sync) expired on" in error and "create a new one" in error


def test_a_revoked_token_answers_401(client, alice):
    row, secret = tokens.create_token(alice, "gone")
    tokens.revoke_token(alice, row.pk)

    response = get_projects(client, secret)

    assert response.status_code == 401
    assert "Bearer" in response.json()["error"]


def test_using_a_token_records_when_it_was_last_used(client, alice):
    row, secret = tokens.create_token(alice, "script")
    get_projects(client, secret)
    row.refresh_from_db()
    assert timezone.now() - row.last_used_at < timedelta(seconds=10)
