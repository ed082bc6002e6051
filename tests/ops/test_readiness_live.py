"""Readiness with real processes: a `kindling worker --scheduler` makes the instance ready within a
beat of its start, and a worker that stops takes its heartbeat with it at once."""

import signal
import time

from kindling.ops import health
from tests.queue.conftest import kindling, shared_db  # noqa: F401 (a fixture)


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_live_worker_makes_the_instance_ready_and_a_stopped_one_makes_it_not_ready(shared_db):  # noqa: F811
    worker = kindling(shared_db, "worker", "--slots", "1", "--scheduler")
    try:
        wait_for(lambda: health.readiness()[0])
        ready, checks = health.readiness()
        assert checks["worker"] == {"ok": True, "alive": 1} and checks["scheduler"]["ok"]
        worker.send_signal(signal.SIGTERM)
        worker.wait(60)
    finally:
        if worker.poll() is None:
            worker.kill()
    ready, checks = health.readiness()
    assert not ready
    assert checks["worker"] == {"ok": False, "alive": 0, "detail": "no worker seen in the last 60 seconds"}
    assert worker.returncode == 0, worker.stdout.read()
