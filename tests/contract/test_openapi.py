"""The REST API keeps the promises of its OpenAPI document (docs/api.md): Schemathesis reads
/api/v1/openapi.json from a `kindling serve` started here, on the database the suite runs on (SQLite
or PostgreSQL), and sends generated requests to every operation with a personal token of a seeded
project's owner: every check, in the coverage, fuzzing and stateful phases. Any finding fails the test
and its report says which operation, what was sent (a curl line) and what came back.

The run is deterministic (a fixed seed, no example database) and bounded (max examples per operation),
so that a failure reproduces; three Schemathesis processes (the coverage and fuzzing phases on two
halves of the operations, and the stateful phase) run side by side against the one server, so that it
stays under three minutes on a loaded machine.
"""

import json
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from kindling.accounts.models import ApiToken
from kindling.collections.store import create_collection, upsert
from kindling.exports.models import Export
from kindling.inbox.auth_methods import add_method
from kindling.jobs.models import AdaptorInstall
from kindling.projects.members import add_member
from tests.conftest import make_credential, make_job, make_project, make_trigger, make_user, post_message
from tests.localhttp import JsonHandler, local_server
from tests.portal.conftest import make_run
from tests.queue.conftest import shared_db  # noqa: F401 - the database `kindling serve` shares with this test

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
SEED = 21
MAX_EXAMPLES = 8


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed_project() -> tuple[str, dict]:
    """A project with one of everything the API addresses by id: its owner's token, and the ids."""
    alice = make_user("alice@example.com")
    project = make_project(alice)
    bob = make_user("bob@example.com")
    add_member(project, alice, bob.email, "collaborator")
    trigger = make_trigger(project, criteria={"form": "a"})
    job = make_job(project, trigger=trigger)
    message, _runs = post_message(project, {"form": "a"})
    run = make_run(job, message=message)
    credential = make_credential(alice, projects=[project])
    method = add_method(project, alice, "api_key", "contract").method
    export = Export.objects.create(project=project, requester=alice, kind="runs")
    install = AdaptorInstall.objects.create(
        adaptor="@openfn/language-http", version="7.2.10", status=AdaptorInstall.Status.FAILED
    )
    collection = create_collection(project, "contract")
    upsert(collection, [{"key": "k", "value": "1"}])
    # A token the coverage and fuzzing phases may revoke (DELETE /account/tokens/{token_id})...
    spare, _secret = ApiToken.create(alice, "spare")
    token, secret = ApiToken.create(alice, "schemathesis")
    # ...and theirs out of reach of the small ids the stateful phase tries: revoking it would answer 401
    # to everything after.
    ApiToken.objects.filter(pk=token.pk).update(id=1_987_654_321)
    ids = {
        "slug": project.slug,
        "job_id": job.pk,
        "trigger_id": trigger.pk,
        "message_id": message.pk,
        "run_id": run.pk,
        "credential_id": credential.pk,
        "user_id": bob.pk,
        "method_id": method.pk,
        "export_id": export.pk,
        "collection_id": collection.pk,
        "item_id": collection.items.get().pk,
        "token_id": spare.pk,
        "install_id": install.pk,
    }
    return secret, ids


def wait_for_port(port: int, server: subprocess.Popen, output: Path) -> None:
    for _attempt in range(600):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        try:
            # A short wait on the server itself, which ends at once if it exits.
            server.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"kindling serve exited early:\n{output.read_text()[-3000:]}")
    pytest.fail("kindling serve never listened")


def start_server(environment: dict, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**environment, "PORT": str(port), "KINDLING_BASE_URL": f"http://127.0.0.1:{port}"}
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "kindling.cli", "serve", "--workers", "0", "--no-scheduler"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return server, f"http://127.0.0.1:{port}"


class NoPackages(JsonHandler):
    """An npm registry that has no package at all: npm says E404, as it does for a name nobody
    published."""

    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_json(404, {"error": "Not found"})


@pytest.fixture
def empty_registry():
    """The address of an npm registry on 127.0.0.1 without packages: the fuzzing's adaptor installs
    and version lists ask it, and fail as they would for a made-up name, without the network."""
    with local_server(NoPackages) as server:
        yield f"http://127.0.0.1:{server.server_address[1]}/"


@pytest.fixture
def served_api(shared_db, tmp_path, empty_registry):  # noqa: F811
    """The servers' addresses, the token and the seeded ids. On PostgreSQL two `kindling serve` share
    the database, as web processes behind a load balancer do: one Python process answers with one CPU
    at most, and three Schemathesis runs keep two busy. On SQLite, one (the embedded set-up)."""
    token, ids = seed_project()
    count = 2 if "DATABASE_URL" in shared_db else 1
    # Adaptor installs go to an adaptor repository of the test's own, from the empty registry.
    environment = {
        **shared_db,
        "KINDLING_ADAPTOR_DIR": str(tmp_path / "adaptors"),
        "npm_config_registry": empty_registry,
    }
    servers = [start_server(environment, tmp_path / f"serve-{n}.log") for n in range(count)]
    try:
        for n, (server, base) in enumerate(servers):
            wait_for_port(int(base.rsplit(":", 1)[1]), server, tmp_path / f"serve-{n}.log")
            # The first request builds the document (seconds on a loaded machine; Schemathesis waits 10).
            with urllib.request.urlopen(f"{base}/api/v1/openapi.json", timeout=120) as answer:
                assert answer.status == 200
        yield [base for _server, base in servers], token, ids
    finally:
        for server, _base in servers:
            server.terminate()
        for server, _base in servers:
            server.wait(timeout=30)


# The operations, in two halves that run side by side (one process each: on a loaded machine a request
# mostly waits for a CPU, and the coverage phase sends thousands).
HALVES = (["--include-path-regex", "^/api/v1/projects/"], ["--exclude-path-regex", "^/api/v1/projects/"])


def schemathesis(base: str, token: str, phases: str, config: Path, *selection: str) -> subprocess.Popen:
    """Start Schemathesis on the served API: the process and the file of its report (see finished)."""
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(config),
        "run",
        f"{base}/api/v1/openapi.json",
        *selection,
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "all",
        "--phases",
        phases,
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--generation-database",
        "none",
        # One worker: Python 3.11's ast module is not thread-safe, and Hypothesis parses lambdas with it.
        "--workers",
        "1",
        "--no-color",
    ]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finished(run: subprocess.Popen, what: str) -> str:
    """Schemathesis' report, or a failure that shows it."""
    report, _ = run.communicate(timeout=600)
    assert run.returncode == 0, (
        f"Schemathesis ({what}) found where the API and its document disagree:\n{report}"
    )
    return report


def with_seeded_ids(ids: dict[str, int], tmp_path: Path) -> Path:
    """The configuration, plus the seeded objects' ids as path parameters (as numbers: a string for an
    integer parameter would read as a request the document forbids)."""
    lines = ["", "[parameters]", *(f'"path.{name}" = {json.dumps(value)}' for name, value in ids.items())]
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG.read_text() + "\n".join(lines) + "\n")
    return config


def test_every_operation_answers_as_its_document_says(served_api, tmp_path):
    bases, token, ids = served_api
    seeded = with_seeded_ids(ids, tmp_path)
    runs = {
        # Coverage (each declared constraint, at and past its limits) and fuzzing, on the seeded objects.
        **{
            f"coverage,fuzzing of {selection[1]} ({selection[0]})": schemathesis(
                bases[n % len(bases)], token, "coverage,fuzzing", seeded, *selection
            )
            for n, selection in enumerate(HALVES)
        },
        # The stateful phase: create -> get -> patch -> delete along the document's links, from nothing
        # but the token.
        "stateful": schemathesis(bases[0], token, "stateful", CONFIG),
    }
    try:
        reports = {what: finished(run, what) for what, run in runs.items()}
    finally:
        for run in runs.values():
            if run.poll() is None:
                run.kill()
    assert all("Seed: 21" in report for report in reports.values())
    # The install operation was reached (not refused before it), and the empty registry had nothing.
    installs = AdaptorInstall.objects.exclude(pk=ids["install_id"])
    assert installs.exists() and not installs.filter(status=AdaptorInstall.Status.DONE).exists()
