"""The runner's V8 startup snapshot (kindling/engine/snapshot.py), and starting a process again when
one ends before it could take its run."""

import json
import os
import re
import time

import pytest

from kindling.engine import ExitCode, node, snapshot
from kindling.engine.compile import Compiler
from kindling.engine.node import WORKER, RunnerProcess, node_binary, snapshot_flags
from tests.engine.conftest import log_text


def comparable(result):
    """The log without what differs from run to run: the run's id, durations."""
    return [
        (
            line.source,
            line.level,
            re.sub(r"\d+ms\b", "<ms>", re.sub(r"test-[0-9a-f-]{36}", "<id>", line.message)),
        )
        for line in result.log
    ]


@pytest.fixture
def fresh_snapshot_state(monkeypatch):
    """What snapshot.py remembers per process (refusals, builds, what it said) starts empty here."""
    monkeypatch.setattr(snapshot, "_refused", set())
    monkeypatch.setattr(snapshot, "_building", set())
    monkeypatch.setattr(snapshot, "_said", set())


@pytest.fixture
def no_background_builds(monkeypatch):
    wanted = []
    monkeypatch.setattr(
        snapshot, "build_in_background", lambda node, memory_mb, flags: wanted.append(memory_mb)
    )
    return wanted


def test_make_setup_built_an_up_to_date_snapshot_that_runners_start_from():
    command = node.runner_command(512)

    assert "--snapshot-blob" in command, "no up-to-date snapshot: has the runner changed since `make setup`?"
    assert command[-3:] == ["--snapshot-blob", str(snapshot.blob_path(512)), str(WORKER)]
    assert command[1:-3] == snapshot_flags(512)


def test_a_job_runs_from_the_snapshot_exactly_as_from_worker_mjs(run_job, monkeypatch):
    job = (
        "fn(state => {\n  console.log('hello', state.data.n);\n"
        "  return { ...state, data: { n: state.data.n + 1 } };\n});"
    )
    from_snapshot = run_job(job, data={"n": 1}, configuration={"password": "s3cret-value"})
    monkeypatch.setenv("KINDLING_NO_RUNNER_SNAPSHOT", "1")
    from_worker = run_job(job, data={"n": 1}, configuration={"password": "s3cret-value"})

    assert from_snapshot.exit_code == from_worker.exit_code == ExitCode.SUCCESS
    assert from_snapshot.final_state == from_worker.final_state == {"data": {"n": 2}}
    assert comparable(from_snapshot) == comparable(from_worker)


def test_log_times_are_the_runs_own_not_the_snapshots(run_job):
    before = time.time()
    result = run_job("fn(state => { console.log('now'); return state; });")

    stamps = [line.time.timestamp() for line in result.log if line.source == "JOB"]
    assert stamps and all(before - 1 <= stamp <= time.time() + 1 for stamp in stamps)


def test_a_run_from_the_snapshot_still_finds_the_intrinsics_frozen(run_job):
    result = run_job(
        "fn(state => {\n"
        "  const Host = fn.constructor('return this')();\n"
        "  try { Host.Array.prototype.stash = 'secret'; }\n"
        "  catch (e) { return { data: { refused: e.constructor.name } }; }\n"
        "  return { data: { refused: false } };\n"
        "});"
    )

    assert node.runner_command(512)[-3] == "--snapshot-blob"
    assert result.final_state == {"data": {"refused": "TypeError"}}


def test_a_job_crashing_in_the_snapshot_shows_its_own_source_line(run_job):
    # The runtime reads the job's source map with source-map's WebAssembly, which the build puts
    # next to the bundle.
    result = run_job("fn(state => state);\nfn(state => notDefined.x);")

    assert result.exit_code == ExitCode.FAILED
    assert "2: fn(state => notDefined.x);" in log_text(result)
    assert "mappings.wasm" not in log_text(result)


def test_a_stale_snapshot_is_not_used_and_a_new_one_is_asked_for(
    monkeypatch, fresh_snapshot_state, no_background_builds
):
    monkeypatch.setattr(snapshot, "_digest_cached", lambda: "the runner changed since")

    command = node.runner_command(512)

    assert "--snapshot-blob" not in command
    assert command[-1] == str(WORKER)
    assert no_background_builds == [512]


def test_a_snapshot_node_refuses_is_dropped_and_the_run_starts_without_it(
    run_job, tmp_path, monkeypatch, fresh_snapshot_state, no_background_builds
):
    monkeypatch.setattr(snapshot, "BUILD_DIR", tmp_path)
    blob = snapshot.blob_path(512)
    blob.write_bytes(b"not a snapshot of this Node.js")
    manifest = snapshot.expected_manifest(node_binary(), snapshot_flags(512))
    blob.with_suffix(".json").write_text(json.dumps(manifest))
    assert node.runner_command(512)[-2] == str(blob)

    result = run_job("fn(state => ({ data: { ok: true } }));")

    assert result.exit_code == ExitCode.SUCCESS
    assert result.final_state == {"data": {"ok": True}}
    assert "Node.js refused the runner's startup snapshot" in log_text(result)
    assert "--snapshot-blob" not in node.runner_command(512)


def test_a_snapshot_for_another_memory_limit_is_built_and_used(
    run_job, tmp_path, monkeypatch, fresh_snapshot_state
):
    monkeypatch.setattr(snapshot, "BUILD_DIR", tmp_path)
    flags = snapshot_flags(96)

    blob = snapshot.build(node_binary(), 96, flags)

    assert node.runner_command(96)[-3:] == ["--snapshot-blob", str(blob), str(WORKER)]
    result = run_job(
        "fn(state => ({ data: { heap: fn.constructor('return process')().memoryUsage().heapTotal > 0 } }));",
        memory_mb=96,
    )
    assert result.exit_code == ExitCode.SUCCESS
    assert result.final_state == {"data": {"heap": True}}


def _dies_before_ready(message: str, times: int, monkeypatch) -> list[int]:
    """The next `times` runner processes print `message` to stderr and end before saying "ready"."""
    started = []
    real = node.runner_command

    def command(memory_mb, *, vm_modules=True):
        started.append(memory_mb)
        if len(started) <= times:
            script = f"process.stderr.write({json.dumps(message)} + '\\n'); process.exit(1);"
            return [node_binary(), "-e", script, str(WORKER)]
        return real(memory_mb, vm_modules=vm_modules)

    monkeypatch.setattr(node, "runner_command", command)
    return started


LOOPBACK_RACE = "bwrap: loopback: Failed RTM_NEWADDR: No child processes"


def test_a_process_whose_sandbox_loopback_failed_is_started_again(run_job, monkeypatch):
    started = _dies_before_ready(LOOPBACK_RACE, 1, monkeypatch)

    result = run_job("fn(state => ({ data: { ok: true } }));")

    assert result.exit_code == ExitCode.SUCCESS
    assert result.final_state == {"data": {"ok": True}}
    assert len(started) == 2
    assert "The Node.js process ended before it could take the run (bubblewrap could not set up" in log_text(
        result
    )


def test_a_warm_pools_new_process_whose_loopback_failed_is_started_again(pool, run_warm, monkeypatch):
    started = _dies_before_ready(LOOPBACK_RACE, 1, monkeypatch)

    result = run_warm(pool, "fn(state => ({ data: { ok: true } }));")

    assert result.exit_code == ExitCode.SUCCESS
    assert len(started) == 2


def test_the_loopback_race_is_tried_three_times_then_reported(run_job, monkeypatch):
    started = _dies_before_ready(LOOPBACK_RACE, 3, monkeypatch)

    result = run_job("fn(state => state);")

    assert result.exit_code == ExitCode.ENGINE_ERROR
    assert len(started) == 3
    assert "The runner failed to start" in log_text(result)
    assert LOOPBACK_RACE in log_text(result)


def test_a_process_that_fails_to_start_for_another_reason_is_not_started_again(run_job, monkeypatch):
    started = _dies_before_ready("Error: Cannot find package '@openfn/runtime'", 1, monkeypatch)

    result = run_job("fn(state => state);")

    assert result.exit_code == ExitCode.ENGINE_ERROR
    assert len(started) == 1


def test_a_process_that_said_ready_is_never_started_again():
    with RunnerProcess(512) as runner:
        runner.send({"type": "compile", "id": "c", "expression": "fn(s => s);"}, last=True)
        list(runner.events(deadline=time.monotonic() + 60))

    assert runner.ready
    assert runner.died_starting() is None


def test_only_one_process_builds_a_snapshot_until_its_build_is_older_than_any_build(tmp_path, monkeypatch):
    monkeypatch.setattr(snapshot, "BUILD_DIR", tmp_path)
    blob = snapshot.blob_path(128)

    assert snapshot._claim_build(blob)
    assert not snapshot._claim_build(blob)
    mark = blob.with_name(blob.name + ".building")
    long_ago = time.time() - snapshot.BUILD_TIMEOUT_SECONDS - 1
    os.utime(mark, (long_ago, long_ago))
    assert snapshot._claim_build(blob)


@pytest.mark.parametrize("from_snapshot", [True, False])
def test_every_runner_tracks_the_modules_of_a_run_so_that_they_are_released(
    run_job, monkeypatch, from_snapshot
):
    # instances.mjs's subclass of vm.SourceTextModule (test_instances.py: the heap does not grow).
    if not from_snapshot:
        monkeypatch.setenv("KINDLING_NO_RUNNER_SNAPSHOT", "1")
    result = run_job(
        "fn(state => {\n"
        "  const vm = fn.constructor('return process')().getBuiltinModule('vm');\n"
        "  return { data: { tracked: String(vm.SourceTextModule).includes('active?.made.push(this)') } };\n"
        "});"
    )

    assert result.final_state == {"data": {"tracked": True}}


def test_a_hidden_script_beside_the_runner_does_not_make_the_snapshot_stale(tmp_path):
    # test_instances.py puts one there for a moment; a worker's digest taken then would be wrong.
    before = snapshot.sources_digest()
    script = snapshot.RUNNER_DIR / f".test-snapshot-{tmp_path.name}.mjs"
    script.write_text("export {};\n")
    try:
        during = snapshot.sources_digest()
    finally:
        script.unlink()

    assert during == before


def test_a_compiler_process_whose_loopback_failed_is_started_again(monkeypatch):
    started = _dies_before_ready(LOOPBACK_RACE, 1, monkeypatch)
    compiler = Compiler()
    try:
        compiled = compiler.compile("fn(state => state);")
    finally:
        compiler.close()

    assert compiled.operations and "export default" in compiled.code
    assert len(started) == 2
