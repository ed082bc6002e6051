"""Adding, listing and revoking the inbox's authentication methods (Access & Security > Inbox Security).

An API key and an HMAC secret are generated here and returned once: only a hash (API key) or an
encrypted copy (HMAC, which needs the secret to check a signature) is kept. A Basic password is chosen
by the administrator and stored with Django's password hash.
"""

import secrets
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.http import Http404

from kindling.audit.log import record
from kindling.credentials import crypto
from kindling.inbox.auth import sha256_hex
from kindling.inbox.models import InboxAuthMethod
from kindling.projects.access import require

KIND_NAMES = {
    "api_key": InboxAuthMethod.Kind.API_KEY,
    "basic": InboxAuthMethod.Kind.BASIC,
    "hmac": InboxAuthMethod.Kind.HMAC,
}
MIN_PASSWORD = 12


class AuthMethodError(ValueError):
    pass


@dataclass
class Added:
    method: InboxAuthMethod
    secret: str | None  # the API key or HMAC secret, shown this once; None for Basic


def methods_of(project):
    return (
        InboxAuthMethod.objects.filter(project=project)
        .select_related("created_by")
        .order_by("created_at", "id")
    )


def _check_allowed(project, by) -> None:
    if by is not None:
        require(by, "manage_inbox_auth", project)


def add_method(project, by, kind, name, username: str = "", password: str = "") -> Added:
    _check_allowed(project, by)
    if kind not in KIND_NAMES:
        raise AuthMethodError(f"type must be one of: {', '.join(KIND_NAMES)} (got {kind!r})")
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        raise AuthMethodError("Give the method a name (for example the system that will use it).")
    if len(name) > 100:
        raise AuthMethodError("The name must be at most 100 characters.")
    method = InboxAuthMethod(project=project, kind=KIND_NAMES[kind], name=name, created_by=by)
    secret = None
    if method.kind == InboxAuthMethod.Kind.BASIC:
        username = username.strip() if isinstance(username, str) else ""
        if not username or ":" in username:
            raise AuthMethodError("Basic auth needs a username, without a colon (:).")
        if not isinstance(password, str) or len(password) < MIN_PASSWORD:
            raise AuthMethodError(f"Basic auth needs a password of at least {MIN_PASSWORD} characters.")
        method.username, method.secret_hash = username, make_password(password)
    elif method.kind == InboxAuthMethod.Kind.API_KEY:
        secret = "kik_" + secrets.token_urlsafe(32)
        method.secret_hash, method.hint = sha256_hex(secret), secret[:8]
    else:
        secret = "kis_" + secrets.token_urlsafe(32)
        method.secret_encrypted, method.hint = crypto.encrypt_json(secret), secret[:8]
    with transaction.atomic():
        method.save()
        record(
            project,
            by,
            "inbox_auth.added",
            method.name,
            type=kind,
            **({"username": method.username} if method.username else {}),
        )
    return Added(method, secret)


def revoke_method(project, by, method_id) -> InboxAuthMethod:
    _check_allowed(project, by)
    with transaction.atomic():
        method = InboxAuthMethod.objects.filter(project=project, pk=method_id).first()
        if method is None:
            raise Http404(f"No inbox auth method {method_id} in this project.")
        method.delete()
        record(project, by, "inbox_auth.revoked", method.name, type=method.kind)
    return method
