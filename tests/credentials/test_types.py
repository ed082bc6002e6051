"""Credential types come from the installed adaptors' configuration schemas; forms and validation follow."""

import pytest

from kindling.credentials import schemas
from kindling.credentials.forms import CredentialForm
from kindling.credentials.schemas import MASK
from tests.credentials.conftest import EXAMPLE_ADAPTOR, EXAMPLE_BODY, EXAMPLE_SCHEMA, install_fake_adaptor


def example_type():
    return schemas.type_for(EXAMPLE_ADAPTOR, strict=True)


def form_for(data=None, stored=None):
    return CredentialForm(data, credential_type=example_type(), stored=stored, name="c")


def test_raw_json_comes_first_then_one_type_per_adaptor_with_a_schema(adaptors):
    types = schemas.available_types()

    assert [(t.key, t.label) for t in types] == [("raw", "Raw JSON"), (EXAMPLE_ADAPTOR, "example")]
    assert types[1].version == "1.0.0"


def test_the_newest_installed_version_gives_the_schema(adaptors):
    newer = {**EXAMPLE_SCHEMA, "properties": {"token": {"type": "string", "writeOnly": True}}}
    install_fake_adaptor(adaptors, EXAMPLE_ADAPTOR, "1.10.0", newer)
    install_fake_adaptor(adaptors, EXAMPLE_ADAPTOR, "1.9.0", EXAMPLE_SCHEMA)

    credential_type = example_type()

    assert credential_type.version == "1.10.0"
    assert list(credential_type.properties) == ["token"]


def test_an_unknown_type_is_refused_for_a_new_credential(adaptors):
    assert schemas.type_for("@openfn/language-plain", strict=True) is None
    assert schemas.type_for("@openfn/language-nope", strict=True) is None


def test_the_form_is_generated_from_the_schema(adaptors):
    html = str(form_for().as_div())
    form = form_for()

    assert form.fields["body-username"].label == "Username"
    assert form.fields["body-username"].help_text == "Who logs in"
    assert 'placeholder="someone@example.org"' in str(form["body-username"])
    assert 'type="password"' in str(form["body-password"])
    assert 'autocomplete="new-password"' in str(form["body-password"])
    assert 'type="url"' in str(form["body-baseUrl"])
    assert "required" in str(form["body-baseUrl"]) and "required" not in str(form["body-apiVersion"])
    assert 'type="number"' in str(form["body-apiVersion"])
    assert 'type="checkbox"' in str(form["body-verbose"])
    assert "<select" in str(form["body-region"])
    assert "<textarea" in str(form["body-tls"])
    assert html.count("<label") == 8  # name + 7 properties


def test_a_valid_form_gives_a_typed_body(adaptors):
    form = form_for(
        {
            "name": "c",
            "body-username": "ada",
            "body-password": " p a s s ",
            "body-baseUrl": "https://example.org",
            "body-apiVersion": "3",
            "body-verbose": "on",
            "body-region": "eu",
            "body-tls": '{"ca": "pem"}',
        }
    )

    assert form.is_valid(), form.errors
    assert form.body == {
        "username": "ada",
        "password": " p a s s ",
        "baseUrl": "https://example.org",
        "apiVersion": 3,
        "verbose": True,
        "region": "eu",
        "tls": {"ca": "pem"},
    }


@pytest.mark.parametrize(
    "changes, field, problem",
    [
        ({"body-username": ""}, "body-username", "is required"),
        ({"body-baseUrl": "not a url"}, "body-baseUrl", "is not a 'uri'"),
        ({"body-apiVersion": "0"}, "body-apiVersion", "less than the minimum of 1"),
        ({"body-tls": "{oops"}, "body-tls", "not valid JSON"),
        ({"body-tls": "[1]"}, "body-tls", "is not of type 'object'"),
        ({"body-region": "mars"}, "body-region", "Select a valid choice"),
    ],
)
def test_errors_land_on_the_field_they_are_about(adaptors, changes, field, problem):
    data = {"name": "c", "body-username": "ada", "body-password": "pw", "body-baseUrl": "https://example.org"}

    form = form_for({**data, **changes})

    assert not form.is_valid()
    assert list(form.errors) == [field]
    assert problem in " ".join(form.errors[field])


def test_editing_shows_the_values_but_masks_the_secrets(adaptors):
    form = form_for(stored={**EXAMPLE_BODY, "tls": {"key": "private"}})

    assert form.initial["body-username"] == "ada@example.org"
    assert form.initial["body-password"] == MASK
    assert form.initial["body-tls"] == MASK
    assert "hunter2" not in str(form.as_div()) and "private" not in str(form.as_div())


def test_sending_the_mask_back_keeps_the_stored_secret(adaptors):
    stored = {**EXAMPLE_BODY, "tls": {"key": "private"}, "extra": "from an import"}

    form = form_for(
        {
            "name": "c",
            "body-username": "grace",
            "body-password": MASK,
            "body-baseUrl": "https://example.org",
            "body-tls": MASK,
        },
        stored=stored,
    )

    assert form.is_valid(), form.errors
    assert form.body == {
        "username": "grace",
        "password": "hunter2-secret",
        "baseUrl": "https://example.org",
        "tls": {"key": "private"},
        "extra": "from an import",
    }


def test_the_raw_json_form_masks_every_value_and_keeps_masked_ones(adaptors):
    stored = {"user": "ada", "token": "t0k3n"}
    raw = schemas.type_for("raw")

    shown = CredentialForm(credential_type=raw, stored=stored)
    sent = CredentialForm(
        {"name": "c", "body": '{"user": "grace", "token": "******", "new": 1}'},
        credential_type=raw,
        stored=stored,
    )

    assert "t0k3n" not in str(shown["body"]) and "ada" not in str(shown["body"])
    assert sent.is_valid(), sent.errors
    assert sent.body == {"user": "grace", "token": "t0k3n", "new": 1}


@pytest.mark.parametrize("text, problem", [("[1, 2]", "JSON object"), ('{"a": ', "not valid JSON (line 1")])
def test_raw_json_must_be_an_object(adaptors, text, problem):
    form = CredentialForm({"name": "c", "body": text}, credential_type=schemas.type_for("raw"))

    assert not form.is_valid()
    assert problem in form.errors["body"][0]


def test_validation_names_each_bad_field_with_its_title(adaptors):
    with pytest.raises(schemas.InvalidBody) as caught:
        schemas.validate(example_type(), {"username": "ada", "baseUrl": "nope"})

    assert caught.value.fields == {"baseUrl": "'nope' is not a 'uri'", "password": "is required"}
    assert "baseUrl (Base URL): 'nope' is not a 'uri'" in str(caught.value)
    assert "password (Password): is required" in str(caught.value)


def test_the_mask_stands_for_secrets_only(adaptors):
    body = {**EXAMPLE_BODY, "unknown": "kept secret", "verbose": False}

    assert schemas.masked(example_type(), body) == {
        "username": "ada@example.org",
        "password": MASK,
        "baseUrl": "https://example.org",
        "unknown": MASK,
        "verbose": False,
    }
