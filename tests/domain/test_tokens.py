"""Personal API tokens: names, expiry, the last-used time, and `kindling token list|revoke`."""

from datetime import timedelta
from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kindling.accounts import tokens
from kindling.accounts.models import ApiToken, TokenExpired


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_a_token_gets_a_name_and_an_expiry(alice):
    row, secret = tokens.create_token(alice, "  nightly sync ", days=30)

    assert row.name == "nightly sync"
    assert timedelta(days=30) - timedelta(minutes=1) < row.expires_at - timezone.now() <= timedelta(days=30)
    assert ApiToken.user_for(secret) == alice


@pytest.mark.parametrize(
    "name, days, error",
    [("", None, "Give the token a name"), ("x" * 101, None, "at most 100"), ("ok", 0, "1 to 3650 days")],
)
def test_a_token_needs_a_name_and_a_sensible_lifetime(alice, name, days, error):
    with pytest.raises(tokens.TokenError, match=error):
        tokens.create_token(alice, name, days)
    assert not ApiToken.objects.exists()


def test_an_expired_token_is_refused_saying_so(alice):
    row, secret = tokens.create_token(alice, "old", days=1)
    ApiToken.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    with pytest.raises(TokenExpired, match=r"This API token \(old\) expired on .* UTC"):
        ApiToken.user_for(secret)


def test_the_last_used_time_is_written_at_most_once_a_minute(alice):
    row, secret = tokens.create_token(alice, "busy")

    with CaptureQueriesContext(connection) as first:
        ApiToken.user_for(secret)
    with CaptureQueriesContext(connection) as second:
        for _ in range(10):
            ApiToken.user_for(secret)
    used = ApiToken.objects.get().last_used_at

    assert sum(q["sql"].startswith("UPDATE") for q in first.captured_queries) == 1
    assert not any(q["sql"].startswith("UPDATE") for q in second.captured_queries)
    with mock.patch("kindling.accounts.models.timezone.now", return_value=used + timedelta(seconds=61)):
        ApiToken.user_for(secret)
    assert ApiToken.objects.get().last_used_at == used + timedelta(seconds=61)


def test_a_revoked_token_stops_working(alice):
    row, secret = tokens.create_token(alice, "gone")
    tokens.revoke_token(alice, row.pk)
    assert ApiToken.user_for(secret) is None


def test_nobody_revokes_another_users_token(alice, bob):
    row, secret = tokens.create_token(alice, "mine")
    with pytest.raises(tokens.TokenError, match=f"no API token with id {row.pk}"):
        tokens.revoke_token(bob, row.pk)
    assert ApiToken.user_for(secret) == alice


# kindling token create|list|revoke


def test_token_create_takes_a_name_and_days(alice):
    secret = run("token", "create", "--email", "alice@example.com", "--name", "ci", "--days", "7").strip()
    row = ApiToken.objects.get()
    assert (row.name, row.expires_at.date()) == ("ci", (timezone.now() + timedelta(days=7)).date())
    assert ApiToken.user_for(secret) == alice


def test_token_list_shows_the_users_tokens_without_their_secrets(alice, bob):
    _, secret = tokens.create_token(alice, "nightly sync", days=30)
    used, _ = tokens.create_token(alice, "dashboard")
    ApiToken.objects.filter(pk=used.pk).update(last_used_at=timezone.now())
    tokens.create_token(bob, "bobs token")

    output = run("token", "list", "--email", "alice@example.com")

    header, *lines = output.splitlines()
    assert header.split() == ["ID", "NAME", "TOKEN", "CREATED", "LAST", "USED", "EXPIRES"]
    assert len(lines) == 2 and "dashboard" in lines[0] and "nightly sync" in lines[1]
    assert secret[:12] + "..." in lines[1] and secret not in output
    assert lines[1].split()[-1] != "never" and lines[0].rstrip().endswith("never")
    assert "bobs token" not in output


def test_token_list_marks_expired_tokens(alice):
    row, _ = tokens.create_token(alice, "old", days=1)
    ApiToken.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(days=1))
    assert run("token", "list", "--email", "alice@example.com").splitlines()[1].endswith("(expired)")


def test_token_revoke_deletes_one_token(alice):
    row, secret = tokens.create_token(alice, "gone")
    kept, _ = tokens.create_token(alice, "kept")

    output = run("token", "revoke", "--email", "alice@example.com", str(row.pk))

    assert output == f"revoked token {row.pk} (gone, {row.prefix}...)\n"
    assert list(ApiToken.objects.all()) == [kept]


def test_token_revoke_refuses_another_users_token(alice, bob):
    row, _ = tokens.create_token(alice, "mine")
    with pytest.raises(CommandError, match=f"You have no API token with id {row.pk}"):
        run("token", "revoke", "--email", "bob@example.com", str(row.pk))
    assert ApiToken.objects.filter(pk=row.pk).exists()
