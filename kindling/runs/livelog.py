"""Live logs: a run's log lines reach the database while it executes, not only when it ends, so that
the run page and the Job Studio's stream (both read LogLine rows with seq > the last they showed)
follow a run as it goes.

The engine hands every line, already scrubbed of the credential's secrets, to `LiveLog.add` from the
slot's thread; that never waits for the database. One `LogWriter` thread per worker process, with its
own database connection, writes each run's new lines at most every FLUSH_SECONDS, in one short
transaction per run, and never before the run has executed for FLUSH_SECONDS: a trivial run writes
all its lines once, at its end, in finish()'s transaction, as it always did. At the end the slot
takes what was not written yet (`LiveLog.close`) and finish() writes only that.
"""

import logging
import threading
import time

from django.db import close_old_connections, connections

from kindling.runs.models import Run

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.25
# How often the writer looks for a run whose lines are due (a line waits FLUSH_SECONDS plus this, at most).
TICK_SECONDS = 0.05


class LiveLog:
    """The lines of one running run not yet in the database."""

    def __init__(self, run: Run, flush_seconds: float = FLUSH_SECONDS):
        self.run = run
        self.flush_seconds = flush_seconds
        self.written = 0
        self._lines: list = []
        self._last_write = time.monotonic()  # a run's first lines wait FLUSH_SECONDS from its start
        self._closed = False
        self._buffer = threading.Lock()  # held for a list operation only: add() never waits for a write
        # Held while lines are taken and written: a write under way finishes before close() takes
        # the rest, so lines reach the database in order, each once.
        self._writing = threading.Lock()

    def add(self, line) -> None:
        with self._buffer:
            self._lines.append(line)

    def due(self, now: float) -> bool:
        return bool(self._lines) and now - self._last_write >= self.flush_seconds

    def flush(self) -> int:
        """Write the lines added so far (the writer's thread); how many were written."""
        with self._writing:
            if self._closed:
                return 0
            lines = self._take()
            if not lines:
                return 0
            try:
                self.run.append_log(lines)
            except BaseException:
                # Nothing was written (one transaction): the lines go back, first, for the next try.
                with self._buffer:
                    self._lines[:0] = lines
                raise
            self.written += len(lines)
            self._last_write = time.monotonic()
            return len(lines)

    def close(self) -> list:
        """Stop writing and return the lines not written yet, for finish() to write."""
        with self._writing:
            self._closed = True
            return self._take()

    def _take(self) -> list:
        with self._buffer:
            lines, self._lines = self._lines, []
        return lines


class LogWriter:
    """One thread that writes the live logs of every run a worker process executes."""

    def __init__(self, flush_seconds: float = FLUSH_SECONDS):
        self.flush_seconds = flush_seconds
        self._logs: dict[int, LiveLog] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def follow(self, run: Run) -> LiveLog:
        live = LiveLog(run, self.flush_seconds)
        with self._lock:
            self._logs[run.pk] = live
        self._wake.set()
        return live

    def forget(self, run_id: int) -> None:
        with self._lock:
            self._logs.pop(run_id, None)

    def flush_due(self) -> int:
        """Write the lines of every run that is due; how many lines were written."""
        now = time.monotonic()
        with self._lock:
            due = [live for live in self._logs.values() if live.due(now)]
        written = 0
        for live in due:
            try:
                written += live.flush()
            except Exception:
                # The database is away or busy beyond its timeout: the lines are kept for the next
                # try, or for finish() at the run's end.
                log.exception("writing the live log of run %s failed; retrying", live.run.pk)
                close_old_connections()
        return written

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="log-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        try:
            while not self._done.is_set():
                with self._lock:
                    following = bool(self._logs)
                if not following:
                    # Nothing runs: sleep until a run starts, without waking up every tick.
                    self._wake.wait()
                    self._wake.clear()
                    continue
                self.flush_due()
                self._done.wait(TICK_SECONDS)
        finally:
            connections.close_all()
