from pathlib import Path

import pytest

from kindling.projects.portability import import_project
from kindling.runs.worker import process_one

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "example-project.yaml"


def drain(limit: int = 50) -> list:
    """Execute queued runs (and the flow/catch runs they start) until the queue is empty."""
    done = []
    while len(done) < limit and (run := process_one("test-worker")) is not None:
        done.append(run)
    return done


@pytest.fixture
def example(alice):
    return import_project(EXAMPLE.read_text(), "Example", alice)
