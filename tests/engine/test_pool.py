"""The warm pool: Node processes kept between runs of one project, recycled, and never a way for one
run to reach what an earlier run had."""

import importlib
import json
import os
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest

from kindling import engine
from kindling.engine import ExitCode
from kindling.engine.node import RUNNER_DIR
from tests.engine.conftest import HTTP, ROOT, log_text, process_note

HOST = "fn.constructor('return process')()"
STASH = "fn(state => { fn.constructor('return globalThis')().stash = state.configuration.password; return state; });"  # noqa: E501

# Looks for a secret of an earlier run everywhere in this process: a heap snapshot holds every object
# still reachable (V8 collects garbage before it writes one), so globals, module caches and the
# adaptor's module state are all in it; and the folders a run may write to. The secret travels
# reversed in this run's state, so that this run's own code and state do not hold it.
PROBE = f"""fn(state => {{
  const host = {HOST};
  const fs = host.getBuiltinModule('fs');
  const file = host.getBuiltinModule('v8').writeHeapSnapshot(host.cwd() + '/probe.heapsnapshot');
  const heap = fs.readFileSync(file, 'utf8');
  fs.rmSync(file);
  const secret = state.data.reversed.split('').reverse().join('');
  const forms = [secret, Buffer.from('ada:' + secret).toString('base64'), encodeURIComponent(secret)];
  return {{ data: {{
    found: forms.filter(form => heap.includes(form)).length,
    files: [
      ...fs.readdirSync(host.cwd()),
      ...fs.readdirSync('/tmp').filter(name => !host.cwd().startsWith('/tmp/' + name)
                                            && !(state.data.mountPoints || []).includes(name)),
    ],
  }} }};
}});"""


def mount_points() -> list[str]:
    """Names in /tmp that bubblewrap creates to mount the runner and the adaptor repo read-only, when
    Kindling itself lives under /tmp (a CI checkout may): they hold nothing a run wrote."""
    repo = Path(os.environ.get("KINDLING_TEST_ADAPTORS", ROOT / "data" / "adaptors"))
    names = set()
    for path in (RUNNER_DIR, repo):
        parts = Path(path).resolve().parts
        if len(parts) > 2 and parts[1] == "tmp":
            names.add(parts[2])
    return sorted(names)


def probe_for(pool, run_warm, secret, **kw):
    data = {"reversed": secret[::-1], "mountPoints": mount_points()}
    return run_warm(pool, PROBE, data=data, configuration={"password": "other-4242"}, **kw)


def test_the_next_run_of_a_project_is_served_by_its_warm_process(pool, run_warm):
    first = run_warm(pool, "fn(state => state);")
    second = run_warm(pool, "fn(state => ({ data: { n: 2 } }));")

    assert process_note(first) == "a new warm Node.js process"
    assert process_note(second) == "a warm Node.js process (its run 2)"
    assert second.final_state["data"] == {"n": 2}
    assert pool.stats()["project-1"] == {"idle": 1, "busy": 0}


def test_a_warm_run_logs_like_a_cold_one(pool, run_warm):
    run_warm(pool, "fn(state => state);")
    warm = run_warm(pool, "fn(state => { console.log('hi'); return state; });")

    assert [line.source for line in warm.log if line.source in ("VER", "JOB")] == ["VER", "JOB"]
    assert "@openfn/language-common" in next(line.message for line in warm.log if line.source == "VER")
    assert warm.log[-1].message == "Run complete with status: success"


def test_runs_of_two_projects_never_share_a_process(pool, run_warm):
    secret = f"project-a-{uuid.uuid4().hex}"
    run_warm(pool, STASH, key="project-a", configuration={"password": secret})

    other = run_warm(
        pool,
        "fn(state => ({ data: { stash: fn.constructor('return globalThis')().stash ?? null } }));",
        key="project-b",
    )
    probe = probe_for(pool, run_warm, secret, key="project-b")

    assert other.final_state["data"] == {"stash": None}
    assert probe.final_state["data"]["found"] == 0
    assert set(pool.node_pids("project-a")).isdisjoint(pool.node_pids("project-b"))


def test_a_second_credential_finds_nothing_of_the_first_in_the_same_process(pool, run_warm, patients_server):
    secret = f"first-{uuid.uuid4().hex}"
    first = run_warm(
        pool,
        "get('/patients/1');\n"
        "fn(state => { const copy = state.configuration.password; console.log(copy); return state; });",
        adaptor=HTTP,
        configuration={"baseUrl": patients_server, "username": "ada", "password": secret},
    )
    second = probe_for(pool, run_warm, secret, adaptor=HTTP)

    assert first.exit_code == 0, log_text(first)
    assert process_note(second) == "a warm Node.js process (its run 2)"
    assert second.final_state["data"] == {"found": 0, "files": []}


def test_the_probe_finds_a_secret_that_a_kept_process_still_holds(pool, run_warm, monkeypatch):
    # The control of the test above: were a process kept after a run that stashed its secret in a
    # host global, the probe would find it. The runner's check is what recycles such a process.
    monkeypatch.setattr(
        importlib.import_module("kindling.engine.execute"), "_may_serve_again", lambda event: True
    )
    secret = f"stashed-{uuid.uuid4().hex}"
    run_warm(pool, STASH, configuration={"password": secret})
    second = probe_for(pool, run_warm, secret)

    assert process_note(second) == "a warm Node.js process (its run 2)"
    assert second.final_state["data"]["found"] >= 1


@pytest.mark.parametrize(
    "leftover",
    [
        pytest.param(
            "fn.constructor('return globalThis')().stash = state.configuration.password;", id="global"
        ),
        pytest.param(f"{HOST}.env.STASH = state.configuration.password;", id="environment"),
        pytest.param("setTimeout(() => console.log(state.configuration.password), 60000);", id="timer"),
        pytest.param(f"{HOST}.chdir('/');", id="working directory"),
        pytest.param("fn.constructor('return globalThis')().Blob = null;", id="lazy global"),
        pytest.param("fn.stash = state.configuration.password;", id="adaptor export"),
        pytest.param("_.stash = state.configuration.password;", id="shared dependency"),
    ],
)
def test_a_run_that_leaves_something_behind_gets_a_process_of_its_own_next(pool, run_warm, leftover):
    secret = f"left-{uuid.uuid4().hex}"
    first = run_warm(
        pool, f"fn(state => {{ {leftover} return state; }});", configuration={"password": secret}
    )
    second = probe_for(pool, run_warm, secret)

    assert first.exit_code == 0, log_text(first)
    assert process_note(second) == "a new warm Node.js process"
    assert second.final_state["data"]["found"] == 0


@pytest.mark.parametrize(
    "stash",
    [
        pytest.param("Object.prototype.stash = secret;", id="property on a prototype"),
        pytest.param("Array.prototype.map = function () { return [secret]; };", id="method on a prototype"),
        pytest.param("JSON.parse = () => secret;", id="method of a namespace"),
        pytest.param("Buffer.stash = secret;", id="property on Buffer"),
        pytest.param("Promise.prototype.then = function () { return secret; };", id="Promise.prototype.then"),
    ],
)
def test_a_run_cannot_change_the_shared_intrinsics_for_the_next(pool, run_warm, stash):
    # Job code reaches the host realm through any adaptor function; what it finds there is frozen.
    secret = f"stashed-{uuid.uuid4().hex}"
    first = run_warm(
        pool,
        "fn(state => { fn.constructor('secret', `'use strict'; " + stash + "`)"
        "(state.configuration.password); return state; });",
        configuration={"password": secret},
    )
    second = run_warm(
        pool,
        "fn(state => ({ data: fn.constructor(`return [Object.prototype.stash ?? null, [1, 2].map(x => x * 2),"
        " JSON.parse('[3]'), Buffer.stash ?? null, typeof Promise.prototype.then]`)() }));",
    )

    assert first.exit_code == 1
    assert "TypeError" in log_text(first)
    assert secret not in json.dumps(second.final_state)
    assert second.final_state["data"] == [None, [2, 4], [3], None, "function"]


def test_programs_still_give_their_own_objects_names_and_methods(pool, run_warm):
    # Freezing Error.prototype must not break `this.name = 'HTTPError'` in an HTTP client's error class.
    result = run_warm(
        pool,
        "fn(state => ({ data: fn.constructor(`'use strict';\n"
        "class HTTPError extends Error { constructor(m) { super(m); this.name = 'HTTPError'; } }\n"
        "const e = new HTTPError('down'); const o = {}; o.toString = () => 'mine'; o.constructor = 'c';\n"
        "return [e.name, String(e), String(o), o.constructor, Error.prototype.name];`)() }));",
    )

    assert result.exit_code == 0, log_text(result)
    assert result.final_state["data"] == ["HTTPError", "HTTPError: down", "mine", "c", "Error"]


def test_a_run_that_uses_nodes_lazily_defined_globals_keeps_its_process(pool, run_warm):
    first = run_warm(
        pool,
        "fn(state => { const host = fn.constructor('return globalThis')();\n"
        "  new host.FormData(); host.crypto.randomUUID(); host.performance.now(); return state; });",
    )
    second = run_warm(pool, "fn(state => state);")

    assert first.exit_code == 0, log_text(first)
    assert process_note(second) == "a warm Node.js process (its run 2)"


def test_the_next_run_gets_a_fresh_copy_of_the_adaptor(pool, run_warm, monkeypatch):
    # Even in a process kept against the runner's advice, an adaptor's module state is the run's own.
    monkeypatch.setattr(
        importlib.import_module("kindling.engine.execute"), "_may_serve_again", lambda event: True
    )
    run_warm(pool, "fn(state => { fn.stash = 'first run'; return state; });")
    second = run_warm(pool, "fn(state => ({ data: { stash: fn.stash ?? null } }));")

    assert process_note(second) == "a warm Node.js process (its run 2)"
    assert second.final_state["data"] == {"stash": None}


def test_files_a_run_leaves_are_gone_for_the_next_run_of_the_same_process(pool, run_warm):
    first = run_warm(
        pool,
        f"fn(state => {{ const fs = {HOST}.getBuiltinModule('fs');\n"
        "  fs.writeFileSync('left-here.txt', 'x'); fs.mkdirSync('a/b', { recursive: true });\n"
        "  fs.writeFileSync('/tmp/left-in-tmp.txt', 'x'); return state; });",
    )
    second = probe_for(pool, run_warm, "nothing-to-find")

    assert first.exit_code == 0, log_text(first)
    assert process_note(second) == "a warm Node.js process (its run 2)"
    assert second.final_state["data"]["files"] == []


@pytest.mark.parametrize(
    ("expression", "spec", "code"),
    [
        pytest.param("fn(state => new Promise(() => {}));", {"timeout": 3}, ExitCode.TIMEOUT, id="timeout"),
        pytest.param("fn(state => notDefined);", {}, ExitCode.FAILED, id="crash"),
        pytest.param(
            "fn(state => { setTimeout(() => { throw new Error('late'); }, 10);"
            " return new Promise(resolve => setTimeout(() => resolve(state), 300)); });",
            {},
            ExitCode.FAILED,
            id="uncaught exception",
        ),
        pytest.param(
            "fn(state => { const all = []; while (true) all.push({ s: 'x'.repeat(64) }); });",
            {"memory_mb": 48},
            ExitCode.OUT_OF_MEMORY,
            id="out of memory",
        ),
    ],
)
def test_a_run_that_ends_abnormally_takes_its_process_with_it(pool, run_warm, expression, spec, code):
    run_warm(pool, "fn(state => state);", **spec)
    pids = pool.node_pids("project-1")

    result = run_warm(pool, expression, **spec)
    after = run_warm(pool, "fn(state => state);", **spec)

    assert result.exit_code == code
    assert process_note(after) == "a new warm Node.js process"
    assert not set(pids) & set(pool.node_pids("project-1"))


def test_a_process_is_recycled_after_its_maximum_number_of_runs(run_warm):
    pool = engine.Pool(size=1, max_runs=3)
    try:
        notes = [process_note(run_warm(pool, "fn(state => state);")) for _ in range(4)]
    finally:
        pool.close()

    assert notes == [
        "a new warm Node.js process",
        "a warm Node.js process (its run 2)",
        "a warm Node.js process (its run 3)",
        "a new warm Node.js process",
    ]


def test_a_process_whose_heap_is_over_the_limit_is_recycled(run_warm):
    pool = engine.Pool(size=1, max_heap_mb=16)  # any process that has loaded the runtime is over it
    try:
        notes = [process_note(run_warm(pool, "fn(state => state);")) for _ in range(2)]
    finally:
        pool.close()

    assert notes == ["a new warm Node.js process"] * 2


def test_idle_processes_expire(run_warm):
    pool = engine.Pool(size=1, idle_seconds=0.5)
    try:
        run_warm(pool, "fn(state => state);")
        pids = pool.node_pids("project-1")
        deadline = time.monotonic() + 30
        while any(os.path.exists(f"/proc/{pid}") for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        gone = [pid for pid in pids if not os.path.exists(f"/proc/{pid}")]
    finally:
        pool.close()

    assert pids and pool.stats()["project-1"] == {"idle": 0, "busy": 0}
    assert gone == pids


def test_beyond_its_size_a_project_gets_one_shot_processes(run_warm):
    pool = engine.Pool(size=1)
    results = {}
    try:
        slow = threading.Thread(
            target=lambda: results.setdefault(
                "slow",
                run_warm(
                    pool, "fn(state => new Promise(resolve => setTimeout(() => resolve(state), 3000)));"
                ),
            )
        )
        slow.start()
        deadline = time.monotonic() + 30
        while pool.stats().get("project-1", {}).get("busy") != 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        results["meanwhile"] = run_warm(pool, "fn(state => state);")
        slow.join()
    finally:
        pool.close()

    assert process_note(results["meanwhile"]) == "a new Node.js process for this run"
    assert results["slow"].exit_code == results["meanwhile"].exit_code == 0


def test_concurrent_runs_of_one_project_never_share_a_process(pool, run_warm):
    # Each runner process has a working directory of its own: runs that report the same one ran in the
    # same process, and their times must not overlap.
    job = (
        f"fn(state => {{ const host = {HOST}; const start = Date.now();\n"
        "  return new Promise(resolve => setTimeout(() =>\n"
        "    resolve({ data: { cwd: host.cwd(), start, end: Date.now() } }), 100)); });"
    )
    results = []

    def worker():
        for _ in range(4):
            results.append(run_warm(pool, job))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    spans: dict[str, list[tuple[int, int]]] = {}
    for result in results:
        assert result.exit_code == 0, log_text(result)
        data = result.final_state["data"]
        spans.setdefault(data["cwd"], []).append((data["start"], data["end"]))
    for runs in spans.values():
        runs.sort()
        assert all(earlier[1] <= later[0] for earlier, later in zip(runs, runs[1:], strict=False))
    assert len(results) == 12
    assert any(len(runs) > 1 for runs in spans.values())  # the pool did reuse processes


def test_a_warm_process_killed_from_outside_ends_the_run_with_exit_11_and_its_log(pool, run_warm):
    run_warm(pool, "fn(state => state);")

    def kill_when_waiting(line):
        if line.message == "waiting":
            for pid in pool.node_pids("project-1"):
                os.kill(pid, signal.SIGKILL)

    result = run_warm(
        pool,
        "fn(state => { console.log('waiting'); return new Promise(() => {}); });",
        on_log=kill_when_waiting,
        timeout=60,
    )

    assert result.exit_code == ExitCode.NODE_EXITED
    assert "waiting" in log_text(result)
    assert "killed by SIGKILL" in log_text(result)
    assert result.log[-1].message == "Run complete with status: crashed"
    assert pool.stats()["project-1"] == {"idle": 0, "busy": 0}


def test_a_segfault_ends_the_run_with_exit_11(pool, run_warm):
    result = run_warm(
        pool,
        f"fn(state => {{ console.log('before'); {HOST}.kill({HOST}.pid, 'SIGSEGV');\n"
        "  return new Promise(() => {}); });",
        timeout=60,
    )

    assert result.exit_code == ExitCode.NODE_EXITED
    assert "before" in log_text(result)
    assert "killed by SIGSEGV" in log_text(result)
