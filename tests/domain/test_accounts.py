"""Accounts and the CLI around them: users, API tokens, bootstrap, sessions, the node check."""

import hashlib
import re
from io import StringIO

import pytest
from django.conf import settings
from django.core.checks import run_checks
from django.core.management import CommandError, call_command

from kindling import checks
from kindling.accounts.models import ApiToken, User


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def no_admin_env(monkeypatch):
    monkeypatch.delenv("KINDLING_ADMIN_EMAIL", raising=False)
    monkeypatch.delenv("KINDLING_ADMIN_PASSWORD", raising=False)


# user create


def test_user_create_makes_a_user_who_can_log_in(db):
    output = run(
        "user", "create", "--email", "Dora@Example.com", "--password", "long enough", "--name", "Dora"
    )
    user = User.objects.get()
    assert (user.email, user.name, user.is_staff, user.is_superuser) == (
        "dora@example.com",
        "Dora",
        False,
        False,
    )
    assert user.check_password("long enough")
    assert output == f"created dora@example.com (user number {user.user_number})\n"


def test_user_create_with_admin_makes_a_superuser(db):
    run("user", "create", "--email", "root@example.com", "--password", "long enough", "--admin")
    user = User.objects.get()
    assert (user.is_staff, user.is_superuser) == (True, True)


def test_user_create_refuses_a_duplicate_email(alice):
    with pytest.raises(CommandError, match="already exists"):
        run("user", "create", "--email", "ALICE@example.com", "--password", "long enough")
    assert User.objects.count() == 1


def test_user_create_refuses_a_short_password(db):
    with pytest.raises(CommandError, match="at least 8 characters"):
        run("user", "create", "--email", "dora@example.com", "--password", "short")
    assert not User.objects.exists()


def test_every_user_gets_a_distinct_six_digit_user_number(alice, bob, charlie):
    numbers = set(User.objects.values_list("user_number", flat=True))
    assert len(numbers) == 3 and all(100_000 <= n <= 999_999 for n in numbers)


# token create


def test_token_create_prints_only_the_token(alice):
    output = run("token", "create", "--email", "alice@example.com")
    assert re.fullmatch(r"kdl_[A-Za-z0-9_-]{43}\n", output)


def test_the_database_keeps_only_the_hash_of_the_token(alice):
    token = run("token", "create", "--email", "alice@example.com", "--name", "ci").strip()
    stored = ApiToken.objects.get()
    assert (stored.user, stored.name) == (alice, "ci")
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(list(ApiToken.objects.values_list()))


def test_a_token_identifies_its_user(alice, bob):
    token = run("token", "create", "--email", "alice@example.com").strip()
    assert ApiToken.user_for(token) == alice
    assert ApiToken.objects.get().last_used_at is not None


def test_a_wrong_token_identifies_nobody(alice):
    token = run("token", "create", "--email", "alice@example.com").strip()
    assert ApiToken.user_for(token + "x") is None
    assert ApiToken.user_for("") is None
    assert ApiToken.objects.get().last_used_at is None


def test_a_token_of_a_deactivated_user_identifies_nobody(alice, token_for):
    token = token_for(alice)
    User.objects.filter(pk=alice.pk).update(is_active=False)
    assert ApiToken.user_for(token) is None


def test_token_create_refuses_an_unknown_email(db):
    with pytest.raises(CommandError, match="no user with email nobody@example.com"):
        run("token", "create", "--email", "nobody@example.com")
    assert not ApiToken.objects.exists()


# bootstrap


def test_bootstrap_creates_an_admin_with_a_generated_password_printed_once(db, no_admin_env):
    output = run("bootstrap")
    password = re.search(r"Log in as admin@example\.com with password (\S+)", output)[1]
    admin = User.objects.get()
    assert (admin.email, admin.is_superuser) == ("admin@example.com", True)
    assert admin.check_password(password) and len(password) >= 12
    assert output.count(password) == 1


def test_bootstrap_uses_the_admin_email_and_password_from_the_environment(db, monkeypatch):
    monkeypatch.setenv("KINDLING_ADMIN_EMAIL", "ops@example.org")
    monkeypatch.setenv("KINDLING_ADMIN_PASSWORD", "from the environment")
    output = run("bootstrap")
    admin = User.objects.get()
    assert (admin.email, admin.is_superuser) == ("ops@example.org", True)
    assert admin.check_password("from the environment")
    assert "from the environment" not in output and "KINDLING_ADMIN_PASSWORD" in output


def test_bootstrap_generates_a_password_for_the_admin_email_from_the_env(db, no_admin_env, monkeypatch):
    monkeypatch.setenv("KINDLING_ADMIN_EMAIL", "ops@example.org")
    output = run("bootstrap")
    password = re.search(r"Log in as ops@example\.org with password (\S+)", output)[1]
    assert User.objects.get(email="ops@example.org").check_password(password)


def test_bootstrap_does_nothing_the_second_time(db, no_admin_env):
    first = run("bootstrap")
    password = re.search(r"with password (\S+)", first)[1]
    second = run("bootstrap")
    assert User.objects.count() == 1
    assert password not in second and "password" not in second
    assert User.objects.get().check_password(password)


def test_bootstrap_does_nothing_when_a_user_exists(alice, no_admin_env):
    output = run("bootstrap")
    assert list(User.objects.values_list("email", flat=True)) == ["alice@example.com"]
    assert "password" not in output


# sessions and system checks


def test_sessions_last_24_hours_from_login():
    assert settings.SESSION_COOKIE_AGE == 24 * 60 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is False  # not renewed by activity
    assert getattr(settings, "SESSION_EXPIRE_AT_BROWSER_CLOSE", False) is False


def test_the_node_check_fails_without_node_on_path(monkeypatch):
    monkeypatch.setattr(checks.shutil, "which", lambda name: None)
    errors = checks.check_node(None)
    assert [e.id for e in errors] == ["kindling.E001"]
    assert "Node.js" in errors[0].msg and "20" in errors[0].hint


def test_the_node_check_fails_with_node_older_than_20(monkeypatch):
    monkeypatch.setattr(checks.shutil, "which", lambda name: "/usr/bin/node")
    monkeypatch.setattr(checks, "node_version", lambda node: "v18.19.1")
    errors = checks.check_node(None)
    assert [e.id for e in errors] == ["kindling.E002"]
    assert "v18.19.1" in errors[0].msg


def test_the_node_check_fails_when_node_does_not_answer(monkeypatch):
    monkeypatch.setattr(checks.shutil, "which", lambda name: "/usr/bin/node")
    monkeypatch.setattr(checks, "node_version", lambda node: None)
    assert [e.id for e in checks.check_node(None)] == ["kindling.E002"]


@pytest.mark.parametrize("version", ["v20.0.0", "v22.11.0"])
def test_the_node_check_passes_with_node_20_or_newer(monkeypatch, version):
    monkeypatch.setattr(checks.shutil, "which", lambda name: "/usr/bin/node")
    monkeypatch.setattr(checks, "node_version", lambda node: version)
    assert checks.check_node(None) == []


def test_the_node_check_is_registered_with_django(monkeypatch):
    monkeypatch.setattr(checks.shutil, "which", lambda name: None)
    assert "kindling.E001" in [e.id for e in run_checks()]
