"""SQLite: the commit counter an idle worker slot watches for new work (runs/worker.py)."""

import threading

from django.db import connections, router

from kindling.runs.models import Run


class CommitWatch:
    """SQLite: whether another connection committed since the looking slot last looked at the queue,
    leaving out this worker's own ends of runs that claimed their project's next run.

    A slot that ends a run commits, and the looking slot, watching `PRAGMA data_version`, would look
    at the whole queue after every run, and find nothing (that slot claimed the project's next run
    itself). So the ending slot reads the version in its transaction, where no other writer can
    commit (IMMEDIATE), and again after its COMMIT: when the looking slot had seen everything before
    and the version moved by one, that one is its own commit and it is marked seen. A commit of
    another process that lands in the microseconds between that COMMIT and that read is seen at the
    next poll (KINDLING_WORKER_POLL / slots) rather than at once.

    Versions are counted by one connection of its own (each connection counts its own), used by every
    slot under a lock; None on PostgreSQL, where idle slots wait for a NOTIFY instead.
    """

    def __init__(self):
        self._connection = None
        self._lock = threading.Lock()
        self._seen: int | None = None
        self.reads = 0  # PRAGMA data_version reads (in this process: no round trip), for the bench

    def version(self) -> int | None:
        django_connection = connections[router.db_for_read(Run)]
        if django_connection.vendor != "sqlite":
            return None
        with self._lock:
            if self._connection is None:
                self._connection = django_connection.get_new_connection(
                    django_connection.get_connection_params()
                )
            self.reads += 1
            return self._connection.execute("PRAGMA data_version").fetchone()[0]

    def look(self) -> int | None:
        """The looking slot is about to look at the queue: what was committed until now is seen."""
        version = self.version()
        with self._lock:
            self._seen = version
        return version

    def changed(self) -> bool:
        version = self.version()
        with self._lock:
            return version != self._seen

    def committed(self, before: int) -> None:
        """A slot committed the end of a run (and its project's next claim); `before`: the version
        read in that transaction."""
        after = self.version()
        with self._lock:
            if self._seen == before and after == before + 1:
                self._seen = after

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
