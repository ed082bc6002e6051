"""The engine's tests run the real Node runner against real adaptors, installed once into a folder
that outlives the test run (`data/adaptors`, the default repo of `make run`, or $KINDLING_TEST_ADAPTORS)."""

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from kindling import engine
from kindling.engine.node import RUNNER_DIR, runner_command
from tests.conftest import jobs_may_reach
from tests.localhttp import JsonHandler, local_server

ROOT = Path(__file__).resolve().parents[2]
COMMON = "@openfn/language-common@3.3.4"
HTTP = "@openfn/language-http@7.2.10"


@pytest.fixture(scope="session")
def adaptor_repo() -> Path:
    if not (RUNNER_DIR / "node_modules" / "@openfn" / "runtime").is_dir():
        subprocess.run(["npm", "ci", "--prefix", str(RUNNER_DIR), "--no-audit", "--no-fund"], check=True)
    repo = Path(os.environ.get("KINDLING_TEST_ADAPTORS", ROOT / "data" / "adaptors"))
    for adaptor in (COMMON, HTTP):
        engine.ensure_adaptor(adaptor, repo)
    return repo


@pytest.fixture(scope="session")
def run_job(adaptor_repo):
    """run_job(expression, data=..., configuration=..., adaptor=..., on_log=..., cancel=...,
    **RunSpec fields) -> RunResult"""

    def run(expression, *, data=None, configuration=None, adaptor=COMMON, on_log=None, cancel=None, **spec):
        state = {"data": data if data is not None else {}, "configuration": configuration}
        run_spec = engine.RunSpec(
            run_id=f"test-{uuid.uuid4()}", expression=expression, adaptor=adaptor, state=state, **spec
        )
        return engine.execute(run_spec, repo_dir=adaptor_repo, on_log=on_log, cancel=cancel)

    return run


@pytest.fixture
def pool():
    """A warm pool of its own for one test; its processes are killed at the end."""
    warm = engine.Pool(size=2, max_runs=200, max_heap_mb=256, idle_seconds=300)
    yield warm
    warm.close()


@pytest.fixture
def run_warm(adaptor_repo):
    """run_warm(pool, expression, key=..., data=..., configuration=..., on_log=..., cancel=...,
    **RunSpec fields) -> RunResult"""

    def run(
        pool,
        expression,
        *,
        key="project-1",
        data=None,
        configuration=None,
        adaptor=COMMON,
        on_log=None,
        cancel=None,
        **spec,
    ):
        state = {"data": data if data is not None else {}, "configuration": configuration}
        run_spec = engine.RunSpec(
            run_id=f"test-{uuid.uuid4()}", expression=expression, adaptor=adaptor, state=state, **spec
        )
        return pool.execute(run_spec, key=key, repo_dir=adaptor_repo, on_log=on_log, cancel=cancel)

    return run


def process_note(result) -> str:
    """How the run got its Node process: the end of the engine's "Limits:" line."""
    limits = next(line.message for line in result.log if line.message.startswith("Limits:"))
    return limits.rsplit("; ", 1)[-1]


def log_text(result) -> str:
    return "\n".join(f"{line.source} {line.level} {line.message}" for line in result.log)


@pytest.fixture(scope="session")
def compile_jobs(adaptor_repo):
    """compile_jobs([request fields, ...]) -> the runner's "compiled" events, in order; one node call."""

    def compile_all(requests: list[dict]) -> list[dict]:
        lines = [
            json.dumps({"type": "compile", "id": str(i), **request}) for i, request in enumerate(requests)
        ]
        completed = subprocess.run(
            runner_command(256),
            input="\n".join(lines) + "\n",
            capture_output=True,
            text=True,
            env={},
            cwd=RUNNER_DIR,
            timeout=60,
        )
        events = [json.loads(line) for line in completed.stdout.splitlines() if line.strip()]
        compiled = {event["id"]: event for event in events if event["type"] == "compiled"}
        assert len(compiled) == len(requests), completed.stdout + completed.stderr
        return [compiled[str(i)] for i in range(len(requests))]

    return compile_all


class _Patients(JsonHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        if self.path == "/patients/1":
            self.send_json(200, {"id": 1, "name": "Ada Lovelace"})
        elif self.path == "/patients/broken":
            self.send_json(500, {"error": "database down"})
        else:
            self.send_json(404, {"error": "no such patient"})


@pytest.fixture(scope="module")
def patients_server():
    """A local HTTP system: GET /patients/1 answers JSON, /patients/broken 500, anything else 404.
    Yields its base URL."""
    with local_server(_Patients) as server, jobs_may_reach(server.server_address[1]):
        yield f"http://127.0.0.1:{server.server_address[1]}"
