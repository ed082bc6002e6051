"""Metrics across processes on one machine (prometheus_client's multiprocess mode, as `kindling serve`
sets it up): what a worker process counted shows in another process's /metrics, after it exited."""

from tests.ops.conftest import kindling, python
from tests.ops.test_backup import ARRANGE
from tests.ops.test_logs import QUEUE_ONE

SCRAPE = """
import django; django.setup()
from django.test import Client
print(Client().get("/metrics").content.decode())
"""


def sample(text: str, line_start: str) -> float:
    [line] = [line for line in text.splitlines() if line.startswith(line_start + " ")]
    return float(line.rsplit(" ", 1)[1])


def test_what_a_worker_process_counted_shows_in_the_portals_metrics(tmp_path):
    data, shared = tmp_path / "data", tmp_path / "metrics"
    data.mkdir()
    shared.mkdir()
    kindling(data, "migrate", "--no-input")
    python(data, ARRANGE)
    python(data, QUEUE_ONE)
    env = {"PROMETHEUS_MULTIPROC_DIR": str(shared)}

    kindling(data, "worker", "--once", "--slots", "1", env=env)
    text = python(data, SCRAPE, env=env)

    assert sample(text, 'kindling_runs_finished_total{exit_code="0",status="success"}') == 1
    assert sample(text, "kindling_run_duration_seconds_count") == 1
    # The worker has exited: its warm Node processes are no longer counted.
    assert sample(text, "kindling_node_memory_bytes") == 0
