"""`kindling backup` while messages and runs arrive, and `kindling restore` into a fresh data
directory that then works: every message with its run, credentials readable, new messages taken."""

import json
import subprocess
import sys
import tarfile
import time

import pytest

from tests.ops.conftest import ROOT, environment, kindling, python

ARRANGE = """
import django; django.setup()
from kindling.accounts.models import User
from kindling.credentials.models import Credential
from kindling.jobs.models import Job, Trigger
from kindling.projects.models import Project
alice = User.objects.create_user(email="alice@example.com", password="pw-123456")
project = Project.create("Backups", alice)
trigger = Trigger.objects.create(project=project, name="t", kind="message", criteria={})
Job.objects.create(project=project, name="j", trigger=trigger, expression="fn(s => s);",
                   adaptor="@openfn/language-common", adaptor_version="3.3.4", enabled=True)
credential = Credential(name="c", owner=alice)
credential.body = {"password": "kept-secret"}
credential.save()
"""

# Messages arriving, and runs ending with log lines, until the stop file appears.
LOAD = """
import sys, pathlib, django; django.setup()
from kindling.engine import LogLine
from kindling.inbox.receive import receive
from kindling.projects.models import Project
from kindling.runs import queue
from django.utils import timezone
project, stop, count = Project.objects.get(), pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
n = 0
while not stop.exists():
    receive(project.pk, {"n": n}, {})
    run = queue.claim("loader", lease_seconds=60)
    if run is not None:
        queue.finish(run, 0, {"n": n}, [LogLine(timezone.now(), "JOB", "info", f"line {n}")])
    n += 1
    count.write_text(str(n))
"""

CHECK = """
import json, django; django.setup()
from django.db import connection
from kindling.credentials.models import Credential
from kindling.inbox.models import Message
from kindling.inbox.receive import receive
from kindling.projects.models import Project
from kindling.runs.models import Run
with connection.cursor() as cursor:
    cursor.execute("PRAGMA integrity_check")
    integrity = cursor.fetchone()[0]
messages = Message.objects.count()
alone = Message.objects.filter(runs=None).count()
ended_without_log = Run.objects.filter(status="success", log_lines=None).count()
receive(Project.objects.get().pk, {"after": "restore"}, {})
print(json.dumps({
    "integrity": integrity, "messages": messages, "alone": alone, "ended_without_log": ended_without_log,
    "password": Credential.objects.get().body["password"], "after": Message.objects.count() - messages,
}))
"""


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def instance(tmp_path):
    data = tmp_path / "live"
    data.mkdir()
    kindling(data, "migrate", "--no-input")
    python(data, ARRANGE)
    return data


def test_a_backup_made_under_load_restores_to_a_working_instance(instance, tmp_path):
    stop, count = tmp_path / "stop", tmp_path / "count"
    loader = subprocess.Popen(
        [sys.executable, "-c", LOAD, str(stop), str(count)],
        env=environment(instance),
        cwd=ROOT,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(lambda: count.exists() and int(count.read_text() or 0) >= 20)
        backup = tmp_path / "kindling-backup.tar.gz"
        made = kindling(instance, "backup", str(backup))
        at_backup = int(count.read_text() or 0)
        wait_for(lambda: int(count.read_text() or 0) >= at_backup + 5)  # the load went on meanwhile
    finally:
        stop.touch()
        _out, err = loader.communicate(timeout=60)
    assert loader.returncode == 0, err

    assert "encryption.key" in made.stdout
    assert backup.stat().st_mode & 0o777 == 0o600
    with tarfile.open(backup) as archive:
        assert sorted(archive.getnames()) == [
            "encryption.key",
            "kindling.sqlite3",
            "manifest.json",
            "secret_key",
        ]

    fresh = tmp_path / "fresh"
    fresh.mkdir()
    restored = kindling(fresh, "restore", str(backup))
    assert "restored the database" in restored.stdout
    kindling(fresh, "migrate", "--check")
    found = python(fresh, CHECK)

    result = json.loads(found)
    assert result["integrity"] == "ok"
    assert 20 <= result["messages"] < int(count.read_text())
    assert result["alone"] == 0  # each message came with its run: no transaction was cut in half
    assert result["ended_without_log"] == 0
    assert result["password"] == "kept-secret"  # the encryption key came back with the database
    assert result["after"] == 1


def test_restore_refuses_to_overwrite_an_instance_with_projects(instance, tmp_path):
    backup = tmp_path / "b.tar.gz"
    kindling(instance, "backup", str(backup))
    refused = kindling(instance, "restore", str(backup), check=False)
    assert refused.returncode != 0
    assert "already holds a Kindling database" in refused.stderr and "--force" in refused.stderr
    assert "restored the database" in kindling(instance, "restore", str(backup), "--force").stdout


def test_restore_refuses_a_file_that_is_no_backup(tmp_path):
    data = tmp_path / "d"
    data.mkdir()
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tar")
    refused = kindling(data, "restore", str(junk), check=False)
    assert refused.returncode != 0 and "Cannot read" in refused.stderr


def test_backup_points_postgresql_users_to_pg_dump(db, tmp_path, settings):
    from django.core.management import CommandError, call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the refusal is PostgreSQL's; the tests above cover SQLite")
    with pytest.raises(CommandError, match="back it up with pg_dump"):
        call_command("backup", str(tmp_path / "b.tar.gz"))
