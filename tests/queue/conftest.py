"""The queue's tests: several threads and processes against one database.

`shared_db` gives a database that other threads and processes see as a deployment does: on PostgreSQL
the test database itself (rows committed, as with `transactional_db`); on SQLite a migrated file with
the settings `kindling serve` uses (WAL, IMMEDIATE transactions, busy timeout). The SQLite test
database of pytest-django lives in memory, where threads meet "table is locked" errors instead of
waiting their turn, and other processes cannot reach it at all.
"""

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections

from kindling.runs import queue
from kindling.runs.models import Run
from tests.conftest import make_job, make_project, make_trigger, make_user, put_on_plan

ROOT = Path(__file__).resolve().parents[2]


def postgres_url(settings_dict) -> str:
    user = settings_dict.get("USER") or ""
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{settings_dict['NAME']}"


@pytest.fixture
def shared_db(transactional_db, tmp_path):
    """The environment for a `kindling` subprocess that uses the same database as this test."""
    data = tmp_path / "data"
    data.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("KINDLING_", "DJANGO_"))},
        "KINDLING_DATA_DIR": str(data),
        "KINDLING_ADAPTOR_DIR": str(settings.ADAPTOR_REPO_DIR),
        "KINDLING_RUN_TIMEOUT": str(settings.RUN_TIMEOUT_SECONDS),
    }
    if allowed := os.environ.get("KINDLING_JOB_ALLOW_HOSTS"):  # local systems the test's jobs call
        env["KINDLING_JOB_ALLOW_HOSTS"] = allowed
    env.pop("DATABASE_URL", None)
    if connection.vendor == "postgresql":
        env["DATABASE_URL"] = postgres_url(connection.settings_dict)
        yield env
        return

    in_memory, in_memory_settings = connections["default"], connections.settings["default"]
    # A new settings dict: the in-memory connection keeps its own, and threads started from now on
    # open the file (Django creates a connection per thread from these settings).
    connections.settings["default"] = {**in_memory_settings, "NAME": str(data / "kindling.sqlite3")}
    connections["default"] = connections.create_connection("default")
    try:
        call_command("migrate", verbosity=0)
        yield env
    finally:
        connections["default"].close()
        connections.settings["default"] = in_memory_settings
        connections["default"] = in_memory


def kindling(env, *args, output=subprocess.PIPE) -> subprocess.Popen:
    """Start `kindling *args`; its stdout and stderr go to `output` (a pipe, or a file for long runs)."""
    return subprocess.Popen(
        [sys.executable, "-m", "kindling.cli", *args],
        env=env,
        cwd=ROOT,
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
    )


def in_threads(count: int, target) -> list:
    """Call `target()` in `count` threads released at the same moment; returns results (or exceptions)."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def call(i):
        try:
            barrier.wait()
            results[i] = target()
        except Exception as exc:  # reported to the test, which asserts there are none
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=call, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def queued(job, count: int, **state) -> list[Run]:
    return [queue.enqueue(job, Run.Cause.MANUAL, {"n": i, **state}) for i in range(count)]


@pytest.fixture
def owner(db):
    return make_user("owner@example.com")


@pytest.fixture
def project_with(owner):
    """project_with(concurrency, name) -> a project with one switched-on job, `job-1`.

    A test that needs `shared_db` names it first, so the rows land in the shared database.
    """

    def build(concurrency: int = 1, name: str = "Project"):
        project = put_on_plan(make_project(owner, name, concurrency=concurrency))
        make_job(project, "job-1", make_trigger(project, criteria={}))
        return project

    return build
