"""The worker: claim a run, execute it on the engine, finish it. `process_one` is the whole loop body."""

import logging
import os
import socket
from datetime import UTC, datetime

from django.conf import settings

from kindling import engine
from kindling.runs import queue
from kindling.runs.models import Run
from kindling.runs.spec import CannotStart, spec_for

log = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def engine_note(message: str, level: str = "error") -> engine.LogLine:
    return engine.LogLine(time=datetime.now(UTC), source="RTE", level=level, message=message)


def execute(run: Run) -> list[Run]:
    try:
        spec = spec_for(run)
    except CannotStart as exc:
        return queue.finish(run, 3, None, [engine_note(str(exc))])
    try:
        result = engine.execute(spec, repo_dir=settings.ADAPTOR_REPO_DIR)
    except Exception as exc:  # the engine reports job failures itself; this is a bug of ours
        log.exception("engine failed on run %s", run.pk)
        return queue.finish(run, 10, None, [engine_note(f"Internal error of the execution engine: {exc}")])
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
