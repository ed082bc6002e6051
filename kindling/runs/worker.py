"""The worker: claim a run, execute it on the engine, finish it. `process_one` is the whole loop body."""

import logging
import os
import socket
from datetime import UTC, datetime

from django.conf import settings

from kindling import engine
from kindling.runs import queue
from kindling.runs.models import Run

log = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_spec(run: Run) -> engine.RunSpec:
    job = run.job
    # v1: `configuration` is always the receiving job's own credential, injected only for this run.
    configuration = job.credential.body if job.credential_id else None
    return engine.RunSpec(
        run_id=f"run-{run.pk}",
        expression=job.expression,
        adaptor=job.adaptor_spec,
        state={**run.initial_state, "configuration": configuration},
        timeout=float(settings.RUN_TIMEOUT_SECONDS),
        memory_mb=settings.RUN_MEMORY_MB,
        console_disabled=job.console_disabled,
    )


def execute(run: Run) -> list[Run]:
    try:
        result = engine.execute(run_spec(run), repo_dir=settings.ADAPTOR_REPO_DIR)
    except Exception as exc:  # the engine reports job failures itself; this is a bug of ours
        log.exception("engine failed on run %s", run.pk)
        line = engine.LogLine(
            time=datetime.now(UTC),
            source="RTE",
            level="error",
            message=f"Internal error of the execution engine: {type(exc).__name__}",
        )
        return queue.finish(run, 10, None, [line])
    return queue.finish(run, result.exit_code, result.final_state, result.log, result.adaptor_version or "")


def process_one(worker: str | None = None) -> Run | None:
    """Claim and execute one run; returns it, or None when nothing could be claimed."""
    lease = settings.RUN_TIMEOUT_SECONDS + 60
    run = queue.claim(worker or worker_name(), lease_seconds=lease)
    if run is None:
        return None
    execute(run)
    run.refresh_from_db()
    return run
