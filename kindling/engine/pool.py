"""The warm pool: Node runner processes kept between runs, so that a run skips Node's start, the
runtime's import and the ESM hook, and finds the adaptor's dependencies already loaded.

A process serves runs of one key only (the worker uses one key per project), one run at a time.
Per key there are at most `size` processes, idle or busy. A run takes the most recently used idle
process, or starts a new one while the key has fewer than `size`; beyond that it gets a one-shot
process of its own (never a wait behind another project's or another run's job: a cold start costs
a third of a second, a wait could cost a whole run). After a run the process goes back to the idle list
unless the run ended abnormally (timeout, out of memory, crash, a runner that found something the
run left behind), it has served its share of runs (between three quarters of `max_runs` and
`max_runs`, drawn at random for each process, so that processes started together are not all
replaced at once and the standby process can take over each time), or its heap is over
`max_heap_mb` (a job that held much data leaves a large heap behind: processes are recycled, never
trimmed). Idle processes are killed after `idle_seconds`, and at most `max_processes` are kept in all
(the least recently used idle one makes room for a new one).

Standby: `standby` processes are kept started and bound to no key, with the runtime and the compiler
loaded and no job ever run in them. A key that needs a new process takes one (and a thread starts its
replacement), so the first run of a project, or the first after a recycle, skips Node's start and the
runtime's import. A standby process also imports the adaptor of the latest request and compiles a
trivial expression with it (the runner's `compile` request: no job code runs), so a run with that
adaptor version skips its import too. They start with the heap limit and adaptor repository of the
latest request, count towards `max_processes`, and never make an idle process leave.
"""

import atexit
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .compile import CompilerUnavailable, request_compile
from .node import RunnerProcess, tree_rss_mb
from .sandbox import HOST_NETWORK, configured_network

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Lease:
    """A runner process lent to one run: a warm one of the pool, or a one-shot one."""

    runner: RunnerProcess
    key: str | None = None
    memory_mb: int = 0
    repo: Path | None = None
    warm: bool = False
    runs: int = 0  # runs this process served before the current one
    idle_since: float = field(default=0.0)
    run_limit: int = 0  # runs this process may serve before it is replaced (0: the pool's max_runs)
    standby: bool = False  # started ahead, for no key
    imported: str | None = None  # the adaptor a standby process imported ahead

    @classmethod
    def fresh(
        cls, memory_mb: int, repo: Path, spare: "Lease | None" = None, *, local: bool = False
    ) -> "Lease":
        if spare is not None:
            return cls(spare.runner, memory_mb=memory_mb, repo=repo, standby=True, imported=spare.imported)
        return cls(_start(memory_mb, repo, local=local), memory_mb=memory_mb, repo=repo)

    def describe(self) -> str:
        ahead = ""
        if self.standby:
            ahead = ", started ahead" + (f" with {self.imported} imported" if self.imported else "")
        if not self.warm:
            return f"a new Node.js process for this run{ahead}"
        if self.runs == 0:
            return f"a new warm Node.js process{ahead}"
        return f"a warm Node.js process (its run {self.runs + 1})"


def _start(memory_mb: int, repo: Path, *, local: bool = False) -> RunnerProcess:
    readable = (Path(repo).resolve(),)
    if local:
        return RunnerProcess(memory_mb, readable=readable, network=HOST_NETWORK, unsandboxed_ok=True).start()
    return RunnerProcess(memory_mb, readable=readable).start()


WARM_UP_SECONDS = 60.0


def _import_ahead(runner: RunnerProcess, adaptor: str, repo: Path) -> None:
    """Have a standby process import `adaptor` and compile a trivial expression with it: a compile
    request runs no job code, and leaves the adaptor's modules and the compiler loaded."""
    request = {
        "type": "compile",
        "id": "standby",
        "expression": "fn(state => state);",
        "adaptor": adaptor,
        "repo": str(repo),
    }
    try:
        answer = request_compile(runner, request, time.monotonic() + WARM_UP_SECONDS)
    except CompilerUnavailable as exc:
        raise RuntimeError(f"the standby process could not import {adaptor}: {exc}") from exc
    if "error" in answer:
        raise RuntimeError(f"the standby process could not import {adaptor}: {answer['error']}")


# Runs a process serves before it is replaced (docs/engine.md, "Recycling"; KINDLING_POOL_MAX_RUNS).
MAX_RUNS = 1000


class Pool:
    def __init__(
        self,
        *,
        size: int = 2,
        max_runs: int = MAX_RUNS,
        max_heap_mb: int = 256,
        idle_seconds: float = 300,
        max_processes: int = 8,
        standby: int = 0,
        local: bool = False,
    ):
        self.local = local  # the host's network, as `kindling execute` has (bench/engine.py compares)
        self._lock = threading.Lock()
        self._idle: dict[str, list[Lease]] = {}  # per key, least recently used first
        self._busy: dict[str, set[Lease]] = {}
        self._standby: list[Lease] = []  # started, bound to no key, never ran a job
        self._starting = 0  # standby processes being started
        self._profile: tuple[int, Path] | None = None  # heap limit and repository of the latest request
        self._adaptor: str | None = None  # "<name>@<version>" of the latest request: what standbys import
        self._starter: threading.Thread | None = None
        self._standby_wake = threading.Event()
        self._closed = False
        self._wake = threading.Event()
        self._reaper: threading.Thread | None = None
        self.configure(
            size=size,
            max_runs=max_runs,
            max_heap_mb=max_heap_mb,
            idle_seconds=idle_seconds,
            max_processes=max_processes,
            standby=standby,
        )

    def configure(self, *, size, max_runs, max_heap_mb, idle_seconds, max_processes, standby=0) -> None:
        with self._lock:
            self.size = size
            self.max_runs = max_runs
            self.max_heap_mb = max_heap_mb
            self.idle_seconds = idle_seconds
            self.max_processes = max_processes
            self.standby = standby
            extra = self._standby[standby:]
            del self._standby[standby:]
        for lease in extra:
            lease.runner.close()
        self._wake.set()

    def execute(self, spec, *, key: str, repo_dir: Path, on_log=None, cancel: threading.Event | None = None):
        """Run `spec` on a process of `key`. A run cancelled through `cancel` has its process killed:
        it is never taken back (execute.py releases it as not reusable)."""
        from .execute import execute

        return execute(spec, repo_dir=repo_dir, on_log=on_log, pool=self, warm_key=key, cancel=cancel)

    def acquire(self, key: str, memory_mb: int, repo: Path, adaptor: str | None = None) -> Lease:
        """A process for a run of `key`; `adaptor` ("<name>@<version>") is what standby processes
        started from now on import ahead."""
        repo = Path(repo).resolve()
        # A process keeps the network it started with: after KINDLING_JOB_ALLOW_HOSTS changed (tests
        # do it; an operator restarts workers), older processes are not reused.
        network = HOST_NETWORK if self.local else configured_network()
        unfit: list[Lease] = []
        lease = None
        with self._lock:
            self._profile = (memory_mb, repo)
            self._adaptor = adaptor or self._adaptor
            idle = self._idle.setdefault(key, [])
            busy = self._busy.setdefault(key, set())
            while idle and lease is None:
                candidate = idle.pop()  # the most recently used: its caches are the warmest
                # A process is started with one heap limit and one adaptor repository.
                fits = (candidate.memory_mb, candidate.repo, candidate.runner.network) == (
                    memory_mb,
                    repo,
                    network,
                )
                if candidate.runner.alive and fits:
                    lease = candidate
                else:
                    unfit.append(candidate)
            spare = None
            if lease is None and not self._closed:
                # A new process for this run: a standby one if there is one (the count stays the same).
                spare = self._take_standby(unfit, network)
            if lease is None and not self._closed and len(idle) + len(busy) < self.size:
                if spare is None and self._count() >= self.max_processes:
                    victim = self._least_recently_used_idle()
                    if victim is not None:
                        self._idle[victim.key].remove(victim)
                        unfit.append(victim)
                if spare is not None:
                    lease = Lease(
                        spare.runner,
                        key=key,
                        memory_mb=memory_mb,
                        repo=repo,
                        warm=True,
                        standby=True,
                        imported=spare.imported,
                    )
                    spare = None
                elif self._count() < self.max_processes:
                    lease = Lease(None, key=key, memory_mb=memory_mb, repo=repo, warm=True)  # type: ignore[arg-type]
            if lease is not None:
                if not lease.run_limit:
                    lease.run_limit = self.draw_run_limit()
                busy.add(lease)
        for old in unfit:
            old.runner.close()
        self._refill()
        if lease is None:
            return Lease.fresh(memory_mb, repo, spare)
        if lease.runner is None:
            try:
                lease.runner = _start(memory_mb, repo, local=self.local)
            except BaseException:
                with self._lock:
                    busy.discard(lease)
                raise
        return lease

    def draw_run_limit(self) -> int:
        """How many runs a new process may serve: between three quarters of max_runs and max_runs."""
        return self.max_runs - random.randint(0, self.max_runs // 4)

    def _take_standby(self, unfit: list[Lease], network) -> Lease | None:
        """A standby process fit for the latest request (lock held); unfit ones go to `unfit`."""
        while self._standby:
            spare = self._standby.pop(0)  # the oldest: it has surely finished starting
            fits = (spare.memory_mb, spare.repo) == self._profile and spare.runner.network == network
            if spare.runner.alive and fits:
                return spare
            unfit.append(spare)
        return None

    def _refill(self) -> None:
        """Wake the starter thread when fewer than `standby` processes are ready or starting."""
        with self._lock:
            wanted = not self._closed and self._standby_wanted()
            if wanted and (self._starter is None or not self._starter.is_alive()):
                # One thread for the pool's whole life: bubblewrap's --die-with-parent kills a process
                # when the *thread* that started it ends, so a short-lived thread would take its
                # standby process with it.
                self._starter = threading.Thread(
                    target=self._keep_standby, name="kindling-pool-standby", daemon=True
                )
                self._starter.start()
        if wanted:
            self._standby_wake.set()

    def _standby_wanted(self) -> bool:
        return (
            self._profile is not None
            and len(self._standby) + self._starting < self.standby
            and self._count() + self._starting < self.max_processes
        )

    def _keep_standby(self) -> None:
        while True:
            self._standby_wake.wait()
            self._standby_wake.clear()
            while True:
                with self._lock:
                    if self._closed:
                        return
                    if not self._standby_wanted():
                        break
                    self._starting += 1
                    memory_mb, repo = self._profile  # type: ignore[misc]
                    adaptor = self._adaptor
                runner = None
                try:
                    runner = _start(memory_mb, repo, local=self.local)
                    if adaptor is not None:
                        _import_ahead(runner, adaptor, repo)
                except (RuntimeError, OSError) as exc:
                    # A standby is an optimisation: one that failed to start (bwrap's network
                    # namespace set-up loses a kernel race now and then) is replaced on the next turn.
                    log.warning("a standby Node.js process did not start: %s", exc)
                    if runner is not None:
                        runner.died_starting()  # notes a refused startup snapshot
                        runner.close()
                        runner = None
                except Exception:
                    log.exception("a standby Node.js process did not start")
                    if runner is not None:
                        runner.close()
                        runner = None
                with self._lock:
                    self._starting -= 1
                    keep = runner is not None and not self._closed and len(self._standby) < self.standby
                    if keep:
                        self._standby.append(
                            Lease(runner, memory_mb=memory_mb, repo=repo, standby=True, imported=adaptor)
                        )
                if runner is None:
                    break  # try again at the next request, not in a loop
                if not keep:
                    runner.close()

    def release(self, lease: Lease, *, reusable: bool, heap_mb: float | None = None) -> None:
        if not lease.warm:
            lease.runner.close()
            return
        lease.runs += 1
        keep = (
            reusable
            and lease.runner.alive
            and lease.runs < min(lease.run_limit or self.max_runs, self.max_runs)
            and heap_mb is not None
            and heap_mb < self.max_heap_mb
        )
        with self._lock:
            self._busy[lease.key].discard(lease)
            room = len(self._idle[lease.key]) + len(self._busy[lease.key]) < self.size
            keep = keep and room and not self._closed
            if keep:
                lease.idle_since = time.monotonic()
                self._idle[lease.key].append(lease)
                self._start_reaper()
        if not keep:
            lease.runner.close()
            self._refill()

    def close(self) -> None:
        """Kill every idle process; busy ones are killed when their run ends."""
        with self._lock:
            self._closed = True
            idle = [lease for leases in self._idle.values() for lease in leases] + self._standby
            self._idle.clear()
            self._standby = []
        self._wake.set()
        self._standby_wake.set()
        for lease in idle:
            lease.runner.close()

    def stats(self) -> dict[str, dict[str, int]]:
        with self._lock:
            keys = set(self._idle) | set(self._busy)
            return {
                key: {"idle": len(self._idle.get(key, ())), "busy": len(self._busy.get(key, ()))}
                for key in sorted(keys)
            }

    def node_pids(self, key: str) -> list[int]:
        """The Node.js process ids of a key's runners, busy ones first (for tests and the benchmark)."""
        with self._lock:
            leases = [*self._busy.get(key, ()), *self._idle.get(key, ())]
        return [pid for lease in leases if lease.runner is not None for pid in lease.runner.node_pids()]

    def rss_mb(self, key: str) -> list[float]:
        """Resident memory of each of a key's processes, bubblewrap included (for the benchmark)."""
        with self._lock:
            leases = [*self._busy.get(key, ()), *self._idle.get(key, ())]
        return [tree_rss_mb(lease.runner.process.pid) for lease in leases if lease.runner is not None]

    def standby_pids(self) -> list[int]:
        """The Node.js process ids of the standby processes (for tests and the benchmark)."""
        with self._lock:
            return [pid for lease in self._standby for pid in lease.runner.node_pids()]

    def _count(self) -> int:
        return (
            sum(len(leases) for leases in self._idle.values())
            + sum(len(leases) for leases in self._busy.values())
            + len(self._standby)
        )

    def _least_recently_used_idle(self) -> Lease | None:
        idle = [lease for leases in self._idle.values() for lease in leases]
        return min(idle, key=lambda lease: lease.idle_since, default=None)

    def _start_reaper(self) -> None:
        if self._reaper is None or not self._reaper.is_alive():
            self._reaper = threading.Thread(target=self._reap, name="kindling-pool-reaper", daemon=True)
            self._reaper.start()

    def _reap(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                interval = max(0.1, min(self.idle_seconds / 2, 10.0))
                now = time.monotonic()
                expired = [
                    lease
                    for leases in self._idle.values()
                    for lease in leases
                    if now - lease.idle_since >= self.idle_seconds or not lease.runner.alive
                ]
                for lease in expired:
                    self._idle[lease.key].remove(lease)
                done = not any(self._idle.values()) and not any(self._busy.values())
                if done:
                    self._reaper = None
            for lease in expired:
                lease.runner.close()
            if done:
                return
            self._wake.wait(interval)
            self._wake.clear()


_shared: Pool | None = None
_shared_lock = threading.Lock()


def shared_pool(**config) -> Pool:
    """The pool of this process (a worker has one), created on first use; `config` as for Pool."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared._closed:
            _shared = Pool(**config)
            atexit.register(_shared.close)
        elif config and {**_current_config(_shared), **config} != _current_config(_shared):
            _shared.configure(**{**_current_config(_shared), **config})
        return _shared


def _current_config(pool: Pool) -> dict:
    return {
        "size": pool.size,
        "max_runs": pool.max_runs,
        "max_heap_mb": pool.max_heap_mb,
        "idle_seconds": pool.idle_seconds,
        "max_processes": pool.max_processes,
        "standby": pool.standby,
    }
