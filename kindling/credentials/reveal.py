"""Showing a credential's stored values to its owner, who types their password again first.

Secret values are masked on every page, to the owner too: a Raw JSON credential has no schema to say
which of its fields are secret, so all of them are, and its owner could not check a username or a URL
they stored. Revealing them takes the owner's password again and is recorded.
"""

import logging

from kindling.credentials.access import require_owner
from kindling.credentials.models import Credential
from kindling.credentials.sharing import CredentialError

log = logging.getLogger(__name__)


def record_reveal(credential: Credential, user, allowed: bool) -> None:
    """The one place a reveal (or a refused attempt) is recorded: point the audit log here. The message
    names the credential and the user, never a value."""
    if allowed:
        log.info("credential %s (%r) revealed to its owner %s", credential.pk, credential.name, user.email)
    else:
        log.warning("credential %s (%r): reveal refused to %s", credential.pk, credential.name, user.email)


def reveal_body(credential: Credential, user, password: str) -> dict:
    """The stored body in clear, for its owner after their password; CredentialError otherwise."""
    require_owner(credential, user, "reveal")
    if not password or not user.check_password(password):
        record_reveal(credential, user, allowed=False)
        raise CredentialError("That is not your password: the values stay masked.")
    body = credential.readable_body()
    if body is None:
        raise CredentialError(
            "The values cannot be decrypted with the configured encryption keys: there is nothing to show."
        )
    record_reveal(credential, user, allowed=True)
    return body
