"""Bodies are encrypted at rest, with a key from the environment or a key file; rotate-key re-encrypts."""

import json
import stat
from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import CommandError, call_command
from django.db import connection

from kindling.credentials import crypto, rotation
from kindling.credentials.editing import create_credential
from kindling.credentials.models import Credential
from kindling.projects.portability import import_project
from tests.conftest import make_credential
from tests.credentials.conftest import EXAMPLE_ADAPTOR, EXAMPLE_BODY

SECRET = "correct-horse-battery-staple"


@pytest.fixture
def key_dir(tmp_path, settings, monkeypatch):
    """A data dir of its own: these tests create and rotate keys, which must not touch ./data."""
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    monkeypatch.delenv(crypto.ENV_KEY, raising=False)
    return settings.DATA_DIR


def file_keys(key_dir) -> list[bytes]:
    return [line for line in (key_dir / crypto.KEY_FILE_NAME).read_bytes().splitlines() if line]


def raw_rows() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM credentials_credential")
        return cursor.fetchall()


def test_the_table_never_holds_a_body_in_clear(adaptors, alice, project, client_for, api_for):
    create_credential(alice, "domain", "raw", {"password": SECRET + "-1"})
    client_for(alice).post(
        f"/projects/{project.slug}/credentials/new?type={EXAMPLE_ADAPTOR}",
        {
            "type": EXAMPLE_ADAPTOR,
            "name": "portal",
            "body-username": "ada",
            "body-password": SECRET + "-2",
            "body-baseUrl": "https://example.org",
        },
    )
    api_for(alice).post(
        "/api/v1/credentials",
        {"name": "api", "body": {"token": SECRET + "-3"}},
        content_type="application/json",
    )
    import_project(
        f"jobs: {{}}\ntriggers: {{}}\ncredentials:\n  imported:\n    password: '{SECRET}-4'\n",
        "Imported",
        alice,
    )

    rows = raw_rows()

    assert len(rows) == 4
    for row in rows:
        text = json.dumps([str(value) for value in row])
        assert SECRET not in text
        assert "password" not in text and "token" not in text  # not even the field names
    bodies = sorted(json.dumps(c.body) for c in Credential.objects.all())
    assert [SECRET in body for body in bodies] == [True] * 4


def test_the_key_file_is_created_on_first_use_for_the_owner_only(key_dir, alice):
    assert not (key_dir / crypto.KEY_FILE_NAME).exists()

    credential = make_credential(alice, body={"password": SECRET})

    path = key_dir / crypto.KEY_FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    [key] = file_keys(key_dir)
    assert json.loads(Fernet(key).decrypt(credential.body_encrypted.encode())) == {"password": SECRET}


def test_the_key_from_the_environment_is_used_and_no_file_is_made(key_dir, alice, monkeypatch):
    key = Fernet.generate_key()
    monkeypatch.setenv(crypto.ENV_KEY, key.decode())

    credential = make_credential(alice, body={"password": SECRET})

    assert json.loads(Fernet(key).decrypt(credential.body_encrypted.encode())) == {"password": SECRET}
    assert not (key_dir / crypto.KEY_FILE_NAME).exists()


def test_a_body_cannot_be_read_with_another_key(key_dir, alice, monkeypatch):
    monkeypatch.setenv(crypto.ENV_KEY, Fernet.generate_key().decode())
    credential = make_credential(alice, body={"password": SECRET})
    monkeypatch.setenv(crypto.ENV_KEY, Fernet.generate_key().decode())

    with pytest.raises(ValueError, match="cannot be decrypted"):
        _ = Credential.objects.get(pk=credential.pk).body


def test_rotate_key_re_encrypts_every_body_with_a_new_key(key_dir, alice):
    credentials = [make_credential(alice, name=f"c{i}", body={"password": f"{SECRET}-{i}"}) for i in range(3)]
    [old_key] = file_keys(key_dir)
    out = StringIO()

    call_command("credentials", "rotate-key", stdout=out)

    [new_key] = file_keys(key_dir)
    assert new_key != old_key
    assert "Re-encrypted 3 credential bodies" in out.getvalue()
    for i, before in enumerate(credentials):
        after = Credential.objects.get(pk=before.pk)
        assert after.body_encrypted != before.body_encrypted
        assert after.body == {"password": f"{SECRET}-{i}"}
        assert json.loads(Fernet(new_key).decrypt(after.body_encrypted.encode())) == after.body
        with pytest.raises(InvalidToken):
            Fernet(old_key).decrypt(after.body_encrypted.encode())


def test_the_old_key_keeps_decrypting_until_the_rotation_ends(key_dir, alice, monkeypatch):
    credential = make_credential(alice, body={"password": SECRET})
    [old_key] = file_keys(key_dir)
    seen = {}
    original = rotation.reencrypt_all

    def while_rotating(keys):
        # Another process, mid-rotation: the key file holds [new, old]; rows not yet re-encrypted still
        # read, and anything saved now is encrypted with the new key.
        seen["keys"] = file_keys(key_dir)
        seen["old_row"] = Credential.objects.get(pk=credential.pk).body
        seen["new_token"] = crypto.encrypt_json({"saved": "meanwhile"})
        return original(keys)

    monkeypatch.setattr(rotation, "reencrypt_all", while_rotating)

    call_command("credentials", "rotate-key", stdout=StringIO())

    new_key, kept_old = seen["keys"]
    assert kept_old == old_key
    assert seen["old_row"] == {"password": SECRET}
    assert json.loads(Fernet(new_key).decrypt(seen["new_token"].encode())) == {"saved": "meanwhile"}
    assert file_keys(key_dir) == [new_key]


def test_a_process_that_read_bodies_before_a_rotation_reads_them_after_it(key_dir, alice):
    credential = make_credential(alice, body={"password": SECRET})
    assert Credential.objects.get(pk=credential.pk).body  # this process now holds a cipher of the old key

    rotation.rotate()

    assert Credential.objects.get(pk=credential.pk).body == {"password": SECRET}
    [new_key] = file_keys(key_dir)
    fresh = make_credential(alice, name="after", body={"password": "x"})
    assert Fernet(new_key).decrypt(fresh.body_encrypted.encode())


def test_with_one_key_in_the_environment_rotation_explains_the_steps(key_dir, alice, monkeypatch):
    monkeypatch.setenv(crypto.ENV_KEY, Fernet.generate_key().decode())
    make_credential(alice, body={"password": SECRET})

    with pytest.raises(CommandError, match=r"KINDLING_ENCRYPTION_KEY=<new>,<old>"):
        call_command("credentials", "rotate-key", stdout=StringIO())


def test_with_new_and_old_keys_in_the_environment_rotation_moves_every_body_to_the_new_one(
    key_dir, alice, monkeypatch
):
    old_key, new_key = Fernet.generate_key(), Fernet.generate_key()
    monkeypatch.setenv(crypto.ENV_KEY, old_key.decode())
    credential = make_credential(alice, body={"password": SECRET})
    monkeypatch.setenv(crypto.ENV_KEY, f"{new_key.decode()},{old_key.decode()}")
    out = StringIO()

    call_command("credentials", "rotate-key", stdout=out)

    token = Credential.objects.get(pk=credential.pk).body_encrypted
    assert json.loads(Fernet(new_key).decrypt(token.encode())) == {"password": SECRET}
    assert "remove the other keys" in out.getvalue()


def test_a_body_no_key_can_read_stops_the_rotation_before_the_old_key_is_dropped(key_dir, alice):
    readable = make_credential(alice, name="readable", body={"password": SECRET})
    lost = make_credential(alice, name="lost", body={})
    Credential.objects.filter(pk=lost.pk).update(
        body_encrypted=Fernet(Fernet.generate_key()).encrypt(b"{}").decode()
    )
    [old_key] = file_keys(key_dir)

    with pytest.raises(CommandError, match=rf"credentials {lost.pk} cannot be decrypted"):
        call_command("credentials", "rotate-key", stdout=StringIO())

    assert old_key in file_keys(key_dir)
    assert Credential.objects.get(pk=readable.pk).body == {"password": SECRET}


def test_new_key_prints_a_key_the_environment_variable_accepts(key_dir):
    out = StringIO()

    call_command("credentials", "new-key", stdout=out)

    Fernet(out.getvalue().strip().encode())


def test_deleting_destroys_the_body_even_when_a_job_keeps_the_row(adaptors, alice, project):
    from kindling.credentials.editing import delete_credential
    from tests.conftest import make_job

    credential = make_credential(alice, body=dict(EXAMPLE_BODY), projects=[project])
    make_job(project, credential=credential)

    delete_credential(credential, alice)

    [row] = Credential.objects.values("body_encrypted", "deleted_at")
    assert row["body_encrypted"] == "" and row["deleted_at"] is not None
    assert not Credential.objects.get().projects.exists()


def test_a_bad_key_in_the_environment_fails_the_system_check(key_dir, monkeypatch):
    from kindling.credentials.checks import check_encryption_keys

    monkeypatch.setenv(crypto.ENV_KEY, "not-a-key")

    [error] = check_encryption_keys(None)

    assert error.id == "kindling.E030" and "KINDLING_ENCRYPTION_KEY" in error.msg


def test_a_good_key_passes_the_system_check(key_dir):
    from kindling.credentials.checks import check_encryption_keys

    assert check_encryption_keys(None) == []


def test_a_body_no_key_reads_still_opens_and_its_owner_can_store_new_values(
    client_for, api_for, alice, project
):
    credential = make_credential(alice, name="lost-key", body={}, projects=[project])
    Credential.objects.filter(pk=credential.pk).update(
        body_encrypted=Fernet(Fernet.generate_key()).encrypt(b'{"a": 1}').decode()
    )
    client = client_for(alice)

    page = client.get(f"/credentials/{credential.pk}")
    listing = client.get(f"/projects/{project.slug}/credentials")
    api = api_for(alice).get(f"/api/v1/credentials/{credential.pk}").json()
    saved = client.post(f"/credentials/{credential.pk}", {"name": "lost-key", "body": '{"token": "fresh"}'})

    assert page.status_code == 200 and "cannot be decrypted" in page.content.decode()
    assert listing.status_code == 200 and "lost-key" in listing.content.decode()
    assert (api["readable"], api["body"]) == (False, None)
    assert saved.status_code == 302
    assert Credential.objects.get(pk=credential.pk).body == {"token": "fresh"}
