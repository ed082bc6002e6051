"""Liveness and readiness (GET /healthz, GET /readyz) and the heartbeats that readiness reads.

Workers and schedulers may run on other machines than the web process that answers /readyz, so each
writes its own row (Heartbeat) every BEAT_SECONDS; a process that stops cleanly removes its row, one
that dies simply stops writing and is counted out ALIVE_SECONDS later.
"""

import logging
import threading
import time
from datetime import timedelta

from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from kindling.ops.models import Heartbeat

log = logging.getLogger(__name__)

BEAT_SECONDS = 15
ALIVE_SECONDS = 60
# Rows of processes gone for this long are removed (every restart of a worker adds a row: host:pid).
FORGET_AFTER = timedelta(days=1)


def beat(role: str, name: str) -> None:
    Heartbeat.objects.update_or_create(role=role, name=name, defaults={"seen_at": timezone.now()})


def forget(role: str, name: str) -> None:
    Heartbeat.objects.filter(role=role, name=name).delete()


def forget_the_gone(now=None) -> int:
    return Heartbeat.objects.filter(seen_at__lt=(now or timezone.now()) - FORGET_AFTER).delete()[0]


def alive(role: str, now=None) -> int:
    """How many processes of `role` were seen in the last ALIVE_SECONDS."""
    since = (now or timezone.now()) - timedelta(seconds=ALIVE_SECONDS)
    return Heartbeat.objects.filter(role=role, seen_at__gte=since).count()


class Beating:
    """A thread that beats for one process every `every` seconds until stop(); `on_beat` runs with
    each beat (the worker refreshes its pool's gauges there). A failed beat (the database restarting)
    is logged and tried again at the next."""

    def __init__(self, role: str, name: str, every: float = BEAT_SECONDS, on_beat=None):
        self.role, self.name, self.every, self.on_beat = role, name, every, on_beat
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"{role}-heartbeat", daemon=True)

    def start(self) -> "Beating":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._done.set()
        self._thread.join(timeout=10)
        try:
            forget(self.role, self.name)
        except DatabaseError:
            log.warning("could not remove the heartbeat of %s %s", self.role, self.name)
        finally:
            connection.close()

    def _loop(self) -> None:
        try:
            while True:
                try:
                    beat(self.role, self.name)
                    if self.on_beat is not None:
                        self.on_beat()
                except Exception:
                    log.warning("heartbeat of %s %s failed", self.role, self.name, exc_info=True)
                    connection.close()
                if self._done.wait(self.every):
                    return
        finally:
            connection.close()


class Throttled:
    """For a loop that already runs often (the scheduler's pass, every second): beat at most every
    BEAT_SECONDS."""

    def __init__(self, role: str, name: str, every: float = BEAT_SECONDS):
        self.role, self.name, self.every = role, name, every
        self._last = 0.0

    def __call__(self) -> None:
        if time.monotonic() - self._last < self.every:
            return
        beat(self.role, self.name)
        forget_the_gone()
        self._last = time.monotonic()


_migrated = False


def migrations_applied() -> bool:
    # Once applied they stay applied for the life of this process: the graph is read once.
    global _migrated
    if not _migrated:
        executor = MigrationExecutor(connection)
        _migrated = not executor.migration_plan(executor.loader.graph.leaf_nodes())
    return _migrated


def readiness() -> tuple[bool, dict]:
    """(ready, checks): each check says ok and, when not, why, in words an operator can act on."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = {"ok": True}
    except DatabaseError as exc:
        checks["database"] = {"ok": False, "detail": f"the database does not answer: {type(exc).__name__}"}
        for name in ("migrations", "worker", "scheduler"):
            checks[name] = {"ok": False, "detail": "not checked: the database does not answer"}
        return False, checks
    if migrations_applied():
        checks["migrations"] = {"ok": True}
    else:
        checks["migrations"] = {"ok": False, "detail": "migrations are waiting: run `kindling migrate`"}
    for role in (Heartbeat.Role.WORKER, Heartbeat.Role.SCHEDULER):
        count = alive(role)
        if count:
            checks[role] = {"ok": True, "alive": count}
        else:
            checks[role] = {
                "ok": False,
                "alive": 0,
                "detail": f"no {role} seen in the last {ALIVE_SECONDS} seconds",
            }
    return all(check["ok"] for check in checks.values()), checks
