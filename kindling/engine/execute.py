"""Execute one run: install the adaptor if needed, run the job in a Node runner (a fresh one, or a
warm one of the project's pool), and turn whatever happened into an exit code, a final state and a
scrubbed log. Never raises for anything the job does."""

import json
import logging
import re
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .adaptors import AdaptorUnavailable, adaptors_beside, ensure_adaptor
from .exit_codes import ExitCode
from .node import NodeMissing, ProtocolError, RunnerProcess
from .pool import Lease
from .runlog import RunLog
from .sandbox import SandboxError
from .spec import LogLine, RunResult, RunSpec

if TYPE_CHECKING:
    from .pool import Pool

log = logging.getLogger(__name__)

ABORTED_NOTE = "Aborted: the run was cancelled while it ran; its Node.js process was killed"
ABORTED_EARLY_NOTE = "Aborted: the run was cancelled before its Node.js process started"
# Larger final states fail the run: they would be stored, shown and passed to the next run.
MAX_FINAL_STATE_BYTES = 10 * 1024 * 1024
# A process that ended before it could take the run (no job code ran in it) for a passing reason is
# replaced: this many processes at most, within the run's timeout.
START_ATTEMPTS = 3
RUNNER_EXIT_CODES = {ExitCode.SUCCESS, ExitCode.FAILED, ExitCode.FAILED_TO_START, ExitCode.ENGINE_ERROR}


def execute(
    spec: RunSpec,
    *,
    repo_dir: Path,
    on_log: Callable[[LogLine], None] | None = None,
    pool: "Pool | None" = None,
    warm_key: str | None = None,
    cancel: threading.Event | None = None,
    local: bool = False,
) -> RunResult:
    """Without a pool, the run gets a fresh Node process of its own. With `pool` and `warm_key`
    (one key per project: a warm process must never serve two projects), it gets a warm one.

    `cancel`: once set (from any thread), the run's Node process is killed, never to serve again,
    and the run ends with exit 6 and the log so far; set before the run starts, no process starts.

    `local`: a developer's run on their own machine (`kindling execute`): the job keeps the host's
    network, and runs without the OS sandbox where it cannot be built, saying so.
    """
    configuration = spec.state.get("configuration") if isinstance(spec.state, dict) else None
    run_log = RunLog(configuration, on_log)
    try:
        return _execute(spec, Path(repo_dir), run_log, pool if warm_key else None, warm_key, cancel, local)
    except Exception as exc:
        # A bug of ours: keep the log so far, say what broke, and let the operator find the trace.
        log.exception("engine failed on %s", spec.run_id)
        run_log.engine("error", f"Internal error of the execution engine: {type(exc).__name__}: {exc}")
        run_log.finish("crashed")
        return RunResult(int(ExitCode.ENGINE_ERROR), None, run_log.lines, None)


def _execute(
    spec: RunSpec,
    repo_dir: Path,
    run_log: RunLog,
    pool: "Pool | None",
    key: str | None,
    cancel: threading.Event | None,
    local: bool = False,
) -> RunResult:
    try:
        name, version = ensure_adaptor(spec.adaptor, repo_dir, note=run_log.engine)
        # Only a job whose code names one of them pays for loading the adaptors beside its own.
        beside = [
            "@".join(ensure_adaptor(other, repo_dir, note=run_log.engine))
            for other in adaptors_beside(name, spec.expression)
        ]
    except AdaptorUnavailable as exc:
        run_log.engine("error", str(exc))
        for reason in exc.details:
            run_log.engine("error", reason)
        run_log.finish("crashed")
        return RunResult(int(ExitCode.FAILED_TO_START), None, run_log.lines, None)

    try:
        request = json.loads(json.dumps(_run_request(spec, name, version, repo_dir, beside)))
    except (TypeError, ValueError) as exc:
        run_log.engine("error", f"The initial state cannot be sent to the runner as JSON: {exc}")
        run_log.finish("crashed")
        return RunResult(int(ExitCode.FAILED_TO_START), None, run_log.lines, version)

    # An install can take seconds: an abort meanwhile needs no process at all.
    if cancel is not None and cancel.is_set():
        return _fail(run_log, ExitCode.ABORTED, ABORTED_EARLY_NOTE, "", status="cancelled", version=version)

    deadline = time.monotonic() + spec.timeout
    for attempt in range(1, START_ATTEMPTS + 1):
        outcome = _attempt(
            spec, request, run_log, version, repo_dir, pool, key, cancel, local, deadline, attempt
        )
        if outcome is not None:
            return outcome
    raise AssertionError("unreachable: the last attempt always has an outcome")


def _attempt(spec, request, run_log, version, repo_dir, pool, key, cancel, local, deadline, attempt):
    """One process for the run; None when it ended before it could take the run for a reason that
    another process will not have (see RunnerProcess.died_starting), and another attempt may follow."""
    try:
        if pool:
            lease = pool.acquire(key, spec.memory_mb, repo_dir, adaptor=request["adaptor"])
        else:
            lease = Lease.fresh(spec.memory_mb, repo_dir, local=local)
    except (NodeMissing, SandboxError) as exc:
        run_log.engine("error", str(exc))
        run_log.finish("crashed")
        return RunResult(int(ExitCode.ENGINE_ERROR), None, run_log.lines, version)
    reusable, heap_mb = False, None
    try:
        isolation = "bubblewrap sandbox" if lease.runner.sandboxed else "no OS sandbox (bubblewrap missing)"
        limits = f"{spec.timeout:g} s, {spec.memory_mb} MB of memory"
        run_log.engine("info", f"Limits: {limits}; {isolation}; {lease.describe()}")
        may_start_again = attempt < START_ATTEMPTS
        outcome, event = _run_in_node(
            spec, request, run_log, version, lease, deadline, cancel, may_start_again
        )
        if event is not None:
            reusable = _may_serve_again(event)
            heap_mb = event.get("heapUsedMb")
            why = event.get("notReusableBecause") or f"the run ended with status {event.get('status')}"
            if reusable and (strays := lease.runner.stray_processes()):
                # A process the job started outlived the run: recycling ends the whole sandbox with it.
                reusable, why = False, f"the run left {len(strays)} process(es) running"
            if lease.warm and not reusable:
                log.info("the Node process of %s is not reused after %s: %s", key, spec.run_id, why)
        return outcome
    finally:
        if pool:
            pool.release(lease, reusable=reusable, heap_mb=heap_mb)
        else:
            lease.runner.close()


def _may_serve_again(event: dict) -> bool:
    """Whether the process that sent this result may serve another run of the same project: only
    after a run that ended normally and, as the runner checked, left nothing behind."""
    if event.get("reusable") is not True:
        return False
    # A crash (ReferenceError, an uncaught exception) may have left work half done; a compile
    # error ran no job code at all.
    return event.get("status") in ("success", "fail") or event.get("exitCode") == ExitCode.FAILED_TO_START


def _run_request(spec: RunSpec, name: str, version: str, repo_dir: Path, beside: list[str]) -> dict:
    return {
        "type": "run",
        "id": spec.run_id,
        "expression": spec.expression,
        "adaptor": f"{name}@{version}",
        "beside": beside,
        "state": spec.state,
        "repo": str(repo_dir.resolve()),
        "consoleDisabled": spec.console_disabled,
        "stateLimitMb": MAX_FINAL_STATE_BYTES / (1024 * 1024),
    }


def _event_time(event: dict) -> datetime | None:
    stamp = event.get("time")
    try:
        return datetime.fromtimestamp(stamp / 1000, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _run_in_node(
    spec: RunSpec,
    request: dict,
    run_log: RunLog,
    version: str,
    lease: "Lease",
    deadline: float,
    cancel: threading.Event | None,
    may_start_again: bool = False,
) -> tuple[RunResult | None, dict | None]:
    """The run's result, and the runner's result event when there was one (never after a cancel:
    without it the pool does not take the process back). `may_start_again`: (None, None) when the
    process ended before it said "ready" for a reason another process will not have."""
    result = fatal = protocol_error = None
    runner = lease.runner
    runner.begin_run()
    # A one-shot process exits once stdin is closed and the request is served.
    runner.send(request, last=not lease.warm)
    try:
        for event in runner.events(deadline, cancel):
            kind = event["type"]
            # Strictly this run's: a line of an earlier run of a warm process is not this run's.
            mine = event.get("id") == spec.run_id
            if kind == "log" and mine:
                cut = event.get("cut")
                run_log.add(
                    str(event.get("source")),
                    str(event.get("level")),
                    str(event.get("message")),
                    _event_time(event),
                    cut if isinstance(cut, int) else 0,
                )
            elif kind == "result" and mine:
                result = event
                break
            elif kind == "fatal":
                fatal = event
            elif kind not in ("log", "result", "ready"):
                raise ProtocolError(f"unexpected event from the runner: {kind!r}")
    except ProtocolError as exc:
        protocol_error = exc
    stderr = runner.stderr_text

    if result is not None and protocol_error is None:
        return _finish_with_result(result, run_log, version), result
    if protocol_error is None and fatal is None and runner.ended_by == "exited":
        why = runner.died_starting()
        if why is not None and may_start_again and time.monotonic() < deadline:
            run_log.engine(
                "info", f"The Node.js process ended before it could take the run ({why}): starting another"
            )
            return None, None
    return _explain_end(spec, run_log, version, runner, fatal, protocol_error, stderr), None


def _explain_end(spec, run_log, version, runner, fatal, protocol_error, stderr) -> RunResult:
    """The run ended without a result from the runner: say why, with the exit code that says it."""
    runner.kill()
    if protocol_error is not None:
        message = f"The runner broke the protocol: {protocol_error}"
        return _fail(run_log, ExitCode.ENGINE_ERROR, message, stderr, version=version)
    if runner.ended_by == "cancelled":
        return _fail(run_log, ExitCode.ABORTED, ABORTED_NOTE, "", status="cancelled", version=version)
    if runner.ended_by == "timeout":
        return _fail(
            run_log,
            ExitCode.TIMEOUT,
            f"Timeout: the run took longer than {spec.timeout:g} s and was killed",
            "",
            status="killed",
            version=version,
        )
    if runner.ended_by == "memory":
        return _fail(
            run_log,
            ExitCode.OUT_OF_MEMORY,
            f"Out of memory: the run used more than {runner.rss_limit_mb} MB and was killed",
            "",
            status="killed",
            version=version,
        )
    if runner.signal == signal.SIGABRT or "heap out of memory" in stderr:
        return _fail(
            run_log,
            ExitCode.OUT_OF_MEMORY,
            f"Out of memory: the job went over its {spec.memory_mb} MB heap limit",
            stderr,
            status="killed",
            version=version,
        )
    if fatal is not None:
        message = f"The runner could not run jobs: {fatal.get('message')}"
        return _fail(run_log, ExitCode.ENGINE_ERROR, message, stderr, version=version)
    if not runner.ready:
        message = f"The runner failed to start ({_describe(runner)})"
        return _fail(run_log, ExitCode.ENGINE_ERROR, message, stderr, version=version)
    return _fail(
        run_log,
        ExitCode.NODE_EXITED,
        f"Node.js exited unexpectedly ({_describe(runner)}) before the run finished",
        stderr,
        version=version,
    )


def _describe(runner: RunnerProcess) -> str:
    if runner.signal is not None:
        try:
            return f"killed by {signal.Signals(runner.signal).name}"
        except ValueError:
            return f"killed by signal {runner.signal}"
    return f"exit code {runner.returncode}"


def _fail(
    run_log: RunLog,
    code: ExitCode,
    message: str,
    stderr: str,
    *,
    status: str = "crashed",
    version: str | None = None,
) -> RunResult:
    run_log.engine("error", message)
    said = _summarise_stderr(stderr)
    if said:
        run_log.engine("info", f"Node.js said:\n{said}")
    run_log.finish(status)
    return RunResult(int(code), None, run_log.lines, version)


def _summarise_stderr(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    fatal = [line for line in lines if "FATAL ERROR" in line]
    if fatal:
        return fatal[0]
    # Stack frames, JavaScript ("    at ...") or native ("  3: 0xee85e7 v8::..."), tell a user nothing.
    said = [line for line in lines if not re.match(r"^\s+at |^\s*\d+: 0x[0-9a-f]+ ", line)][-10:]
    if "ERR_MODULE_NOT_FOUND" in stderr:
        said.append("(Are the runner's packages installed? npm ci --prefix kindling/engine/runner)")
    return "\n".join(said)


def _finish_with_result(result: dict, run_log: RunLog, version: str) -> RunResult:
    exit_code = result.get("exitCode")
    if exit_code not in RUNNER_EXIT_CODES:
        return _fail(
            run_log, ExitCode.ENGINE_ERROR, f"The runner reported an unknown exit code {exit_code!r}", ""
        )
    state = result.get("state")
    final_state = None
    if isinstance(state, dict):
        # surrogatepass: a lone surrogate (JavaScript strings hold them) is counted, not a crash; the
        # worker refuses to store such a state (kindling/runs/queue.py: finish).
        size = len(json.dumps(state, ensure_ascii=False).encode("utf-8", "surrogatepass"))
        if size > MAX_FINAL_STATE_BYTES:
            run_log.engine(
                "error",
                f"The final state is {size / 1024 / 1024:.1f} MB, over the "
                f"{MAX_FINAL_STATE_BYTES // (1024 * 1024)} MB limit: the run fails",
            )
            exit_code = ExitCode.FAILED
        else:
            # The runtime removes it already; a secret must never reach a saved state, so again.
            state.pop("configuration", None)
            final_state = state
    elif state is not None:
        run_log.engine("warn", f"The final state is not an object ({type(state).__name__}); it is not kept")
    run_log.finish(None)
    return RunResult(int(exit_code), final_state, run_log.lines, result.get("adaptorVersion") or version)
