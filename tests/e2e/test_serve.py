"""`kindling serve` as a user runs it: import the example project, post to its inbox, watch the runs.

It runs the real CLI in subprocesses against its own database: a fresh SQLite file, or, when the suite
runs on PostgreSQL, a database of its own on the same server.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from tests.e2e.conftest import EXAMPLE


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fresh_database_url():
    """On PostgreSQL, a database of this test's own (named for this process: two suites on one server
    do not meet), dropped afterwards; None on SQLite."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        yield None
        return
    name = f"kindling_serve_test_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    yield url.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def env(tmp_path, fresh_database_url):
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("KINDLING_", "DJANGO_"))},
        "KINDLING_DATA_DIR": str(tmp_path / "data"),
        # reuse the adaptors the rest of the suite installed: installing is tested elsewhere
        "KINDLING_ADAPTOR_DIR": str(settings.ADAPTOR_REPO_DIR),
        "PORT": str(port),
        "KINDLING_ADMIN_EMAIL": "admin@example.com",
        "KINDLING_ADMIN_PASSWORD": "admin-password-1",
    }
    env.pop("DATABASE_URL", None)
    if fresh_database_url:
        env["DATABASE_URL"] = fresh_database_url
    return env


def kindling(env, *args) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "kindling.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def get_json(url: str, token: str):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    # The first request of a process imports the whole API: seconds on a loaded machine.
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def wait_for_port(port: int, server, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, "kindling serve exited early"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError("the portal never started listening")


def test_serve_runs_the_example_project_end_to_end(env):
    kindling(env, "migrate", "--noinput", "-v", "0")
    assert "admin@example.com" in kindling(env, "bootstrap")
    imported = json.loads(
        kindling(env, "project", "import", str(EXAMPLE), "--name", "Demo", "--owner", "admin@example.com")
    )
    token = kindling(env, "token", "create", "--email", "admin@example.com").strip()
    base = f"http://127.0.0.1:{env['PORT']}"
    assert imported["inbox_url"].startswith(f"{base}/inbox/")

    server = subprocess.Popen(
        [sys.executable, "-m", "kindling.cli", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        wait_for_port(int(env["PORT"]), server)
        post = urllib.request.Request(
            imported["inbox_url"],
            data=b'{"number": 2}',
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(post, timeout=30) as response:
            assert response.status == 202
            assert json.load(response)["data"] == ["job-1"]

        runs_url = f"{base}/api/v1/projects/{imported['project']}/runs?status=success"
        deadline = time.monotonic() + 30
        runs = []
        while time.monotonic() < deadline:
            runs = get_json(runs_url, token)["items"]
            if {r["job"] for r in runs} >= {"job-1", "flow-job"}:
                break
            time.sleep(0.2)
        by_job = {r["job"]: r for r in runs}
        assert by_job["job-1"]["final_state"]["data"] == {"number": 4}
        assert by_job["flow-job"]["final_state"]["data"] == {"number": 12}
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert server.returncode == 0
