"""Remove a credential's secret values from text (log lines) before anything stores or shows it.

Every string or number in the credential body counts as a secret once it is at least
`MIN_SECRET_LENGTH` characters long: we cannot know which fields are secret, and a shorter value
(a port, "true") would blank out ordinary words. A secret is also searched for in the forms it
takes when a job or an adaptor passes it on: JSON-escaped, base64 (Basic auth), URL-encoded.
"""

import base64
import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

REDACTED = "[REDACTED]"
MIN_SECRET_LENGTH = 4

# JavaScript's encodeURIComponent leaves these unescaped, where Python's quote(safe="") escapes them.
_ENCODE_URI_COMPONENT_SAFE = "-_.!~*'()"
# ...and encodeURI also leaves the URI's reserved characters alone.
_ENCODE_URI_SAFE = _ENCODE_URI_COMPONENT_SAFE + ";,/?:@&=+$#"


def collect_secrets(configuration) -> list[str]:
    """Every string and number leaf of the configuration, as text, at least MIN_SECRET_LENGTH long."""
    found: list[str] = []

    def walk(value):
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            found.append(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            found.append(json.dumps(value))

    walk(configuration)
    return [secret for secret in dict.fromkeys(found) if len(secret) >= MIN_SECRET_LENGTH]


def _base64_forms(raw: str) -> set[str]:
    encoded = base64.b64encode(raw.encode()).decode()
    # Without padding too: a value embedded in a longer base64 text or a URL-safe token has none.
    return {encoded, encoded.rstrip("="), base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")}


def _forms_of(secret: str) -> set[str]:
    forms = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret),
        quote(secret, safe=""),
        quote(secret, safe=_ENCODE_URI_COMPONENT_SAFE),
        quote(secret, safe=_ENCODE_URI_SAFE),
        quote_plus(secret),
    }
    forms |= _base64_forms(secret)
    return forms


def _basic_auth_pairs(configuration) -> Iterable[str]:
    if isinstance(configuration, dict):
        username, password = configuration.get("username"), configuration.get("password")
        if isinstance(username, str) and isinstance(password, str):
            yield f"{username}:{password}"


class Scrubber:
    """`Scrubber(configuration)(text)` returns text with every secret form replaced by [REDACTED]."""

    def __init__(self, configuration):
        forms: set[str] = set()
        for secret in collect_secrets(configuration):
            forms |= _forms_of(secret)
        for pair in _basic_auth_pairs(configuration):
            forms |= _base64_forms(pair)
        # Longest first, so that a secret containing another one is replaced whole.
        ordered = sorted((form for form in forms if len(form) >= MIN_SECRET_LENGTH), key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(REDACTED, text)
