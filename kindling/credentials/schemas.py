"""Credential types: one per installed adaptor that ships a `configuration-schema.json` (JSON Schema
draft-07, `writeOnly` marking secrets), plus Raw JSON. Validation, masking and the portal's forms all
read the type from here.
"""

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from jsonschema import Draft7Validator, FormatChecker
from jsonschema.exceptions import best_match

from kindling.credentials.models import RAW
from kindling.engine.adaptors import list_installed, package_dir, version_key

MASK = "******"
SCHEMA_FILE = "configuration-schema.json"

# jsonschema checks "uri" only with an optional package installed; a URI here is what adaptors take as
# a base URL: a scheme, then something, and no spaces.
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
FORMATS = FormatChecker()


@FORMATS.checks("uri")
def _is_uri(value) -> bool:
    if not isinstance(value, str):
        return True
    return bool(_URI.match(value)) and bool(urlsplit(value).scheme)


@dataclass(frozen=True)
class CredentialType:
    key: str  # "raw" or the adaptor name
    label: str
    version: str = ""  # the adaptor version whose schema this is
    schema: dict | None = field(default=None, compare=False, hash=False)

    @property
    def is_raw(self) -> bool:
        return self.schema is None

    @property
    def properties(self) -> dict:
        return (self.schema or {}).get("properties") or {}

    @property
    def required(self) -> list[str]:
        return list((self.schema or {}).get("required") or [])

    def is_secret(self, key: str) -> bool:
        # No schema (Raw JSON, or an adaptor no longer installed): every field may be a secret.
        # With a schema: writeOnly fields, and any field the schema does not describe.
        if self.is_raw:
            return True
        prop = self.properties.get(key)
        return prop is None or bool(prop.get("writeOnly"))

    def title_of(self, key: str) -> str:
        return (self.properties.get(key) or {}).get("title") or key


RAW_TYPE = CredentialType(key=RAW, label="Raw JSON")


def short_name(adaptor: str) -> str:
    return adaptor.removeprefix("@openfn/").removeprefix("language-")


@lru_cache(maxsize=256)
def _read_schema(path: Path) -> dict | None:
    # Installed versions never change, so a schema file read once stays right.
    try:
        schema = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return schema if isinstance(schema, dict) else None


def available_types(repo_dir: Path | None = None) -> list[CredentialType]:
    """Raw JSON first, then one type per adaptor (its newest installed version with a schema), by name."""
    repo_dir = Path(repo_dir or settings.ADAPTOR_REPO_DIR)
    newest: dict[str, CredentialType] = {}
    for name, version in list_installed(repo_dir):
        schema = _read_schema(package_dir(repo_dir, name, version) / SCHEMA_FILE)
        if schema is None:
            continue
        known = newest.get(name)
        if known is None or version_key(version) > version_key(known.version):
            newest[name] = CredentialType(key=name, label=short_name(name), version=version, schema=schema)
    return [RAW_TYPE, *sorted(newest.values(), key=lambda t: t.label)]


def type_for(key: str, repo_dir: Path | None = None, *, strict: bool = False) -> CredentialType | None:
    """The type named `key`. A stored credential whose adaptor is gone is edited as Raw JSON (strict=False);
    a new one must name an available type (strict=True gives None otherwise)."""
    for credential_type in available_types(repo_dir):
        if credential_type.key == key:
            return credential_type
    if strict:
        return None
    return CredentialType(key=key, label=short_name(key))


def type_of(credential) -> CredentialType:
    return type_for(credential.schema)


class InvalidBody(ValueError):
    """`fields`: field name -> problem; the message names every field."""

    def __init__(self, fields: dict[str, str], credential_type: CredentialType | None = None):
        self.fields = fields
        parts = []
        for key, problem in fields.items():
            title = credential_type.title_of(key) if credential_type else key
            name = key if title == key else f"{key} ({title})"
            parts.append(f"{name}: {problem}" if key else problem)
        super().__init__("; ".join(parts))


def _message(error) -> str:
    if error.context:  # anyOf/oneOf: the reason of the closest alternative says more than "not valid"
        error = best_match(error.context)
    return error.message


def validate(credential_type: CredentialType, body) -> None:
    """Raise InvalidBody naming each field that breaks the type's schema."""
    if not isinstance(body, dict):
        raise InvalidBody({"": "the body must be a JSON object of fields"})
    if any(not isinstance(key, str) or not key.strip() for key in body):
        raise InvalidBody({"": "every field needs a name"})
    if credential_type.is_raw:
        return
    problems: dict[str, str] = {}
    validator = Draft7Validator(credential_type.schema, format_checker=FORMATS)
    for error in sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path))):
        if error.validator == "required" and not error.absolute_path:
            for key in error.validator_value:
                if key not in body:
                    problems.setdefault(key, "is required")
            continue
        key = str(error.absolute_path[0]) if error.absolute_path else ""
        problems.setdefault(key, _message(error))
    if problems:
        raise InvalidBody(problems, credential_type)


def is_set(value) -> bool:
    return value not in (None, "", {}, [])


def fields_set(body: dict) -> list[str]:
    return [key for key, value in body.items() if is_set(value)]


def masked(credential_type: CredentialType, body: dict) -> dict:
    """The body as its owner reads it: every secret that is set shows as the mask."""
    return {
        key: MASK if credential_type.is_secret(key) and is_set(value) else value
        for key, value in body.items()
    }


def unmask(submitted: dict, stored: dict) -> dict:
    """A field sent back as the mask keeps its stored value (or stays unset if it had none)."""
    out = {}
    for key, value in submitted.items():
        if value == MASK:
            if key in stored:
                out[key] = stored[key]
        else:
            out[key] = value
    return out
