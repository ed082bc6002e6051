"""Failed logins and recovery emails are throttled per address and per account, in the database."""

from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kindling.accounts import throttle
from kindling.accounts.models import Throttle
from tests.conftest import PASSWORD

ATTACKER = "203.0.113.7"
OWNER = "198.51.100.20"


def log_in(email, password, address=ATTACKER, client=None):
    client = client or Client()
    return client.post(reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=address)


def recover(email, address=ATTACKER):
    return Client().post(reverse("password-recover"), {"email": email}, REMOTE_ADDR=address)


def later(moment):
    """Pretend the clock stands at `moment` while the throttle reads it."""
    return mock.patch("kindling.accounts.throttle.timezone.now", return_value=moment)


def test_100_wrong_passwords_in_a_row_are_not_all_answered(alice):
    statuses = [log_in("alice@example.com", f"guess {n}").status_code for n in range(100)]

    # Five free tries, then the account is locked: the rest are refused without checking the password.
    assert statuses[:6] == [200] * 6
    assert set(statuses[6:]) == {429}
    refused = log_in("alice@example.com", "guess 101")
    assert "Too many failed logins for this account" in refused.content.decode()
    assert 1 <= int(refused["Retry-After"]) <= 30


def test_the_right_password_is_refused_while_the_account_is_locked(alice):
    for n in range(6):
        log_in("alice@example.com", f"guess {n}")

    client = Client()
    response = log_in("alice@example.com", PASSWORD, client=client)

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_each_failure_past_the_free_ones_locks_for_twice_as_long(alice):
    for n in range(6):
        log_in("alice@example.com", f"guess {n}")
    row = Throttle.objects.get(key="login-account:alice@example.com")
    assert row.blocked_until - row.last_at == timedelta(seconds=30)

    with later(row.blocked_until + timedelta(seconds=1)):
        assert log_in("alice@example.com", "guess 7").status_code == 200
    row.refresh_from_db()
    assert row.blocked_until - row.last_at == timedelta(seconds=60)

    with later(row.blocked_until + timedelta(seconds=1)):
        assert log_in("alice@example.com", "guess 8").status_code == 200
    row.refresh_from_db()
    assert row.blocked_until - row.last_at == timedelta(seconds=120)


def test_the_lock_is_kept_in_the_database_for_every_web_process(alice):
    for n in range(6):
        log_in("alice@example.com", f"guess {n}")

    # A new client, as on another web process: nothing is held in the process that counted.
    assert log_in("alice@example.com", "guess 7", client=Client()).status_code == 429
    assert Throttle.objects.filter(key="login-account:alice@example.com", count=6).exists()


def test_one_address_is_locked_after_failing_on_many_accounts(alice, bob):
    for n in range(11):
        log_in(f"stranger{n}@example.com", "guess")

    response = log_in("alice@example.com", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed logins from your network address" in response.content.decode()
    # Other addresses are not held back by it.
    assert log_in("bob@example.com", PASSWORD, address=OWNER).status_code == 302


def test_the_owner_logs_in_from_their_usual_address_while_a_stranger_is_locked_out(alice):
    assert log_in("alice@example.com", PASSWORD, address=OWNER).status_code == 302
    for n in range(20):
        log_in("alice@example.com", f"guess {n}")
    assert log_in("alice@example.com", PASSWORD).status_code == 429

    assert log_in("alice@example.com", PASSWORD, address=OWNER).status_code == 302


def test_a_locked_account_is_locked_for_new_addresses_too(alice):
    for n in range(6):
        log_in("alice@example.com", f"guess {n}", address=f"203.0.113.{n}")

    assert log_in("alice@example.com", PASSWORD, address="203.0.113.99").status_code == 429


def test_a_success_clears_the_accounts_failures(alice):
    for n in range(4):
        log_in("alice@example.com", f"guess {n}")
    assert log_in("alice@example.com", PASSWORD).status_code == 302

    statuses = [log_in("alice@example.com", f"again {n}").status_code for n in range(5)]
    assert statuses == [200] * 5


def test_a_malformed_email_is_not_counted_as_a_failed_login(db):
    for _ in range(10):
        assert log_in("not an email", "guess").status_code == 200
    assert not Throttle.objects.exists()


def test_failures_older_than_the_window_are_forgotten(alice):
    for n in range(5):
        log_in("alice@example.com", f"guess {n}")

    with later(timezone.now() + throttle.LOGIN_ACCOUNT.window + timedelta(seconds=1)):
        assert log_in("alice@example.com", "guess 6").status_code == 200
    assert Throttle.objects.get(key="login-account:alice@example.com").count == 1


def test_idle_counters_are_deleted(alice):
    log_in("alice@example.com", "guess")
    with later(timezone.now() + timedelta(days=2)):
        log_in("bob@example.com", "guess", address=OWNER)

    keys = set(Throttle.objects.values_list("key", flat=True))
    assert keys == {"login-account:bob@example.com", f"login-address:{OWNER}"}


# Password recovery


def test_a_fourth_recovery_email_to_one_address_in_an_hour_is_refused(alice):
    statuses = [recover("alice@example.com", address=f"203.0.113.{n}").status_code for n in range(4)]

    assert statuses == [302, 302, 302, 429]
    assert len(mail.outbox) == 3
    refused = recover("alice@example.com", address=OWNER)
    assert refused.status_code == 429
    assert "Too many recovery emails were asked for this address" in refused.content.decode()
    assert int(refused["Retry-After"]) > 0


def test_an_unknown_address_is_throttled_like_a_known_one(db):
    # The same answers as for an account's address: throttling must not tell which emails have accounts.
    statuses = [recover("nobody@example.com").status_code for _ in range(4)]
    assert statuses == [302, 302, 302, 429]


def test_one_network_address_gets_ten_recovery_emails_an_hour(alice):
    statuses = [recover(f"person{n}@example.com").status_code for n in range(11)]

    assert statuses == [302] * 10 + [429]
    assert "from your network address" in recover("alice@example.com").content.decode()
    assert recover("alice@example.com", address=OWNER).status_code == 302
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    "count, delay", [(5, 0), (6, 30), (7, 60), (9, 240), (10, 480), (11, 900), (50, 900)]
)
def test_the_login_delay_doubles_up_to_15_minutes(count, delay):
    assert throttle.LOGIN_ACCOUNT.delay(count) == timedelta(seconds=delay)


def test_the_longest_email_an_address_can_have_is_counted(db):
    email = "a" * 64 + "@" + ".".join(["b" * 63] * 3) + "." + "c" * 57 + ".org"
    for _ in range(6):
        assert log_in(email, "guess").status_code == 200

    assert log_in(email, "guess").status_code == 429
