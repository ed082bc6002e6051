"""Waiting for runs to end, for requests that answer with their results (inbox/reply.py).

A waiting request holds neither a thread nor a database connection: it awaits a future. One watcher
thread per process, with one connection of its own, notices the ends for all of them, and only while
someone waits (it closes its connection and ends IDLE_SECONDS after the last one):

- PostgreSQL: it LISTENs on the channel that Run.record_end() NOTIFYs with the run's end, delivered
  when the end commits, so an end is seen within a millisecond or so of its commit. The notification
  carries what the answer needs (status, exit code, final state), so the waiter is answered without
  reading the run back; only an end too large for a notification is looked up. Other runs' ends
  (other processes' waiters) and new runs cost nothing;
- SQLite: it reads `PRAGMA data_version` (the count of commits by other connections, microseconds a
  read) every COMMIT_CHECK_SECONDS, and looks at the runs when it moved;

and on either it looks every FALLBACK_SECONDS anyway: an abort or the janitor ends runs without a
notification. A look is one query for the waited runs that have ended.
"""

import asyncio
import json
import logging
import threading
import time
from dataclasses import dataclass, field

from django.db import close_old_connections, connections, router

from kindling.runs.listen import Listener
from kindling.runs.models import RUN_ENDS_CHANNEL, Run

log = logging.getLogger(__name__)

COMMIT_CHECK_SECONDS = 0.002
NOTIFY_CHECK_SECONDS = 0.005
FALLBACK_SECONDS = 0.5
# How long the watcher and its connections outlive the last waiter.
IDLE_SECONDS = 10.0


@dataclass(eq=False)
class Waiter:
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future
    waiting: set[int]
    ended: dict[int, dict] = field(default_factory=dict)


def ended_runs(run_ids) -> dict[int, dict]:
    rows = Run.objects.filter(pk__in=list(run_ids), status__in=Run.FINISHED).values_list(
        "pk", "status", "exit_code", "final_state"
    )
    return {
        pk: {"status": status, "exit_code": exit_code, "final_state": state}
        for pk, status, exit_code, state in rows
    }


class EndListener(Listener):
    """LISTENs for run ends (PostgreSQL only)."""

    def __init__(self):
        super().__init__(RUN_ENDS_CHANNEL, "run ends")

    def heard(self, seconds: float) -> dict | None:
        """The ends heard within `seconds`, returning as soon as one is: {run id: its end (status,
        exit_code, final_state), or None when the notification only names the run}; empty when none
        was; None when there is no listening here (not PostgreSQL, or the connection broke)."""
        payloads = self.payloads(seconds)
        if payloads is None:
            return None
        ended = {}
        for payload in payloads:
            ended.update(_end(payload))
        return ended


def _end(payload: str) -> dict:
    """{run id: end or None} from a notification of Run.record_end(); {} for anything else."""
    try:
        told = json.loads(payload)
        run_id = int(told["id"])
    except (ValueError, TypeError, KeyError):
        return {}
    if "status" not in told:
        return {run_id: None}
    return {run_id: {key: told.get(key) for key in ("status", "exit_code", "final_state")}}


class RunEnds:
    def __init__(self):
        self._lock = threading.Lock()
        self._by_run: dict[int, set[Waiter]] = {}
        self._new = threading.Event()  # a waiter came: look at once (its runs may have ended already)
        self._thread: threading.Thread | None = None
        self._listener = EndListener()

    async def wait(self, run_ids: list[int], seconds: float) -> dict[int, dict] | None:
        """The end of each run (status, exit_code, final_state) once all have ended; None when
        `seconds` pass first."""
        loop = asyncio.get_running_loop()
        waiter = Waiter(loop, loop.create_future(), set(run_ids))
        if not waiter.waiting:
            return {}
        with self._lock:
            for run_id in waiter.waiting:
                self._by_run.setdefault(run_id, set()).add(waiter)
            # Set before a new watcher starts (it clears the flag, then reads the runs under this
            # lock), so that it does not take the flag for another waiter and look twice.
            self._new.set()
            self._start()
        try:
            return await asyncio.wait_for(waiter.future, seconds)
        except TimeoutError:
            return None
        finally:
            self._forget(waiter)

    def _forget(self, waiter: Waiter) -> None:
        with self._lock:
            for run_id in list(waiter.waiting) + list(waiter.ended):
                waiters = self._by_run.get(run_id)
                if waiters is not None:
                    waiters.discard(waiter)
                    if not waiters:
                        del self._by_run[run_id]

    def _start(self) -> None:
        # Called with the lock held; the watcher ends (with the lock held) once nobody waits.
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="kindling-run-ends", daemon=True)
            self._thread.start()

    def _watch(self) -> None:
        while True:
            self._new.clear()
            with self._lock:
                run_ids = list(self._by_run)
            if not run_ids:
                # Kept a while for the next waiter: a new LISTEN connection costs milliseconds.
                if self._new.wait(IDLE_SECONDS):
                    continue
                with self._lock:
                    if self._by_run:
                        continue
                    self._thread = None
                self._close()
                return
            try:
                close_old_connections()
                # LISTEN before looking: an end committed between the look and the LISTEN would
                # otherwise wait for the fallback look. What it heard so far, the look answers.
                self._listener.heard(0)
                self._deliver(ended_runs(run_ids))
                self._until_something_changed()
            except Exception:
                log.exception("looking for ended runs failed; trying again")
                self._close()
                time.sleep(FALLBACK_SECONDS)

    def _deliver(self, ended: dict[int, dict]) -> None:
        with self._lock:
            for run_id, end in ended.items():
                for waiter in self._by_run.pop(run_id, ()):
                    waiter.waiting.discard(run_id)
                    waiter.ended[run_id] = end
                    if not waiter.waiting:
                        waiter.loop.call_soon_threadsafe(_resolve, waiter.future, waiter.ended)

    def _until_something_changed(self) -> None:
        """Return when a run may have ended, a new waiter came, or FALLBACK_SECONDS passed."""
        deadline = time.monotonic() + FALLBACK_SECONDS
        connection = connections[router.db_for_read(Run)]
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA data_version")
                version = cursor.fetchone()[0]
                while not self._new.wait(COMMIT_CHECK_SECONDS) and time.monotonic() < deadline:
                    cursor.execute("PRAGMA data_version")
                    if cursor.fetchone()[0] != version:
                        return
            return
        while not self._new.is_set() and time.monotonic() < deadline:
            heard = self._listener.heard(NOTIFY_CHECK_SECONDS)
            if heard is None:  # no listening (the connection broke): the fallback look
                self._new.wait(NOTIFY_CHECK_SECONDS)
                continue
            self._deliver({run_id: end for run_id, end in heard.items() if end is not None})
            with self._lock:
                if not self._by_run:
                    return  # nobody waits any more
                if any(end is None and run_id in self._by_run for run_id, end in heard.items()):
                    return  # an end too large to be told: look it up

    def _close(self) -> None:
        self._listener.close()
        connections.close_all()


def _resolve(future: asyncio.Future, ended: dict) -> None:
    if not future.done():
        future.set_result(dict(ended))


ends = RunEnds()
