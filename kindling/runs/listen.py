"""PostgreSQL LISTEN on a connection of its own, for the threads that wait for something to happen
in the database: the worker's idle slot (new runs) and the web process's reply watcher (runs' ends)."""

import logging
import time

from django.db import connections, router

from kindling.runs.models import Run

log = logging.getLogger(__name__)


class Listener:
    """LISTENs on `channel` (PostgreSQL only). After a broken connection the caller looks by itself
    for RETRY_SECONDS, then a new connection is tried."""

    RETRY_SECONDS = 10.0

    def __init__(self, channel: str, what: str):
        self.channel, self.what = channel, what  # what: what is heard there, for the log
        self._connection = None
        self._failed_at = -self.RETRY_SECONDS

    def payloads(self, seconds: float) -> list[str] | None:
        """The notifications' payloads heard within `seconds`, returning as soon as one is (with those
        sent with it); empty when none was; None when there is no listening here (not PostgreSQL, or
        the connection broke)."""
        connection = self._connect()
        if connection is None:
            return None
        heard = []
        try:
            for notify in connection.notifies(timeout=seconds, stop_after=1):
                heard.append(notify.payload)
            if heard:
                for notify in connection.notifies(timeout=0):  # sent together, or while nobody listened
                    heard.append(notify.payload)
        except Exception:
            log.warning(
                "the connection listening for %s broke; looking without it until it is back",
                self.what,
                exc_info=True,
            )
            self.close()
            self._failed_at = time.monotonic()
            return None
        return heard

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:
                pass
            self._connection = None

    def _connect(self):
        if self._connection is not None:
            return self._connection
        django_connection = connections[router.db_for_read(Run)]
        if django_connection.vendor != "postgresql":
            return None
        if time.monotonic() - self._failed_at < self.RETRY_SECONDS:
            return None
        try:
            connection = django_connection.get_new_connection(django_connection.get_connection_params())
            connection.autocommit = True
            connection.execute(f"LISTEN {self.channel}")
        except Exception:
            log.warning("cannot LISTEN for %s; looking without it", self.what, exc_info=True)
            self._failed_at = time.monotonic()
            return None
        self._connection = connection
        return connection
