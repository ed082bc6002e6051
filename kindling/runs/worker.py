"""The worker: claim a run, execute it on the engine, finish it (`process_one`: one turn of a slot).

A `kindling worker` process runs `slots` threads, each doing claim -> execute -> finish, so that a
project with concurrency 5 really has 5 runs executing at once; one lease keeper thread that renews
the lease of every run the process holds, so that the janitor can tell a slow run from a dead
worker, and kills the Node process of a run that was aborted meanwhile; and one log writer thread
that stores the runs' log lines while they execute (livelog.py).
"""

import logging
import os
import socket
import threading
import time
from datetime import UTC, datetime

from django.conf import settings
from django.db import DataError, InterfaceError, OperationalError, close_old_connections, connections, router

from kindling import engine
from kindling.lib.storable import escaped
from kindling.ops.logs import about
from kindling.runs import queue
from kindling.runs.commits import CommitWatch
from kindling.runs.listen import Listener
from kindling.runs.livelog import LiveLog, LogWriter
from kindling.runs.models import Run
from kindling.runs.spec import CannotStart, spec_for

log = logging.getLogger(__name__)

COMMIT_CHECK_SECONDS = 0.01
# An idle slot waiting for a PostgreSQL notification looks at the stop flag this often.
STOP_CHECK_SECONDS = 0.25
# How soon a worker notices that a run it executes was aborted (or declared lost), and kills its Node
# process: one cheap query for all the runs it holds, this often, between lease renewals.
ABORT_CHECK_SECONDS = 1.0
# How long a slot keeps trying to record a result while the database is away (restarting, a dropped
# connection, SQLite locked past its busy timeout), waiting up to RECORD_RETRY_MAX_WAIT between tries.
RECORD_PATIENCE_SECONDS = 600.0
RECORD_RETRY_MAX_WAIT = 5.0
# Runs of one project a slot executes in a row, each claimed as the one before ends, before it looks
# at the whole queue again (where the project whose next run is oldest goes first).
CHAIN_RUNS = 20


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def engine_note(message: str, level: str = "error") -> engine.LogLine:
    return engine.LogLine(time=datetime.now(UTC), source="RTE", level=level, message=message)


def pool_config(slots: int | None = None) -> dict:
    """The engine pool's settings for a worker of `slots` slots: unless KINDLING_POOL_SIZE says
    otherwise, a project may keep as many warm processes as the worker can run its runs at once."""
    return {"size": max(2, slots or settings.WORKER_SLOTS), **settings.ENGINE_POOL}


def execute(
    run: Run,
    *,
    cancel: threading.Event | None = None,
    live: LiveLog | None = None,
    then: queue.NextClaim | None = None,
    slots: int | None = None,
) -> list[Run]:
    """Execute a claimed run and finish it. `cancel`: set when the run was aborted meanwhile; its Node
    process is then killed. `live`: where its lines go as they come; finish() writes the rest.
    `then`: finish() also claims the project's next run (queue.NextClaim). `slots`: the worker's
    (the size of the warm pool follows it)."""
    try:
        spec = spec_for(run)
    except CannotStart as exc:
        return record(run, 3, None, [*unwritten(live), engine_note(str(exc))], then=then)
    try:
        # A warm Node process serves runs of one project only (job code can reach its host realm).
        pool = engine.shared_pool(**pool_config(slots))
        result = pool.execute(
            spec,
            key=f"project-{run.project_id}",
            repo_dir=settings.ADAPTOR_REPO_DIR,
            on_log=live.add if live is not None else None,
            cancel=cancel,
        )
    except Exception as exc:  # the engine reports job failures itself; this is a bug of ours
        log.exception("engine failed on run %s", run.pk)
        note = engine_note(f"Internal error of the execution engine: {exc}")
        return record(run, 10, None, [*unwritten(live), note], then=then)
    # Every line of result.log went through `live`: only those it did not write yet are left. An
    # aborted run ends with exit 6 here; finish() keeps its record as the abort left it and only adds
    # these lines (the last of them: "Aborted: ...").
    lines = result.log if live is None else live.close()
    return record(run, result.exit_code, result.final_state, lines, result.adaptor_version or "", then=then)


def record(
    run: Run,
    exit_code: int,
    final_state,
    lines,
    adaptor_version: str = "",
    then: queue.NextClaim | None = None,
) -> list[Run]:
    """queue.finish(), which a platform problem cannot turn into a lost run.

    The slot's connection sat idle while the job ran; the database may have dropped it meanwhile
    (a restart, pg_terminate_backend, an idle timeout). finish() is one transaction, so a failed
    attempt wrote nothing: reconnect and try again until the database answers. A refusal of the
    data itself (DataError) ends the run with exit 1, without its final state, and says why.
    """
    alias = router.db_for_write(Run)
    give_up_at, wait, retrying = time.monotonic() + RECORD_PATIENCE_SECONDS, 0.05, False
    while True:
        try:
            # A connection lost while COMMIT was under way may have committed: only finish() ends a
            # run as success or failed, so such a run was ours, and its lines are stored already.
            if retrying and Run.objects.filter(pk=run.pk, status__in=Run.ENDED_BY_FINISH).exists():
                run.refresh_from_db()
                if then is not None and not then.still_ours():
                    then.run = None
                return []
            return queue.finish(run, exit_code, final_state, lines, adaptor_version, then=then)
        except (OperationalError, InterfaceError):
            retrying = True
            if time.monotonic() + wait > give_up_at:
                raise
            log.warning("recording the end of run %s failed; reconnecting", run.pk, exc_info=True)
            connections[alias].close()
            time.sleep(wait)
            wait = min(wait * 2, RECORD_RETRY_MAX_WAIT)
        except DataError as exc:
            if final_state is None and exit_code != 0:
                raise
            log.warning("the database refused the result of run %s", run.pk, exc_info=True)
            note = f"The result cannot be stored ({exc}). The run fails; its final state is not kept."
            lines = [engine.LogLine(ln.time, ln.source, ln.level, escaped(ln.message)) for ln in lines]
            lines.append(engine_note(escaped(note)))
            exit_code, final_state = exit_code or 1, None


def unwritten(live: LiveLog | None) -> list:
    return [] if live is None else live.close()


class LeaseKeeper:
    """Renews the leases of the runs this process executes, from one thread.

    When a held run is no longer running (an administrator aborted it, or the janitor declared it
    lost after a long database outage), its event in `stopped` is set: the engine kills the run's
    Node process (the event is its `cancel`), and finish() keeps the run as it was ended. Renewals
    come every third of a lease; between them the keeper looks for such runs every
    `check_seconds`, so an abort takes effect within about a second, not a lease.
    """

    def __init__(
        self, worker: str, lease_seconds: float | None = None, check_seconds: float = ABORT_CHECK_SECONDS
    ):
        self.worker = worker
        self.lease_seconds = float(lease_seconds or settings.RUN_LEASE_SECONDS)
        self.check_seconds = check_seconds
        self.stopped: dict[int, threading.Event] = {}
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, run_id: int) -> threading.Event:
        with self._lock:
            return self.stopped.setdefault(run_id, threading.Event())

    def release(self, run_id: int) -> None:
        with self._lock:
            self.stopped.pop(run_id, None)

    def renew(self) -> None:
        with self._lock:
            held = list(self.stopped)
        if not held:
            return
        missing = set(held) - queue.renew_leases(self.worker, held, self.lease_seconds)
        if missing:
            self.check(missing)

    def check(self, run_ids=None) -> None:
        """Stop the held runs (or those of `run_ids`) that were aborted or declared lost: one query."""
        with self._lock:
            held = [run_id for run_id, event in self.stopped.items() if not event.is_set()]
        if run_ids is not None:
            held = [run_id for run_id in held if run_id in run_ids]
        if not held:
            return
        # A run that its own slot just finished is no longer running either: only these count.
        for run_id in queue.aborted_or_lost(held):
            with self._lock:
                event = self.stopped.get(run_id)
            if event is not None and not event.is_set():
                event.set()
                log.warning("run %s was aborted or declared lost while it ran here: killing it", run_id)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="lease-keeper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        # Three renewals per lease: one failed renewal (a database hiccup) never loses a run.
        interval = self.lease_seconds / 3
        renew_at = time.monotonic() + interval
        try:
            while not self._done.wait(max(0.0, min(self.check_seconds, renew_at - time.monotonic()))):
                try:
                    if time.monotonic() >= renew_at:
                        renew_at = time.monotonic() + interval
                        self.renew()
                    else:
                        self.check()
                except Exception:
                    log.exception("renewing leases failed; retrying")
                    close_old_connections()
        finally:
            connections.close_all()


def claim_one(worker: str | None = None, leases: LeaseKeeper | None = None) -> Run | None:
    # Without a lease keeper nobody renews the lease, so it must outlast the run's timeout.
    lease = leases.lease_seconds if leases else settings.RUN_TIMEOUT_SECONDS + 60
    run = queue.claim(worker or worker_name(), lease_seconds=lease)
    if run is not None and leases is not None:
        leases.hold(run.pk)
    return run


def execute_claimed(
    run: Run,
    leases: LeaseKeeper | None = None,
    logs: LogWriter | None = None,
    then: queue.NextClaim | None = None,
    slots: int | None = None,
) -> Run:
    """Execute a claimed run; returns it as it ended (finish() updates it).

    With `leases`, an abort kills the run's Node process; with `logs`, its lines are stored while it
    executes. Without them (tests, `process_one()` alone) it runs to its end and its lines are
    stored when it ends. With `then`, the project's next run is claimed as this one ends.
    """
    cancel = leases.hold(run.pk) if leases is not None else None
    live = logs.follow(run) if logs is not None else None
    try:
        with about(run_id=run.pk, project_id=run.project_id):  # on each line logged meanwhile (json logs)
            execute(run, cancel=cancel, live=live, then=then, slots=slots)
    finally:
        if logs is not None:
            logs.forget(run.pk)
        if leases is not None:
            leases.release(run.pk)
    return run


def process_one(
    worker: str | None = None, leases: LeaseKeeper | None = None, logs: LogWriter | None = None
) -> Run | None:
    """Claim and execute one run; returns it, or None when nothing could be claimed."""
    run = claim_one(worker, leases)
    return None if run is None else execute_claimed(run, leases, logs)


class Worker:
    """`slots` threads executing runs until `stop()`; a stopping worker finishes its current runs and
    claims no more."""

    def __init__(
        self,
        name: str | None = None,
        slots: int | None = None,
        lease_seconds: float | None = None,
        poll_seconds: float | None = None,
        on_run=None,
    ):
        self.name = name or worker_name()
        self.slots = slots or settings.WORKER_SLOTS
        self.poll_seconds = settings.WORKER_POLL_SECONDS if poll_seconds is None else poll_seconds
        self.leases = LeaseKeeper(self.name, lease_seconds)
        self.logs = LogWriter()
        self.listener = WakeListener()
        self.commits = CommitWatch()
        self.on_run = on_run
        self.stopping = threading.Event()
        self._claiming = threading.Lock()
        self._chaining = threading.Lock()
        self.threads: list[threading.Thread] = []

    def stop(self) -> None:
        self.stopping.set()
        # The slot looking for work holds this lock, and a slot claiming its project's next run as
        # its last one ends holds the other: once stop() has had both, no claim is under way, and
        # the flag keeps any other from starting.
        with self._claiming:
            pass
        with self._chaining:
            pass

    def _next_claim(self) -> queue.NextClaim:
        return queue.NextClaim(
            self.name, self.leases.lease_seconds, self._chaining, self.stopping, self.commits.version
        )

    def start(self, once: bool = False) -> None:
        self.leases.start()
        self.logs.start()
        self.threads = [
            threading.Thread(target=self._slot, args=(once,), name=f"slot-{i}", daemon=True)
            for i in range(self.slots)
        ]
        for thread in self.threads:
            thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for every slot to end; True when they all did."""
        for thread in self.threads:
            thread.join(timeout)
        alive = any(thread.is_alive() for thread in self.threads)
        if not alive:
            self.leases.stop()
            self.logs.stop()
            self.listener.close()
            self.commits.close()
        return not alive

    def _slot(self, once: bool) -> None:
        run, in_a_row = None, 0
        try:
            while True:
                if run is None:
                    if (run := self._next_run(once)) is None:
                        break
                    in_a_row = 0
                # The project's next run is claimed as this one ends (queue.NextClaim), for up to
                # CHAIN_RUNS runs in a row: then the slot looks at the whole queue again, where the
                # project whose next run is oldest goes first.
                in_a_row += 1
                then = self._next_claim() if in_a_row < CHAIN_RUNS else None
                try:
                    execute_claimed(run, self.leases, self.logs, then, self.slots)
                except Exception:
                    # A bug or a database outage in finish(): the run keeps no lease, so the janitor
                    # ends it as lost (and the next one too, if it was claimed).
                    log.exception("run %s failed in the worker", run.pk)
                    close_old_connections()
                    run = None
                    continue
                if then is not None and then.version is not None:
                    self.commits.committed(then.version)
                if self.on_run is not None:
                    self.on_run(run)
                run = then.run if then is not None else None
        finally:
            # Django opens one connection per thread; a slot that ends must not leave its own open.
            connections.close_all()

    def _next_run(self, once: bool) -> Run | None:
        """Claim the next run, waiting while there is none; None once stopping (or, `once`, when the
        queue has nothing for this worker).

        One idle slot looks at a time, the others queue behind it on the lock: a process looks
        every `poll_seconds / slots` seconds when idle (as often as `slots` slots each looking every
        `poll_seconds`, but a new run waits a `slots`-th of the time), and as soon as a slot gets a
        run the next idle one looks again at once, so a burst of runs fills every free slot.
        """
        with self._claiming:
            while not self.stopping.is_set():
                try:
                    version = self.commits.look()
                    run = claim_one(self.name, self.leases)
                except Exception:
                    log.exception("claiming failed; retrying")  # a database outage
                    close_old_connections()
                    self.stopping.wait(max(self.poll_seconds, 1.0))
                    continue
                if run is not None or once:
                    return run
                self._idle(version, self.poll_seconds / self.slots)
        return None

    def _idle(self, version: int | None, seconds: float) -> None:
        """Wait `seconds`, or less: on SQLite until another connection commits (a message came in, a
        run ended), on PostgreSQL until a NOTIFY on the wake channel; a new run is then claimed
        within milliseconds instead of a poll interval later."""
        if version is None:
            deadline = time.monotonic() + seconds
            # In short waits, so that stop() is never kept waiting for a whole poll interval.
            while not self.stopping.is_set() and (left := deadline - time.monotonic()) > 0:
                woken = self.listener.wait(min(left, STOP_CHECK_SECONDS))
                if woken is None:
                    self.stopping.wait(left)  # nobody to listen to: poll
                    return
                if woken:
                    return
            return
        deadline = time.monotonic() + seconds
        while not self.stopping.wait(min(COMMIT_CHECK_SECONDS, max(0.0, deadline - time.monotonic()))):
            if time.monotonic() >= deadline or self.commits.changed():
                return


class WakeListener(Listener):
    """PostgreSQL: LISTENs on the wake channel (queue.wake_workers). Used by the one slot that waits
    for work (the others queue behind it on the claiming lock)."""

    def __init__(self):
        super().__init__(queue.WAKE_CHANNEL, "new runs")

    def wait(self, seconds: float) -> bool | None:
        """Wait up to `seconds` for a notification: True when one came, False when none did, None
        when there is no listening here (not PostgreSQL, or the connection broke: the caller polls
        instead, and a new connection is tried again after a while). Those sent while every slot was
        busy are stale and read with it: one look at the queue answers all."""
        heard = self.payloads(seconds)
        return None if heard is None else bool(heard)
