"""Without the job sandbox, workers refuse to start and the portal says why, unless the operator
trusts every job author (KINDLING_NO_SANDBOX=1)."""

import io

import pytest
from django.core.management import call_command

from kindling.engine import sandbox


@pytest.fixture
def no_sandbox_here(monkeypatch):
    monkeypatch.setattr(sandbox, "unavailable_reason", lambda: "slirp4netns is not installed")
    monkeypatch.delenv(sandbox.NO_SANDBOX_ENV, raising=False)


def test_a_worker_refuses_to_start_without_the_sandbox(db, no_sandbox_here):
    stderr = io.StringIO()
    with pytest.raises(SystemExit) as stopped:
        call_command("worker", "--once", stderr=stderr)

    assert stopped.value.code == 2
    assert "slirp4netns is not installed" in stderr.getvalue()
    assert "KINDLING_NO_SANDBOX=1" in stderr.getvalue()


def test_a_worker_refuses_a_bad_allow_list(db, monkeypatch):
    monkeypatch.setenv(sandbox.ALLOW_ENV, "db.internal:5432")
    stderr = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("worker", "--once", stderr=stderr)

    assert "'db.internal:5432' is neither" in stderr.getvalue()


def test_a_worker_starts_unsandboxed_when_the_operator_trusts_every_job_author(
    db, no_sandbox_here, monkeypatch
):
    monkeypatch.setenv(sandbox.NO_SANDBOX_ENV, "1")
    stderr = io.StringIO()
    call_command("worker", "--once", stderr=stderr, stdout=io.StringIO())

    assert "WITHOUT the OS sandbox" in stderr.getvalue()


def test_every_page_warns_when_jobs_cannot_be_sandboxed(client, alice, no_sandbox_here):
    client.force_login(alice)
    page = client.get("/projects/").content.decode()

    assert "Jobs cannot run here" in page
    assert "slirp4netns is not installed" in page


def test_no_warning_where_the_sandbox_works(client, alice, monkeypatch):
    monkeypatch.setattr(sandbox, "unavailable_reason", lambda: None)
    client.force_login(alice)

    assert "kindling-sandbox-warning" not in client.get("/projects/").content.decode()
