"""Job code is untrusted: what it can reach of the machine that runs it. The vm sandbox is no boundary
(any adaptor function leads to the host realm), so these jobs escape it on purpose, the way an
attacker would, and the OS sandbox (bubblewrap) and the empty environment must still hold."""

import json
import shutil
import sqlite3
import uuid

import pytest

from kindling.engine import node, sandbox
from tests.engine.conftest import log_text

pytestmark = pytest.mark.skipif(not sandbox.available(), reason="bubblewrap cannot run on this machine")

HOST = "fn.constructor('return process')()"

# Reads each path it is given every way it can: fs from the host realm, and CommonJS `require` built
# from the host's `module` (`process.mainModule` is undefined in an ES module, so that way is tried
# too). Returns what it could read.
READ_FILES = f"""fn(state => {{
  const host = {HOST};
  const fs = host.getBuiltinModule('fs');
  const require = host.mainModule?.require ?? host.getBuiltinModule('module').createRequire('/');
  const read = {{}};
  for (const path of state.data.paths) {{
    const ways = [() => fs.readFileSync(path, 'latin1'), () => require('fs').readFileSync(path, 'latin1')];
    for (const how of ways) {{
      try {{ read[path] = how(); break; }} catch (e) {{ read[path] = null; }}
    }}
  }}
  return {{ data: {{ read, dirs: state.data.paths.map(p => fs.existsSync(p.replace(/[^/]*$/, ''))) }} }};
}});"""

# Every environment this job can see: its own, and every process's that /proc shows it.
READ_ENVIRONMENTS = f"""fn(state => {{
  const host = {HOST};
  const fs = host.getBuiltinModule('fs');
  const seen = [JSON.stringify(host.env)];
  for (const pid of fs.readdirSync('/proc').filter(name => /^\\d+$/.test(name))) {{
    try {{ seen.push(fs.readFileSync('/proc/' + pid + '/environ', 'latin1')); }} catch (e) {{}}
  }}
  return {{ data: {{ env: Object.keys(host.env), seen: seen.join('\\n') }} }};
}});"""


@pytest.fixture
def platform_data(adaptor_repo):
    """A platform data directory beside the adaptor repository, as in a default installation
    (data/ holds kindling.sqlite3, secret_key, encryption.key and adaptors/), with marked files."""
    folder = adaptor_repo.resolve().parent / f"isolation-test-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    marker = f"platform-secret-{uuid.uuid4().hex}"
    with sqlite3.connect(folder / "kindling.sqlite3") as db:
        db.execute("create table credentials (body text)")
        db.execute("insert into credentials values (?)", (marker,))
    (folder / "secret_key").write_text(marker)
    (folder / "encryption.key").write_text(marker)
    yield folder, marker
    shutil.rmtree(folder)


def paths_in(folder):
    return [str(folder / name) for name in ("kindling.sqlite3", "secret_key", "encryption.key")]


def test_job_code_cannot_read_the_database_or_the_key_files(run_job, platform_data):
    folder, marker = platform_data

    result = run_job(READ_FILES, data={"paths": paths_in(folder)})

    assert result.exit_code == 0, log_text(result)
    assert result.final_state["data"]["read"] == dict.fromkeys(paths_in(folder))
    assert result.final_state["data"]["dirs"] == [False] * 3
    assert marker not in json.dumps(result.final_state) + log_text(result)


def test_the_same_job_reads_them_without_the_os_sandbox(run_job, platform_data, monkeypatch):
    # The control of the test above: the job does reach the files when nothing stops it.
    folder, marker = platform_data
    monkeypatch.setattr(node.sandbox, "available", lambda: False)
    monkeypatch.setenv(node.sandbox.NO_SANDBOX_ENV, "1")  # the operator trusts every job author

    result = run_job(READ_FILES, data={"paths": paths_in(folder)})

    assert all(marker in text for text in result.final_state["data"]["read"].values())


def test_job_code_cannot_read_the_platforms_real_data_directory(run_job, adaptor_repo):
    data_dir = adaptor_repo.resolve().parent
    paths = paths_in(data_dir)

    result = run_job(READ_FILES, data={"paths": paths})

    assert result.final_state["data"]["read"] == dict.fromkeys(paths)


def platform_environment() -> list[str]:
    """This process's environment as /proc shows it (the one it started with)."""
    with open("/proc/self/environ", "rb") as environ:
        return [entry.decode("latin1") for entry in environ.read().split(b"\0") if b"=" in entry]


def test_job_code_cannot_see_the_platforms_environment(run_job, monkeypatch):
    marker = f"env-marker-{uuid.uuid4().hex}"
    monkeypatch.setenv("KINDLING_ISOLATION_MARKER", marker)
    monkeypatch.setenv("DATABASE_URL", f"postgres://kindling:{marker}@db/kindling")

    result = run_job(READ_ENVIRONMENTS)

    seen = result.final_state["data"]["seen"]
    assert result.final_state["data"]["env"] == []
    assert marker not in seen
    assert [entry for entry in platform_environment() if entry in seen] == []


def test_without_the_os_sandbox_the_workers_environment_shows_through_proc(run_job, monkeypatch):
    # The control of the test above, and a warning: outside bubblewrap, the job's own environment is
    # still empty, but /proc shows it the environment the worker started with.
    monkeypatch.setattr(node.sandbox, "available", lambda: False)
    monkeypatch.setenv(node.sandbox.NO_SANDBOX_ENV, "1")  # the operator trusts every job author

    result = run_job(READ_ENVIRONMENTS)

    assert result.final_state["data"]["env"] == []
    assert any(entry in result.final_state["data"]["seen"] for entry in platform_environment())


def test_the_runner_and_the_adaptors_are_read_only_and_tmp_is_private(run_job, adaptor_repo, tmp_path):
    outside = tmp_path / "on-the-host.txt"
    outside.write_text("host file")
    targets = [str(adaptor_repo.resolve() / "package.json"), str(node.WORKER), "/usr/bin/planted", "/planted"]

    result = run_job(
        f"fn(state => {{ const fs = {HOST}.getBuiltinModule('fs');\n"
        "  const wrote = state.data.targets.map(path => {\n"
        "    try { fs.appendFileSync(path, '// planted'); return true; } catch (e) { return e.code; } });\n"
        "  return { data: { wrote, seen: fs.existsSync(state.data.outside) } }; });",
        data={"targets": targets, "outside": str(outside)},
    )

    # The runner and the adaptors are read-only binds and, when Kindling runs as root, not the job's
    # own files either (EACCES comes first then); nothing was written.
    wrote = result.final_state["data"]["wrote"]
    assert all(code in ("EROFS", "EACCES") for code in wrote) and result.final_state["data"]["seen"] is False
    assert "// planted" not in (adaptor_repo.resolve() / "package.json").read_text()
    assert "// planted" not in node.WORKER.read_text()
    assert "planted" not in node.WORKER.read_text()
