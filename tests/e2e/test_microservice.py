"""microservice.zip as a user runs it: unpack it, start `kindling microservice project.yaml` from it,
post a message to its inbox and see the runs succeed, with the credential from the environment."""

import io
import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

from kindling.exports import build
from kindling.projects.portability import import_project
from tests.e2e.test_serve import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
PROJECT = """
jobs:
  job-1:
    expression: |
      fn(state => {
        state.data.number = state.data.number * 2;
        state.data.user = state.configuration.username;
        return state;
      })
    adaptor: '@openfn/language-common@3.3.4'
    trigger: trigger-1
    credential: my-secret-credential
  flow-job:
    expression: >
      fn(state => { state.data.number = state.data.number * 3; return state; })
    adaptor: '@openfn/language-common@3.3.4'
    trigger: after-j1
triggers:
  trigger-1:
    criteria: '{"number":2}'
  after-j1:
    success: job-1
credentials:
  my-secret-credential:
    username: 'user@example.com'
    password: 'shhh'
"""


def finished_runs(database: Path) -> dict:
    if not database.exists():
        return {}
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT j.name, r.status, r.final_state FROM runs_run r JOIN jobs_job j ON j.id = r.job_id "
            "WHERE r.status IN ('success', 'failed', 'lost', 'aborted')"
        ).fetchall()
    return {name: (status, json.loads(state) if state else None) for name, status, state in rows}


def test_the_unpacked_zip_runs_the_project_on_its_own(alice, tmp_path, settings):
    settings.EXPORTS_DIR = tmp_path / "exports"
    project = import_project(PROJECT, "Clinic", alice)
    export = build.build(build.request_export(project, alice, "microservice.zip"))
    with zipfile.ZipFile(io.BytesIO(Path(export.file_path).read_bytes())) as archive:
        archive.extractall(tmp_path)
    folder = tmp_path / "clinic-microservice"
    readme = (folder / "README.md").read_text()
    assert "`KINDLING_CREDENTIAL_MY_SECRET_CREDENTIAL`" in readme

    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("KINDLING_", "DJANGO_"))},
        # reuse the adaptors the rest of the suite installed: installing is tested elsewhere
        "KINDLING_ADAPTOR_DIR": str(settings.ADAPTOR_REPO_DIR),
        "KINDLING_CREDENTIAL_MY_SECRET_CREDENTIAL": json.dumps({"username": "real-user", "password": "real"}),
        # a DATABASE_URL in the shell must not matter: the microservice has its own SQLite database
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "kindling.cli", "microservice", "project.yaml", "--port", str(port)],
        env=env,
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # The first start migrates a fresh database and imports the project before serving.
        wait_for_port(port, server, seconds=120)
        post = urllib.request.Request(
            f"http://127.0.0.1:{port}/inbox",
            data=b'{"number": 2}',
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(post, timeout=5) as response:
            assert response.status == 202
            assert json.load(response)["data"] == ["job-1"]
        deadline, runs = time.monotonic() + 60, {}
        while time.monotonic() < deadline and set(runs) < {"job-1", "flow-job"}:
            runs = finished_runs(folder / "data" / "kindling.sqlite3")
            time.sleep(0.2)
        assert runs["job-1"] == ("success", {"data": {"number": 4, "user": "real-user"}})
        assert runs["flow-job"][0] == "success"
        assert runs["flow-job"][1]["data"]["number"] == 12
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert f"Inbox: POST http://127.0.0.1:{port}/inbox" in output
    assert "real-user" not in output and '"real"' not in output


def test_it_refuses_to_start_without_a_credentials_variable(alice, tmp_path):
    (tmp_path / "project.yaml").write_text(PROJECT)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KINDLING_", "DJANGO_"))}

    out = subprocess.run(
        [sys.executable, "-m", "kindling.cli", "microservice", "project.yaml", "--port", str(free_port())],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert out.returncode != 0
    assert "KINDLING_CREDENTIAL_MY_SECRET_CREDENTIAL is not set" in out.stderr
