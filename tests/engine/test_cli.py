"""`kindling execute` runs one job file like OpenFn's CLI, without a database; `kindling adaptor`
installs and lists adaptors."""

import json
import os
import subprocess
import sys

import pytest

from tests.engine.conftest import COMMON, HTTP


@pytest.fixture
def kindling(adaptor_repo, tmp_path):
    """kindling(*args) -> CompletedProcess, in a folder of its own, with a database that cannot be
    reached: a command that touched it would fail."""
    env = {
        **os.environ,
        "KINDLING_DATA_DIR": str(tmp_path / "data"),
        "KINDLING_ADAPTOR_DIR": str(adaptor_repo),
        "DATABASE_URL": "postgres://nobody:nothing@127.0.0.1:9/no-such-database",
    }

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "kindling.cli", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run


def test_execute_runs_a_job_file_against_a_state_file_and_writes_the_final_state(kindling, tmp_path):
    (tmp_path / "job.js").write_text(
        "fn(state => {\n  console.log('doubling', state.data.n, state.configuration.password);\n"
        "  return { ...state, data: { n: state.data.n * 2 } };\n});\n"
    )
    (tmp_path / "state.json").write_text(
        json.dumps({"data": {"n": 21}, "configuration": {"password": "hunter22"}})
    )

    done = kindling("execute", "job.js", "--adaptor", COMMON, "--state", "state.json", "-o", "out.json")

    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads((tmp_path / "out.json").read_text()) == {"data": {"n": 42}}
    lines = done.stdout.splitlines()
    assert lines[0].startswith("[RTE] ℹ Limits:")
    assert "[VER] ℹ Versions:" in lines
    assert "[JOB] ℹ doubling 21 [REDACTED]" in lines
    assert "[R/T] ℹ Run complete with status: success" in lines
    assert "hunter22" not in done.stdout


def test_execute_runs_language_http_against_a_local_server(kindling, tmp_path, patients_server):
    (tmp_path / "job.js").write_text("get('/patients/1');\n")
    (tmp_path / "state.json").write_text(json.dumps({"configuration": {"baseUrl": patients_server}}))

    done = kindling("execute", "job.js", "--adaptor", HTTP, "--state", "state.json")

    assert done.returncode == 0, done.stdout + done.stderr
    assert '"name": "Ada Lovelace"' in done.stdout
    assert "@openfn/language-http       7.2.10" in done.stdout


def test_execute_exits_with_the_runs_exit_code(kindling, tmp_path):
    (tmp_path / "job.js").write_text("fn(state => state);\nconst x = $.data;\n")

    done = kindling("execute", "job.js", "-a", "common@3.3.4")

    assert done.returncode == 3
    assert "must be inside an operation" in done.stdout


def test_adaptor_list_prints_the_installed_versions(kindling):
    done = kindling("adaptor", "list")

    assert done.returncode == 0, done.stderr
    assert {COMMON, HTTP} <= set(done.stdout.splitlines())


def test_adaptor_install_of_an_installed_version_prints_it(kindling):
    done = kindling("adaptor", "install", "common@3.3.4")

    assert (done.returncode, done.stdout.strip()) == (0, COMMON)


def test_adaptor_install_of_a_missing_version_exits_3_with_npms_reason(kindling):
    done = kindling("adaptor", "install", "@openfn/language-common@0.0.0-no-such-version")

    assert done.returncode == 3
    assert "No matching version found" in done.stderr
