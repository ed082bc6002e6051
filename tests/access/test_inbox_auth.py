"""Inbox authentication (semantics §7): open without methods; with any, a request passing one is
stored, none gets 401, wrong ones 404; API key, Basic and HMAC; rotation; revocation; brute force."""

import asyncio
import base64
import hashlib
import hmac
import json
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from kindling.audit.models import AuditEvent
from kindling.inbox import auth
from kindling.inbox.asgi import close_connections, inbox_app
from kindling.inbox.auth_methods import AuthMethodError, add_method, revoke_method
from kindling.inbox.models import InboxAuthMethod, Message

BODY = {"form": "intake", "patient": 7}


@pytest.fixture(autouse=True)
def fresh_auth_memory():
    auth.forget()
    yield
    auth.forget()


def post(client, project, body=BODY, remote_addr="127.0.0.1", **headers):
    raw = json.dumps(body) if not isinstance(body, bytes) else body
    return client.post(
        f"/inbox/{project.inbox_uuid}",
        raw,
        content_type="application/json",
        headers=headers,
        REMOTE_ADDR=remote_addr,
    )


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def signature(secret: str, raw: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def test_without_methods_the_inbox_is_open(client, project):
    assert post(client, project).status_code == 202


def test_with_an_api_key_a_request_without_it_gets_401_and_nothing_is_stored(client, project, alice):
    add_method(project, alice, "api_key", "survey tool")

    response = post(client, project)

    assert response.status_code == 401
    assert "x-api-key" in response.json()["error"]
    assert not Message.objects.exists()


def test_a_wrong_key_gets_the_404_of_an_unknown_inbox(client, project, alice):
    add_method(project, alice, "api_key", "survey tool")

    response = post(client, project, x_api_key="kik_wrong")

    assert response.status_code == 404 and response.json() == {"error": "No inbox at this address."}
    assert not Message.objects.exists()


def test_the_right_key_is_accepted_and_never_stored(client, project, alice):
    key = add_method(project, alice, "api_key", "survey tool").secret

    response = post(client, project, x_api_key=key)

    assert response.status_code == 202
    message = Message.objects.get()
    assert "x-api-key" not in message.headers
    method = InboxAuthMethod.objects.get()
    assert method.secret_hash == hashlib.sha256(key.encode()).hexdigest() and key not in str(vars(method))
    assert method.last_used_at is not None


def test_basic_auth_is_accepted_with_the_right_login_only(client, project, alice):
    add_method(project, alice, "basic", "legacy", username="survey", password="a long password 1")
    method = InboxAuthMethod.objects.get()
    assert method.secret_hash != "a long password 1" and method.secret_hash.startswith(("md5$", "pbkdf2"))

    right = post(client, project, authorization=basic("survey", "a long password 1"))
    again = post(client, project, authorization=basic("survey", "a long password 1"))
    wrong = post(client, project, authorization=basic("survey", "a long password 2"))
    other_user = post(client, project, authorization=basic("other", "a long password 1"))
    garbage = post(client, project, authorization="Basic !!!")

    assert [r.status_code for r in (right, again, wrong, other_user, garbage)] == [202, 202, 404, 404, 404]
    assert Message.objects.count() == 2


def test_an_hmac_signature_of_the_raw_body_is_accepted(client, project, alice):
    secret = add_method(project, alice, "hmac", "webhooks").secret
    raw = json.dumps(BODY).encode()

    right = post(client, project, raw, x_kindling_signature=signature(secret, raw))
    other_body = post(client, project, raw + b" ", x_kindling_signature=signature(secret, raw))
    wrong_scheme = post(client, project, raw, x_kindling_signature="sha1=" + signature(secret, raw)[7:])

    assert [r.status_code for r in (right, other_body, wrong_scheme)] == [202, 404, 404]
    assert (
        InboxAuthMethod.objects.get().secret_encrypted
        and secret not in InboxAuthMethod.objects.get().secret_encrypted
    )


def test_any_active_method_is_enough(client, project, alice):
    key = add_method(project, alice, "api_key", "new system").secret
    add_method(project, alice, "basic", "old system", username="old", password="an old password")

    assert post(client, project, x_api_key=key).status_code == 202
    assert post(client, project, authorization=basic("old", "an old password")).status_code == 202


def test_rotation_new_key_then_revoke_the_old(client, project, alice):
    old = add_method(project, alice, "api_key", "2025 key")
    assert post(client, project, x_api_key=old.secret).status_code == 202
    new = add_method(project, alice, "api_key", "2026 key")
    assert post(client, project, x_api_key=old.secret).status_code == 202
    assert post(client, project, x_api_key=new.secret).status_code == 202

    revoke_method(project, alice, old.method.pk)

    assert post(client, project, x_api_key=old.secret).status_code == 404
    assert post(client, project, x_api_key=new.secret).status_code == 202


def test_a_revoked_basic_login_is_forgotten(client, project, alice):
    added = add_method(project, alice, "basic", "legacy", username="survey", password="a long password 1")
    assert post(client, project, authorization=basic("survey", "a long password 1")).status_code == 202
    revoke_method(project, alice, added.method.pk)
    add_method(project, alice, "api_key", "keeps the inbox closed")

    assert post(client, project, authorization=basic("survey", "a long password 1")).status_code == 404


def test_revoking_the_last_method_opens_the_inbox_again(client, project, alice):
    added = add_method(project, alice, "api_key", "only")
    revoke_method(project, alice, added.method.pk)
    assert post(client, project).status_code == 202


def test_repeated_failures_from_one_address_get_429_but_valid_keys_pass(client, project, alice):
    key = add_method(project, alice, "api_key", "survey tool").secret
    add_method(project, alice, "basic", "legacy", username="survey", password="a long password 1")
    failures = [
        post(client, project, x_api_key=f"guess-{n}").status_code for n in range(auth.FAILURES_ALLOWED)
    ]

    guess = post(client, project, authorization=basic("survey", "another guess"))
    # Even the right password: the slow hash is not run for a blocked address, so guessing stops.
    right_password = post(client, project, authorization=basic("survey", "a long password 1"))
    valid = post(client, project, x_api_key=key)
    other_address = post(client, project, remote_addr="10.9.8.7", x_api_key="guess")

    assert failures == [404] * auth.FAILURES_ALLOWED
    assert guess.status_code == 429 and guess["Retry-After"] == "60"
    assert right_password.status_code == 429
    assert valid.status_code == 202
    assert other_address.status_code == 404


def test_an_unknown_inbox_stays_404_with_credentials(client, project, alice):
    add_method(project, alice, "api_key", "survey tool")
    response = client.post(
        "/inbox/2b3e8f4c-0000-4000-8000-000000000000",
        "{}",
        content_type="application/json",
        headers={"x-api-key": "x"},
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    "kind, fields, error",
    [
        ("token", {}, "type must be one of: api_key, basic, hmac"),
        ("api_key", {"name": " "}, "Give the method a name"),
        ("basic", {"username": "", "password": "a long password 1"}, "Basic auth needs a username"),
        ("basic", {"username": "a:b", "password": "a long password 1"}, "without a colon"),
        ("basic", {"username": "survey", "password": "short"}, "at least 12 characters"),
    ],
)
def test_it_refuses_a_bad_method(project, alice, kind, fields, error):
    with pytest.raises(AuthMethodError, match=error):
        add_method(project, alice, kind, fields.pop("name", "a name"), **fields)
    assert not InboxAuthMethod.objects.exists()


def test_adding_and_revoking_is_audited_without_secrets(project, alice):
    added = add_method(project, alice, "basic", "legacy", username="survey", password="a long password 1")
    key = add_method(project, alice, "api_key", "survey tool").secret
    revoke_method(project, alice, added.method.pk)

    events = list(AuditEvent.objects.filter(project=project).order_by("id"))
    assert [(e.action, e.target, e.details) for e in events] == [
        ("inbox_auth.added", "legacy", {"type": "basic", "username": "survey"}),
        ("inbox_auth.added", "survey tool", {"type": "api_key"}),
        ("inbox_auth.revoked", "legacy", {"type": "basic"}),
    ]
    dumped = json.dumps([vars(e) for e in events], default=str)
    assert "a long password 1" not in dumped and key not in dumped


# The REST API


def test_the_api_adds_an_api_key_shown_once_lists_and_revokes(call, project, alice, client):
    base = f"/projects/{project.slug}/inbox-auth"
    created = call(alice, "POST", base, {"type": "api_key", "name": "survey tool"})
    assert created.status_code == 201
    key = created.json()["key"]
    listed = call(alice, "GET", base).json()["items"]
    assert [m["name"] for m in listed] == ["survey tool"] and "key" not in listed[0]
    assert listed[0]["created_by"] == "alice@example.com" and listed[0]["type"] == "api_key"
    assert post(client, project, x_api_key=key).status_code == 202

    assert call(alice, "DELETE", f"{base}/{created.json()['id']}").status_code == 204
    assert call(alice, "GET", base).json()["items"] == []


def test_the_api_adds_basic_and_hmac_methods(call, project, alice):
    base = f"/projects/{project.slug}/inbox-auth"
    basic_method = call(
        alice, "POST", base, {"type": "basic", "name": "b", "username": "u", "password": "p" * 12}
    )
    hmac_method = call(alice, "POST", base, {"type": "hmac", "name": "h"})
    bad = call(alice, "POST", base, {"type": "basic", "name": "b", "username": "u", "password": "short"})

    assert basic_method.status_code == 201 and "password" not in basic_method.json()
    assert hmac_method.status_code == 201 and hmac_method.json()["secret"].startswith("kis_")
    assert bad.status_code == 400 and "at least 12 characters" in bad.json()["error"]


def test_a_collaborator_cannot_manage_inbox_auth(call, project, bob, charlie):
    base = f"/projects/{project.slug}/inbox-auth"
    refused = call(bob, "POST", base, {"type": "api_key", "name": "mine"})
    hidden = call(charlie, "POST", base, {"type": "api_key", "name": "mine"})

    assert refused.status_code == 403
    assert refused.json() == {"error": "Your role in this project does not allow: manage inbox auth"}
    assert hidden.status_code == 404
    assert not InboxAuthMethod.objects.exists()


# The ASGI fast path that `kindling serve` answers the inbox with


def asgi_post(project, raw: bytes, headers: dict, client=("10.1.2.3", 5000)) -> tuple[int, dict]:
    scope = {
        "type": "http",
        "method": "POST",
        "path": f"/inbox/{project.inbox_uuid}",
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
        + [(name.encode(), value.encode()) for name, value in headers.items()],
        "client": client,
    }
    incoming = [{"type": "http.request", "body": raw, "more_body": False}]
    sent = []

    async def receive():
        return incoming.pop(0)

    async def send(message):
        sent.append(message)

    async def run():
        await inbox_app(scope, receive, send)
        await close_connections()

    asyncio.run(run())
    return sent[0]["status"], json.loads(sent[1]["body"])


def test_the_fast_path_checks_the_key_and_the_signature(transactional_db, alice):
    from tests.conftest import make_project

    project = make_project(alice)
    key = add_method(project, alice, "api_key", "survey tool").secret
    secret = add_method(project, alice, "hmac", "webhooks").secret
    raw = json.dumps(BODY).encode()

    assert asgi_post(project, raw, {})[0] == 401
    assert asgi_post(project, raw, {"x-api-key": "wrong"})[0] == 404
    assert asgi_post(project, raw, {"x-api-key": key})[0] == 202
    assert asgi_post(project, raw, {"x-kindling-signature": signature(secret, raw)})[0] == 202
    assert Message.objects.filter(project=project).count() == 2


def test_new_basic_logins_share_a_budget_of_slow_checks_but_remembered_ones_pass(
    client, project, alice, monkeypatch
):
    monkeypatch.setattr(auth, "SLOW_CHECKS_PER_MINUTE", 2)
    monkeypatch.setattr(auth, "_slow_checks", auth.deque(maxlen=2))
    add_method(project, alice, "basic", "legacy", username="survey", password="a long password 1")
    right = post(client, project, authorization=basic("survey", "a long password 1"))
    guesses = [
        post(
            client, project, remote_addr=f"10.0.0.{n}", authorization=basic("survey", f"guess {n}")
        ).status_code
        for n in range(3)
    ]
    again = post(client, project, remote_addr="10.0.1.1", authorization=basic("survey", "a long password 1"))

    assert right.status_code == 202
    assert guesses == [404, 429, 429]
    assert again.status_code == 202


def test_rotate_key_re_encrypts_hmac_secrets_and_signatures_still_verify(key_dir, client, project, alice):
    secret = add_method(project, alice, "hmac", "webhooks").secret
    before = InboxAuthMethod.objects.get().secret_encrypted

    call_command("credentials", "rotate-key", stdout=StringIO())

    assert InboxAuthMethod.objects.get().secret_encrypted != before
    raw = json.dumps(BODY).encode()
    assert post(client, project, raw, x_kindling_signature=signature(secret, raw)).status_code == 202


def test_the_portal_shows_a_new_key_once_and_the_list_never(client_for, project, alice):
    client = client_for(alice)
    added = client.post(
        reverse("project-access-inbox-auth-add", args=[project.slug]),
        {"type": "api_key", "name": "survey tool"},
    )
    key = re.search(rb"kik_[A-Za-z0-9_-]{43}", added.content).group().decode()
    later = client.get(reverse("project-access", args=[project.slug]))

    assert added.status_code == 201 and added["Cache-Control"] == "no-store"
    assert InboxAuthMethod.objects.get().secret_hash == hashlib.sha256(key.encode()).hexdigest()
    assert b"survey tool" in later.content and key.encode() not in later.content


def test_the_portal_says_what_is_wrong_with_a_method(client_for, project, alice):
    response = client_for(alice).post(
        reverse("project-access-inbox-auth-add", args=[project.slug]),
        {"type": "basic", "name": "legacy", "username": "survey", "password": "short"},
    )
    assert response.status_code == 400 and b"at least 12 characters" in response.content
    assert not InboxAuthMethod.objects.exists()
