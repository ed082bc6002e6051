"""Personas for the access matrix and a small adaptor repository whose schema is ours.

alice owns the credential, which is shared with `project` (bob collaborates there); dave collaborates
on alice's other project, which it is not shared with; charlie has no access to anything.
"""

import json

import pytest
from django.test import Client

from kindling.projects.models import Membership
from tests.conftest import make_credential, make_project, make_user

EXAMPLE_ADAPTOR = "@openfn/language-example"
# Our own schema, shaped like the adaptors' configuration-schema.json (draft-07, writeOnly secrets).
EXAMPLE_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "additionalProperties": True,
    "required": ["username", "password", "baseUrl"],
    "properties": {
        "username": {
            "title": "Username",
            "type": "string",
            "description": "Who logs in",
            "examples": ["someone@example.org"],
        },
        "password": {"title": "Password", "type": "string", "writeOnly": True, "examples": ["s3cret"]},
        "baseUrl": {
            "title": "Base URL",
            "anyOf": [{"type": "string"}, {"type": "null"}],
            "format": "uri",
            "minLength": 1,
            "description": "Where the system answers",
            "examples": ["https://example.org"],
        },
        "apiVersion": {"title": "API version", "type": "integer", "minimum": 1},
        "verbose": {"title": "Verbose", "type": "boolean"},
        "region": {"title": "Region", "type": "string", "enum": ["eu", "us"]},
        "tls": {"title": "TLS options", "type": "object", "writeOnly": True},
    },
}
EXAMPLE_BODY = {"username": "ada@example.org", "password": "hunter2-secret", "baseUrl": "https://example.org"}


def install_fake_adaptor(repo, name, version, schema=None):
    package = repo / "package.json"
    data = json.loads(package.read_text()) if package.exists() else {"dependencies": {}}
    data["dependencies"][f"{name}_{version}"] = f"npm:{name}@{version}"
    package.write_text(json.dumps(data))
    folder = repo / "node_modules" / f"{name}_{version}"
    folder.mkdir(parents=True)
    (folder / "package.json").write_text(json.dumps({"name": name, "version": version}))
    if schema is not None:
        (folder / "configuration-schema.json").write_text(json.dumps(schema))


@pytest.fixture
def adaptors(tmp_path, settings):
    """An adaptor repository with language-example 1.0.0 (our schema) and a schema-less language-plain."""
    repo = tmp_path / "adaptors"
    repo.mkdir()
    install_fake_adaptor(repo, EXAMPLE_ADAPTOR, "1.0.0", EXAMPLE_SCHEMA)
    install_fake_adaptor(repo, "@openfn/language-plain", "2.0.0")
    settings.ADAPTOR_REPO_DIR = repo
    return repo


@pytest.fixture
def dave(db):
    return make_user("dave@example.com", name="Dave")


@pytest.fixture
def other_project(alice, dave):
    other = make_project(alice, name="Other Ministry")
    Membership.objects.create(project=other, user=dave, role=Membership.Role.COLLABORATOR)
    return other


@pytest.fixture
def credential(adaptors, alice, project, other_project):
    credential = make_credential(alice, name="dhis2-prod", body=dict(EXAMPLE_BODY), projects=[project])
    credential.schema = EXAMPLE_ADAPTOR
    credential.save()
    return credential


@pytest.fixture
def api_for(token_for):
    def client(user) -> Client:
        return Client(headers={"Authorization": f"Bearer {token_for(user)}"})

    return client
