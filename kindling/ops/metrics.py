"""Prometheus metrics: counters and histograms kept by the process where things happen, gauges of
the queue read from the database when /metrics is scraped.

Several processes (docs/deploy.md, "Metrics"):
- Counters and histograms (messages, runs created and ended, durations, emails) are counted by the
  process that did the thing, with prometheus_client. On one machine the processes share them through
  prometheus_client's multiprocess mode: `kindling serve` sets PROMETHEUS_MULTIPROC_DIR for its
  children, so the portal's /metrics sums the web process and its workers. A `kindling worker` on
  another machine serves its own on KINDLING_METRICS_PORT; Prometheus scrapes every target and
  `sum()` adds them up. Nothing is counted twice: each event is counted once, by one process.
- Queue depth, the oldest pending run's age, running runs and the live workers are read from the
  database at scrape time (the database is the queue): right whichever process answers, and the
  same from every web process (use `max()` across them, not `sum()`).
- Warm Node processes and their memory belong to each worker process (gauges it refreshes with its
  heartbeat, summed over the live processes of a machine).
"""

import os
import time

from django.db import transaction
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST

INBOX_MESSAGES = Counter(
    "kindling_inbox_messages",
    "Requests to project inboxes by the status answered (202 accepted; 4xx/5xx refused).",
    ["status"],
)
INBOX_LATENCY = Histogram(
    "kindling_inbox_latency_seconds",
    "Time to answer a request to an inbox (storing the message and creating its runs).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
RUNS_CREATED = Counter(
    "kindling_runs_created",
    "Runs created, by cause and status (pending, or rejected over the plan).",
    ["cause", "status"],
)
RUNS_FINISHED = Counter(
    "kindling_runs_finished", "Runs ended, by status and exit code.", ["status", "exit_code"]
)
RUNS_LOST = Counter("kindling_runs_lost", "Runs declared lost: their worker stopped renewing the lease.")
RUN_DURATION = Histogram(
    "kindling_run_duration_seconds",
    "Time from a run's start to its end.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)
RUN_WAIT = Histogram(
    "kindling_run_wait_seconds",
    "Time a run waited in the queue, from its creation to its start.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)
EMAILS = Counter("kindling_emails", "Emails handed to the mail server, by result (sent, failed).", ["result"])
NODE_PROCESSES = Gauge(
    "kindling_node_processes",
    "Warm Node.js processes of the workers, by state (busy, idle, standby).",
    ["state"],
    multiprocess_mode="livesum",
)
NODE_MEMORY = Gauge(
    "kindling_node_memory_bytes",
    "Resident memory of the workers' warm Node.js processes (their sandbox included).",
    multiprocess_mode="livesum",
)
for state in ("busy", "idle", "standby"):
    NODE_PROCESSES.labels(state)
for result in ("sent", "failed"):
    EMAILS.labels(result)


def multiprocess_dir() -> str:
    return os.environ.get(MULTIPROCESS_ENV, "")


def after_commit(function) -> None:
    # Counted once the rows exist: a rolled-back transaction counts nothing.
    transaction.on_commit(function)


def inbox_answered(status: int, started: float) -> None:
    INBOX_MESSAGES.labels(str(status)).inc()
    INBOX_LATENCY.observe(time.perf_counter() - started)


def runs_created(runs) -> None:
    counts: dict[tuple[str, str], int] = {}
    for run in runs:
        key = (run.cause, run.status)
        counts[key] = counts.get(key, 0) + 1

    def count():
        for (cause, status), n in counts.items():
            RUNS_CREATED.labels(cause, status).inc(n)

    after_commit(count)


def run_ended(run) -> None:
    status, exit_code = run.status, "" if run.exit_code is None else str(run.exit_code)
    started, finished, created = run.started_at, run.finished_at, run.created_at

    def count():
        RUNS_FINISHED.labels(status, exit_code).inc()
        if status == "lost":
            RUNS_LOST.inc()
        if started and finished:
            RUN_DURATION.observe(max(0.0, (finished - started).total_seconds()))
        if started and created:
            RUN_WAIT.observe(max(0.0, (started - created).total_seconds()))

    after_commit(count)


def emails_sent(sent: int, failed: int) -> None:
    if sent:
        EMAILS.labels("sent").inc(sent)
    if failed:
        EMAILS.labels("failed").inc(failed)


def observe_pool() -> None:
    """A worker's warm Node processes and their memory, refreshed with its heartbeat."""
    from kindling.engine import pool as engine_pool

    pool = engine_pool._shared
    if pool is None:
        for state in ("busy", "idle", "standby"):
            NODE_PROCESSES.labels(state).set(0)
        NODE_MEMORY.set(0)
        return
    stats = pool.stats()
    NODE_PROCESSES.labels("busy").set(sum(s["busy"] for s in stats.values()))
    NODE_PROCESSES.labels("idle").set(sum(s["idle"] for s in stats.values()))
    NODE_PROCESSES.labels("standby").set(len(pool.standby_pids()))
    NODE_MEMORY.set(sum(sum(pool.rss_mb(key)) for key in stats) * 2**20)


class QueueCollector:
    """Read at scrape time from the database, so right whichever process answers."""

    def collect(self):
        from kindling.ops.health import alive
        from kindling.runs.models import Run

        now = timezone.now()
        depth = GaugeMetricFamily("kindling_queue_depth", "Pending runs per project.", labels=["project"])
        oldest = GaugeMetricFamily(
            "kindling_queue_oldest_age_seconds",
            "Age of each project's oldest pending run.",
            labels=["project"],
        )
        running = GaugeMetricFamily("kindling_runs_running", "Running runs per project.", labels=["project"])
        rows = (
            Run.objects.filter(status__in=(Run.Status.PENDING, Run.Status.RUNNING))
            .values("project__slug", "status")
            .annotate(n=Count("id"), first=Min("created_at"))
        )
        for row in rows:
            if row["status"] == Run.Status.PENDING:
                depth.add_metric([row["project__slug"]], row["n"])
                oldest.add_metric([row["project__slug"]], max(0.0, (now - row["first"]).total_seconds()))
            else:
                running.add_metric([row["project__slug"]], row["n"])
        yield depth
        yield oldest
        yield running
        for role in ("worker", "scheduler"):
            yield GaugeMetricFamily(
                f"kindling_{role}s_alive",
                f"{role.capitalize()} processes seen in the last minute.",
                value=alive(role, now),
            )


def exposition() -> bytes:
    """This process's (or, in multiprocess mode, this machine's) metrics, then the queue's."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        counted = generate_latest(registry)
    else:
        counted = generate_latest(REGISTRY)
    queue = CollectorRegistry(auto_describe=False)
    queue.register(QueueCollector())
    return counted + generate_latest(queue)


def serve_worker_metrics(port: int, address: str) -> None:
    """A worker's own metrics endpoint (another machine than the portal's): counters and pool gauges
    of this process only; the queue's gauges come from the portal's /metrics."""
    from prometheus_client import start_http_server

    start_http_server(port, addr=address, registry=REGISTRY)


def process_exited(pid: int) -> None:
    """Multiprocess mode: a stopping process's live gauges stop counting."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(pid)
