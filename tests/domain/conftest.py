"""Helpers for the domain tests: log lines shaped like the engine's, and a way to start runs."""

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from django.db import connection

from kindling.runs import queue
from kindling.runs.models import Run


@dataclass
class Line:
    """What finish() needs of a log line (the engine's LogLine has the same attributes)."""

    message: str
    source: str = "JOB"
    level: str = "info"
    time: datetime = field(default_factory=lambda: datetime.now(UTC))


def claim_next() -> Run | None:
    return queue.claim("test-worker", lease_seconds=60)


def start(job, state=None, cause=Run.Cause.MANUAL) -> Run:
    """Queue a run of `job` and claim it: the run is `running`, ready to be finished."""
    run = queue.enqueue(job, cause, state or {})
    claimed = claim_next()
    assert claimed is not None and claimed.pk == run.pk, "another run was claimed first"
    return claimed


@pytest.fixture
def on_postgresql(db):
    if connection.vendor != "postgresql":
        pytest.skip("compares with PostgreSQL itself")
