"""One Node.js runner process (runner/worker.mjs): start it, talk to it, keep it inside its limits.

Job code is arbitrary code (the vm sandbox is not a security boundary), so the process gets an
empty environment, a throw-away working directory and its own session (so the whole process group
can be killed), and is watched from here for wall-clock time and resident memory. One process may
serve several runs in a row (pool.py); it is only ever used by one thread at a time.
"""

import functools
import json
import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from . import sandbox, snapshot

RUNNER_DIR = Path(__file__).resolve().parent / "runner"
WORKER = RUNNER_DIR / "worker.mjs"

# V8's heap limit (--max-old-space-size) leaves out code, the young generation and Buffers; the
# process may use this much resident memory beyond the heap limit before it is killed.
RSS_HEADROOM_MB = 256
POLL_SECONDS = 0.05
# Resident memory is read from /proc at most this often while a run goes on.
MEMORY_CHECK_SECONDS = 0.05
EXIT_GRACE_SECONDS = 1.0
STDERR_KEPT_BYTES = 16 * 1024
READ_CHUNK = 1 << 20


class NodeMissing(Exception):
    pass


class ProtocolError(Exception):
    """The runner wrote something that is not an event: a bug or a broken installation."""


@functools.cache
def node_binary() -> str:
    # By absolute path: the process itself gets no PATH.
    node = shutil.which("node")
    if node is None:
        raise NodeMissing("Node.js is not installed: no `node` on PATH")
    return node


def semi_space_mb(memory_mb: int) -> int:
    """V8's young generation is three semi-spaces; by default one grows to 16 MB, and a warm process
    that served 300 trivial runs held ~150 MB of anonymous memory (~65 MB with 4 MB semi-spaces, and
    ~12% less CPU per run; a job that allocates much was ~20% slower). The semi-space scales with the
    run's heap limit instead: 4 MB for the default 512 MB, 16 MB from 2 GB on."""
    return max(1, min(16, memory_mb // 128))


def snapshot_flags(memory_mb: int) -> list[str]:
    """Node's flags for a runner with this memory limit, but for what it runs: the runner's startup
    snapshot (snapshot.py) is built with exactly these, as V8 requires."""
    return [
        "--experimental-vm-modules",
        f"--max-semi-space-size={semi_space_mb(memory_mb)}",
        # import.meta.resolve(specifier, parent): runner/instances.mjs resolves an adaptor's imports.
        "--experimental-import-meta-resolve",
        "--disable-warning=ExperimentalWarning",
        f"--max-old-space-size={memory_mb}",
    ]


def runner_command(memory_mb: int, *, vm_modules: bool = True) -> list[str]:
    """From the runner's startup snapshot when there is an up-to-date one, else from worker.mjs (whose
    path is on both command lines: it is how a runner process is told from job code's processes)."""
    flags = snapshot_flags(memory_mb)
    if not vm_modules:
        return [node_binary(), *flags[1:], str(WORKER)]
    blob = snapshot.usable_blob(node_binary(), memory_mb, flags)
    if blob is None:
        return [node_binary(), *flags, str(WORKER)]
    return [node_binary(), *flags, "--snapshot-blob", str(blob), str(WORKER)]


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as children:
                found += [int(child) for child in children.read().split()]
    except (OSError, ValueError):
        pass
    return found


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants: under bubblewrap, node is a grandchild,
    and job code may start processes of its own."""
    total, pending, seen = 0.0, [pid], set()
    while pending:
        current = pending.pop()
        if current not in seen:
            seen.add(current)
            total += _rss_mb(current)
            pending += _children(current)
    return total


def _line_with(text: str, part: str) -> str:
    return next((line.strip() for line in text.splitlines() if part in line), "")


class RunnerProcess:
    """Use as a context manager; `events()` yields the runner's events as dicts.

    When `events()` stops without the caller breaking out, `ended_by` says why: "exited" (the
    process ended on its own), "timeout", "memory" or "cancelled" (we killed it).
    """

    def __init__(
        self,
        memory_mb: int,
        *,
        readable: tuple[Path, ...] = (),
        vm_modules: bool = True,
        network: sandbox.Network | None = None,
        unsandboxed_ok: bool = False,
    ):
        self.memory_mb = memory_mb
        self.rss_limit_mb = memory_mb + RSS_HEADROOM_MB
        self.vm_modules = vm_modules
        self.readable = readable  # besides the system and the runner: the adaptor repository
        self.sandboxed = sandbox.available()
        if not self.sandboxed and not (unsandboxed_ok or sandbox.unsandboxed_allowed()):
            raise sandbox.SandboxError(
                f"job code would run without its sandbox ({sandbox.unavailable_reason()}); set "
                f"{sandbox.NO_SANDBOX_ENV}=1 only if you trust every job author"
            )
        self.network = sandbox.configured_network() if network is None else network
        self._sandbox: sandbox.Sandboxed | None = None
        self.ended_by: str | None = None
        self.from_snapshot = False  # started from the runner's startup snapshot (snapshot.py)
        self.ready = False  # the runner said "ready": it started and can take requests
        self.peak_rss_mb = 0.0
        self._memory_checked_at = 0.0
        self._stderr = bytearray()
        self._pending_input = bytearray()
        self._close_input_when_sent = False
        self._writing = False

    def __enter__(self):
        return self.start()

    def start(self) -> "RunnerProcess":
        self._workdir = tempfile.TemporaryDirectory(prefix="kindling-run-")
        # The working directory is this process's own: the runner empties it after every run.
        command = [*runner_command(self.memory_mb, vm_modules=self.vm_modules), "--scratch-cwd"]
        self.from_snapshot = "--snapshot-blob" in command
        popen = dict(
            cwd=self._workdir.name,
            env={},  # no platform secrets (DATABASE_URL, keys) within reach of job code
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        if self.sandboxed:
            # The sandbox's /tmp is private to this process: the runner empties it between runs.
            command.append("--private-tmp")
            if self.network.isolated:
                # Allowed ports of this machine answer on the namespace's own loopback (worker.mjs).
                command += [f"--forward-host-port={port}" for port in self.network.host_ports]
            node_prefix = Path(command[0]).resolve().parent.parent
            readable = [node_prefix, RUNNER_DIR, *self.readable]
            if self.from_snapshot:
                readable.append(Path(command[command.index("--snapshot-blob") + 1]).parent)
            try:
                self._sandbox = sandbox.spawn(
                    command,
                    workdir=Path(self._workdir.name),
                    readable=readable,
                    network=self.network,
                    **popen,
                )
            except BaseException:
                self._workdir.cleanup()
                raise
            self.process = self._sandbox.process
        else:
            self.process = subprocess.Popen(command, **popen)
        self._selector = selectors.DefaultSelector()
        for stream in (self.process.stdout, self.process.stderr):
            os.set_blocking(stream.fileno(), False)
            self._selector.register(stream, selectors.EVENT_READ)
        os.set_blocking(self.process.stdin.fileno(), False)
        self._stdout_buffer = bytearray()
        self._scanned = 0  # bytes at the start of the buffer known to hold no end of line
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self) -> None:
        self.kill()
        if self._sandbox is not None:
            self._sandbox.close()
        self._selector.close()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            try:
                stream.close()
            except OSError:
                pass
        self._workdir.cleanup()

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    @property
    def signal(self) -> int | None:
        """The signal that ended the process, if one did (bubblewrap reports it as 128 + signal)."""
        code = self.returncode
        if code is not None and code < 0:
            return -code
        if self.sandboxed and code is not None and code > 128:
            return code - 128
        return None

    @property
    def stderr_text(self) -> str:
        return self._stderr.decode("utf8", "replace")

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def died_starting(self) -> str | None:
        """Why the process ended before it said "ready", when another process would not end so:
        bubblewrap's loopback set-up losing a race in the kernel under load (after the process had
        started: sandbox.spawn's own retry cannot see it), or Node refusing the startup snapshot
        (then this worker starts runners without it). No job code ran in such a process."""
        if self.ready or self.alive:
            return None
        stderr = self.stderr_text
        if "loopback: Failed RTM_" in stderr:
            return "bubblewrap could not set up the sandbox's loopback: " + _line_with(stderr, "RTM_")
        # A snapshot of other V8 flags or another Node.js: "Failed to load the startup snapshot" (exit
        # 14); one that is not a snapshot at all: Node's assertion in SnapshotData::FromBlob (abort);
        # one that is gone: "Cannot open <blob>".
        said = [_line_with(stderr, part) for part in ("startup snapshot", "SnapshotData", "Cannot open")]
        if self.from_snapshot and any(said):
            reason = next(line for line in said if line)
            snapshot.refused(self.memory_mb, reason)
            return "Node.js refused the runner's startup snapshot: " + reason
        return None

    def begin_run(self) -> None:
        """Forget what an earlier run on this process left: its end reason and its stderr."""
        self.ended_by = None
        self._stderr.clear()

    def _tree(self) -> Iterator[tuple[int, str, bool]]:
        """(pid, program name, is the runner) of this process and all its descendants."""
        pending = [self.process.pid]
        while pending:
            pid = pending.pop()
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                    args = cmdline.read().split(b"\0")
                yield pid, Path(args[0].decode(errors="replace")).name, str(WORKER).encode() in args
            except OSError:
                pass
            pending += _children(pid)

    def node_pids(self) -> list[int]:
        """The Node.js processes of this runner (under bubblewrap, a grandchild of ours)."""
        return [pid for pid, program, runner in self._tree() if runner and program != "bwrap"]

    def stray_processes(self) -> list[int]:
        """Processes that job code started and that are still alive between runs (a detached child
        survives its parent's exit and is adopted by the sandbox's init): besides bubblewrap and the
        runner itself, nothing should be there."""
        return [
            pid
            for pid, program, runner in self._tree()
            if pid != self.process.pid and program != "bwrap" and not runner
        ]

    def send(self, request: dict, *, last: bool = False) -> None:
        """Queue one request; it is written while events are read, so a big state cannot deadlock.

        `last`: close stdin once it is written, which tells the runner to exit after this request.
        """
        self._pending_input += json.dumps(request).encode() + b"\n"
        self._close_input_when_sent = last
        if not self._writing:
            self._selector.register(self.process.stdin, selectors.EVENT_WRITE)
            self._writing = True

    def kill(self) -> None:
        # The whole group: job code may have started processes of its own.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def _write_input(self) -> None:
        try:
            written = os.write(self.process.stdin.fileno(), self._pending_input)
        except BlockingIOError:
            return
        except OSError:
            written = len(self._pending_input)  # the process is gone; reading will tell why
        del self._pending_input[:written]
        if not self._pending_input:
            self._selector.unregister(self.process.stdin)
            self._writing = False
            if self._close_input_when_sent:
                self.process.stdin.close()

    def _read(self, stream) -> bool:
        """Read what is there now; False once the stream is at end of file."""
        try:
            chunk = os.read(stream.fileno(), READ_CHUNK)
        except BlockingIOError:
            return True
        if not chunk:
            self._selector.unregister(stream)
            return False
        if stream is self.process.stderr:
            self._stderr += chunk
            del self._stderr[:-STDERR_KEPT_BYTES]
        else:
            self._stdout_buffer += chunk
        return True

    def _complete_lines(self) -> Iterator[dict]:
        # A final state of megabytes is one line: search only what arrived since the last search.
        while (end := self._stdout_buffer.find(b"\n", self._scanned)) >= 0:
            line = bytes(self._stdout_buffer[:end])
            del self._stdout_buffer[: end + 1]
            self._scanned = 0
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except ValueError as exc:
                raise ProtocolError(f"the runner wrote a line that is not JSON: {line[:200]!r}") from exc
            if not isinstance(event, dict) or not isinstance(event.get("type"), str):
                raise ProtocolError(f"the runner wrote a line that is not an event: {line[:200]!r}")
            yield event
        self._scanned = len(self._stdout_buffer)

    def _over_memory(self) -> bool:
        now = time.monotonic()
        if now - self._memory_checked_at < MEMORY_CHECK_SECONDS:
            return False
        self._memory_checked_at = now
        rss = tree_rss_mb(self.process.pid)
        self.peak_rss_mb = max(self.peak_rss_mb, rss)
        return rss > self.rss_limit_mb

    def events(self, deadline: float, cancel: threading.Event | None = None) -> Iterator[dict]:
        """Events until the process ends or a limit is reached (`deadline` is a time.monotonic()),
        or until `cancel` is set: the process group is then killed at once (looked at every
        POLL_SECONDS at most, however quiet the job)."""
        stdout_open = True
        exited_at = None
        while True:
            now = time.monotonic()
            if exited_at is None:
                if self.process.poll() is not None:
                    exited_at = now
                elif cancel is not None and cancel.is_set():
                    self.ended_by = "cancelled"
                    self.kill()
                    return
                elif now >= deadline:
                    self.ended_by = "timeout"
                    self.kill()
                    return
                elif self._over_memory():
                    self.ended_by = "memory"
                    self.kill()
                    return
            # After the exit, read what is still in the pipe; a process the job started may hold
            # stdout open, so do not wait for end of file for ever once nothing more comes.
            if exited_at is not None and (not stdout_open or now - exited_at > EXIT_GRACE_SECONDS):
                self._drain_stderr()
                self.ended_by = "exited"
                return
            if not stdout_open:
                time.sleep(POLL_SECONDS)
                continue
            wait = POLL_SECONDS if exited_at is not None else max(0.0, min(POLL_SECONDS, deadline - now))
            for key, _ in self._selector.select(wait):
                if key.fileobj is self.process.stdin:
                    self._write_input()
                elif not self._read(key.fileobj) and key.fileobj is self.process.stdout:
                    stdout_open = False
                elif exited_at is not None:
                    exited_at = now
            for event in self._complete_lines():
                if event["type"] == "ready":
                    self.ready = True
                yield event

    def _drain_stderr(self) -> None:
        # Never wait here: read only what is already in the pipe.
        for _ in range(64):
            registered = [key.fileobj for key in self._selector.get_map().values()]
            if self.process.stderr not in registered:
                return
            try:
                chunk = os.read(self.process.stderr.fileno(), READ_CHUNK)
            except BlockingIOError:
                return
            if not chunk:
                self._selector.unregister(self.process.stderr)
                return
            self._stderr += chunk
            del self._stderr[:-STDERR_KEPT_BYTES]
