"""Django's SQLite backend, with writers that take turns.

SQLite lets one transaction write at a time; a writer that finds the database locked sleeps and
tries again (1, 2, 5, 10, 15, 20, 25... ms: SQLite's busy handler). A writer that commits back to
back, as the inbox does under load, takes the lock again within microseconds of releasing it, so a
sleeping writer almost never finds it free: while messages arrive, the worker's claims and finishes
starved (14 runs/s instead of 50).

Here every write transaction (BEGIN IMMEDIATE, which Kindling's settings use for all of them) first
takes an exclusive lock on a file next to the database (flock), and releases it when it commits or
rolls back. A writer that waits for that lock sleeps in the kernel and is woken as soon as it is
released, while the writer that released it is still busy with what comes after its commit: writers
of every process take turns instead of the fastest one keeping the database. Writes made outside a
transaction (autocommit) and other programs still meet SQLite's own lock as before.
"""

import fcntl
import os

from django.db.backends.sqlite3 import base


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._turn_file: int | None = None
        self._has_turn = False

    def _start_transaction_under_autocommit(self):
        self._take_turn()
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._give_turn()
            raise

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self._give_turn()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._give_turn()

    def _close(self):
        try:
            return super()._close()
        finally:
            self._give_turn()
            if self._turn_file is not None:
                os.close(self._turn_file)
                self._turn_file = None

    def _take_turn(self) -> None:
        if self._has_turn or self.is_in_memory_db():
            return
        if self._turn_file is None:
            self._turn_file = os.open(f"{self.settings_dict['NAME']}-writer", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._turn_file, fcntl.LOCK_EX)  # waits in the kernel, without the GIL
        self._has_turn = True

    def _give_turn(self) -> None:
        if self._has_turn:
            self._has_turn = False
            fcntl.flock(self._turn_file, fcntl.LOCK_UN)
