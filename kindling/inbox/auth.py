"""Inbox authentication in the intake's hot path: `refusal(...)` is called once per request by
`inbox.views.answer`, after the body is read (an HMAC signature covers it) and before it is parsed.

With no method the inbox is open (v1's default). With any, a request passing one of them is accepted,
which is how rotation works. No credentials: 401. Wrong credentials: 404, the answer an unknown inbox
gets, so a stranger cannot tell the inbox exists (semantics §7). Secrets are compared in constant time.

Speed: the methods are read with one indexed query per request, so a method added or revoked on any
process applies to the next request everywhere. An API key is a 256-bit random string, so its SHA-256
is enough (no slow hash per request). A Basic password is checked with Django's slow password hash
once, and a verified login is remembered (by the SHA-256 of method, stored hash and login) for this
process; revoking the method removes it from the query, and with it the remembered login.

Brute force: an address with FAILURES_ALLOWED failures within FAILURE_WINDOW seconds is answered 429 for
what it sends next, except what verifies without a slow hash and passes (an API key, a signature, a
remembered login): valid senders behind the same address keep getting through, guessing stops. And
new Basic logins get at most SLOW_CHECKS_PER_MINUTE slow checks per minute in all (429 beyond).
"""

import base64
import hashlib
import hmac
import threading
import time
from collections import deque

from django.contrib.auth.hashers import check_password
from django.db import connections, router
from django.utils import timezone

from kindling.credentials import crypto
from kindling.inbox.models import InboxAuthMethod

FAILURES_ALLOWED = 10
FAILURE_WINDOW = 60.0
# Django's password hash takes a good fraction of a second, in the one thread that stores this process's
# messages: logins not verified yet get at most this many checks per minute, from every address together,
# so that guessing from many addresses cannot stall the intake. Remembered logins are not counted.
SLOW_CHECKS_PER_MINUTE = 20
# last_used_at is written at most this often per method and process: not one UPDATE per message.
LAST_USED_EVERY = 60.0
SIGNATURE_HEADER = "x-kindling-signature"

_lock = threading.Lock()
_failures: dict[str, deque] = {}
_verified_logins: set[str] = set()
_hmac_secrets: dict[tuple[int, str], bytes] = {}
_last_written: dict[int, float] = {}
_slow_checks: deque = deque(maxlen=SLOW_CHECKS_PER_MINUTE)


def sha256_hex(value: bytes | str) -> str:
    return hashlib.sha256(value.encode() if isinstance(value, str) else value).hexdigest()


def active_methods(project_id: int) -> list[tuple]:
    """(id, kind, username, secret_hash, secret_encrypted) of the project's methods, in raw SQL: the ORM
    spends longer building this query than the database answering it."""
    connection = connections[router.db_for_read(InboxAuthMethod)]
    table = InboxAuthMethod._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, kind, username, secret_hash, secret_encrypted FROM {table} WHERE project_id = %s",
            [project_id],
        )
        return cursor.fetchall()


def refusal(project_id: int, headers, raw_body: bytes, client: str | None) -> tuple[int, dict, dict] | None:
    """None when the request may be stored; otherwise the (status, JSON body, headers) to answer."""
    methods = active_methods(project_id)
    if not methods:
        return None
    api_key = headers.get("x-api-key")
    login = basic_login(headers.get("authorization", ""))
    signature = headers.get(SIGNATURE_HEADER)
    if api_key is None and login is None and signature is None:
        return (
            401,
            {
                "error": "This inbox requires authentication: send the x-api-key header, Basic auth "
                "(Authorization: Basic ...), or an X-Kindling-Signature of the body."
            },
            {"WWW-Authenticate": 'Basic realm="inbox"'},
        )
    blocked = is_blocked(client)
    slow_allowed = not blocked and slow_check_available()
    method_id = verify(methods, api_key, login, signature, raw_body, slow_allowed)
    if method_id is not None:
        note_use(method_id)
        return None
    if blocked:
        return (
            429,
            {"error": "Too many failed authentications from your address: wait a minute."},
            {"Retry-After": str(int(FAILURE_WINDOW))},
        )
    if login is not None and not slow_allowed:
        return (
            429,
            {"error": "Too many new Basic logins to check at once: send the request again in a few seconds."},
            {"Retry-After": "5"},
        )
    note_failure(client)
    return 404, {"error": "No inbox at this address."}, {}


def basic_login(authorization: str) -> tuple[str, str] | None:
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        username, sep, password = (
            base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
        )
    except (ValueError, UnicodeDecodeError):
        return ("", "")  # credentials were sent, and they are wrong
    return (username, password) if sep else ("", "")


def verify(methods, api_key, login, signature, raw_body: bytes, slow_allowed: bool) -> int | None:
    """The id of a method the request passes, or None. Every method of the kind is tried, so the time
    taken does not tell which one came close."""
    passed = None
    key_hash = sha256_hex(api_key) if api_key is not None else None
    for method_id, kind, username, secret_hash, secret_encrypted in methods:
        if kind == InboxAuthMethod.Kind.API_KEY and key_hash is not None:
            ok = hmac.compare_digest(key_hash, secret_hash)
        elif kind == InboxAuthMethod.Kind.BASIC and login is not None:
            ok = login_ok(method_id, username, secret_hash, login, slow_allowed)
        elif kind == InboxAuthMethod.Kind.HMAC and signature is not None:
            ok = signature_ok(method_id, secret_encrypted, signature, raw_body)
        else:
            ok = False
        if ok and passed is None:
            passed = method_id
    return passed


def login_ok(
    method_id: int, username: str, password_hash: str, login: tuple[str, str], slow_allowed: bool
) -> bool:
    remembered = sha256_hex(f"{method_id}\0{password_hash}\0{login[0]}\0{login[1]}")
    if remembered in _verified_logins:
        return True
    if not hmac.compare_digest(username.encode(), login[0].encode()) or not slow_allowed:
        return False
    take_slow_check()
    if not check_password(login[1], password_hash):
        return False
    with _lock:
        _verified_logins.add(remembered)
    return True


def signature_ok(method_id: int, secret_encrypted: str, signature: str, raw_body: bytes) -> bool:
    scheme, _, given = signature.strip().partition("=")
    if scheme.lower() != "sha256" or not given:
        return False
    secret = _hmac_secrets.get((method_id, secret_encrypted))
    if secret is None:
        secret = crypto.decrypt_json(secret_encrypted).encode()
        with _lock:
            _hmac_secrets[(method_id, secret_encrypted)] = secret
    expected = hmac.new(secret, raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given.strip().lower())


def is_blocked(client: str | None) -> bool:
    failures = _failures.get(client or "")
    if not failures:
        return False
    with _lock:
        horizon = time.monotonic() - FAILURE_WINDOW
        while failures and failures[0] < horizon:
            failures.popleft()
        return len(failures) >= FAILURES_ALLOWED


def note_failure(client: str | None) -> None:
    with _lock:
        if len(_failures) > 10_000:  # many addresses failing: forget those whose failures are old
            horizon = time.monotonic() - FAILURE_WINDOW
            for stale in [c for c, times in _failures.items() if not times or times[-1] < horizon]:
                del _failures[stale]
        _failures.setdefault(client or "", deque(maxlen=FAILURES_ALLOWED)).append(time.monotonic())


def slow_check_available() -> bool:
    with _lock:
        return len(_slow_checks) < SLOW_CHECKS_PER_MINUTE or _slow_checks[0] < time.monotonic() - 60.0


def take_slow_check() -> None:
    with _lock:
        _slow_checks.append(time.monotonic())


def note_use(method_id: int) -> None:
    now = time.monotonic()
    if now - _last_written.get(method_id, -LAST_USED_EVERY) < LAST_USED_EVERY:
        return
    _last_written[method_id] = now
    InboxAuthMethod.objects.filter(pk=method_id).update(last_used_at=timezone.now())


def forget() -> None:
    """Drop what this process remembers (failures, verified logins): for tests."""
    with _lock:
        _failures.clear()
        _verified_logins.clear()
        _hmac_secrets.clear()
        _last_written.clear()
        _slow_checks.clear()
