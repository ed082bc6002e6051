"""Compile a job expression without running it: Job Studio's syntax check before saving.

The compiler is the one runs use (runner/compile.mjs, through a `compile` request to worker.mjs), so
what the check accepts is what a run accepts, and an error names the same line and column. Starting
Node and importing the runtime costs about half a second, more than compiling: one runner process is
kept for compiling and stopped once nobody has asked for a while. It is a runner like any other
(empty environment, OS sandbox where available, memory limit), although compiling never executes the
expression: it only parses and rewrites it.
"""

import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .node import NodeMissing, ProtocolError, RunnerProcess
from .sandbox import SandboxError

COMPILER_MEMORY_MB = 256
# A compile of a normal job takes milliseconds; the first request also waits for Node to start.
COMPILE_TIMEOUT_SECONDS = 20.0
IDLE_SECONDS = 120.0
COMPILER_STARTS = 3  # processes started for one request, when they end before they are ready
# Longer expressions are refused before they reach Node: the editor is for job code, not data.
MAX_EXPRESSION_CHARS = 1_000_000


@dataclass
class Compiled:
    code: str  # the ES module the runtime would run
    operations: list  # the top-level operations the compiler found, as the runtime's source map lists them


class CompileError(Exception):
    """The expression does not compile: `line` and `column` (both from 1) say where, when known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.line = line
        self.column = column


class CompilerUnavailable(Exception):
    """The compiler could not answer (no Node, a crash, a timeout): the expression may well be fine."""


def request_compile(runner: RunnerProcess, request: dict, deadline: float) -> dict:
    """Send a compile request (with its `id`) to `runner` and return the runner's `compiled` answer,
    which holds either `code` and `operations` or an `error`. Raises CompilerUnavailable when the
    runner cannot answer: it failed the request, broke the protocol, timed out or ended."""
    request_id = request["id"]
    runner.send(request)
    try:
        for event in runner.events(deadline):
            if event["type"] == "compiled" and event.get("id") == request_id:
                return event
            if event["type"] == "fatal":
                raise CompilerUnavailable(f"The compiler stopped: {event.get('message')}")
            if event["type"] == "result" and event.get("id") == request_id:
                # The runner's answer to a request it could not handle (an adaptor it could not load).
                raise CompilerUnavailable("The compiler could not compile this expression; see the log.")
    except ProtocolError as exc:
        raise CompilerUnavailable(str(exc)) from exc
    if runner.ended_by == "timeout":
        raise CompilerUnavailable("The compiler did not answer in time.")
    stderr = runner.stderr_text.strip()[-500:]
    raise CompilerUnavailable(f"The compiler stopped unexpectedly. {stderr}".strip())


class Compiler:
    """One runner process answering compile requests, one at a time.

    Every request is handled by the compiler's own long-lived thread, which also starts the process:
    a parent-death signal (bubblewrap's --die-with-parent) belongs to the thread that started a
    process, and the thread of a web request (ASGI runs sync views in short-lived threads) ends
    with the request.
    """

    def __init__(self, *, idle_seconds: float = IDLE_SECONDS, timeout: float = COMPILE_TIMEOUT_SECONDS):
        self.idle_seconds = idle_seconds
        self.timeout = timeout
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kindling-compiler")
        self._runner: RunnerProcess | None = None
        self._readable: tuple[Path, ...] = ()
        self._ids = itertools.count(1)
        self._used_at = 0.0
        self._reaper: threading.Timer | None = None

    def compile(
        self,
        expression: str,
        *,
        adaptor: str | None = None,
        repo_dir: Path | None = None,
        exports: list[str] | None = None,
    ) -> Compiled:
        """Compile `expression`; raises CompileError for a job that does not compile.

        `adaptor` ("<name>@<exact version>", installed in `repo_dir`) makes the compiler import the
        adaptor's exported names as a run does; `exports` (with `adaptor` naming the package) gives
        those names instead, so that the adaptor's code is not loaded at all.
        """
        if not isinstance(expression, str):
            raise TypeError("expression must be a string")
        if len(expression) > MAX_EXPRESSION_CHARS:
            raise CompileError(f"The expression is longer than {MAX_EXPRESSION_CHARS:,} characters.")
        request = {"type": "compile", "expression": expression}
        if adaptor:
            request["adaptor"] = adaptor
        if exports is not None:
            request["exports"] = list(exports)
        elif adaptor:
            if repo_dir is None:
                raise ValueError("an adaptor without exports needs the adaptor repository")
            request["repo"] = str(Path(repo_dir).resolve())
        readable = (Path(repo_dir).resolve(),) if repo_dir is not None else ()
        event = self._thread.submit(self._ask_and_keep, request, readable).result()
        error = event.get("error")
        if error:
            raise CompileError(
                str(error.get("message") or "The expression does not compile."),
                error.get("line"),
                error.get("column"),
            )
        return Compiled(code=event.get("code") or "", operations=event.get("operations") or [])

    def close(self) -> None:
        self._thread.submit(self._stop).result()

    def _ask_and_keep(self, request: dict, readable: tuple[Path, ...]) -> dict:
        try:
            return self._ask(request, readable)
        finally:
            self._used_at = time.monotonic()
            self._schedule_stop()

    def _ask(self, request: dict, readable: tuple[Path, ...], starts: int = 1) -> dict:
        # A process started for another repository cannot read this one inside its sandbox.
        if self._runner is not None and (not self._runner.alive or not set(readable) <= set(self._readable)):
            self._stop()
        if self._runner is None:
            try:
                self._runner = RunnerProcess(COMPILER_MEMORY_MB, readable=readable).start()
            except (NodeMissing, SandboxError) as exc:
                raise CompilerUnavailable(str(exc)) from exc
            self._readable = readable
        request = {**request, "id": f"compile-{next(self._ids)}"}
        try:
            return request_compile(self._runner, request, time.monotonic() + self.timeout)
        except CompilerUnavailable:
            # A process that ended before it was ready (bubblewrap's loopback set-up losing a kernel
            # race under load) is started again, as a run's is: it had compiled nothing.
            again = starts < COMPILER_STARTS and self._runner is not None and self._runner.died_starting()
            self._stop()
            if again:
                return self._ask(request, readable, starts + 1)
            raise

    def _stop(self) -> None:
        if self._runner is not None:
            self._runner.close()
            self._runner = None
            self._readable = ()

    def _schedule_stop(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
        self._reaper = threading.Timer(self.idle_seconds, self._stop_if_idle)
        self._reaper.daemon = True
        self._reaper.start()

    def _stop_if_idle(self) -> None:
        def stop_if_still_idle():
            if time.monotonic() - self._used_at >= self.idle_seconds:
                self._stop()

        try:
            self._thread.submit(stop_if_still_idle)
        except RuntimeError:  # the interpreter is shutting down
            pass


_shared: Compiler | None = None
_shared_lock = threading.Lock()


def shared_compiler() -> Compiler:
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Compiler()
        return _shared


def compile_expression(
    expression: str,
    *,
    adaptor: str | None = None,
    repo_dir: Path | None = None,
    exports: list[str] | None = None,
) -> Compiled:
    """Compile with the process-wide compiler (see Compiler.compile)."""
    return shared_compiler().compile(expression, adaptor=adaptor, repo_dir=repo_dir, exports=exports)
