"""Scale-out (issue 4): 4 `kindling worker` processes against one PostgreSQL, 3 projects with
concurrency 1, 2 and 5, 600 queued runs; one worker is killed with SIGKILL half-way.

Every run must end executed exactly once, or lost (the killed worker's); no project may ever have
more runs running than its concurrency (sampled from the database while the workers run); the runs
of the concurrency-1 project must start in creation order.
"""

import os
import signal
import subprocess
import time
from collections import Counter, defaultdict

import pytest
from django.db import connection
from django.db.models import Count

from kindling.runs import queue
from kindling.runs.models import LOST_NOTE, LogLine, Run
from tests.conftest import make_job, make_project, make_trigger, make_user, put_on_plan
from tests.queue.conftest import kindling

RUNS = 600
CONCURRENCY = (1, 2, 5)
WORKERS = 4
SLOTS = 3  # 12 slots for 8 concurrent runs at most: some slots always find nothing to claim
LEASE = 3  # seconds: the killed worker's runs are lost soon after
TIMEOUT = 900  # the whole test, generous for a busy 2-core machine; the duration is not asserted
# A warm run takes a few milliseconds: without the wait, the runs a worker held when it was chosen
# could all have ended before the SIGKILL reached it, and none would be lost.
EXPRESSION = (
    "fn(state => { console.log('executed', state.n);"
    " return new Promise(resolve => setTimeout(() => resolve(state), 200)); });"
)


@pytest.fixture
def projects(shared_db):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: several worker processes against one server")
    owner = make_user("owner@example.com")
    jobs = []
    for concurrency in CONCURRENCY:
        project = put_on_plan(make_project(owner, f"Concurrency {concurrency}", concurrency=concurrency))
        trigger = make_trigger(project, criteria={"never": True})
        jobs.append(make_job(project, "trivial", trigger, expression=EXPRESSION))
    # interleaved, so that creation order mixes the projects as a busy inbox would
    for n in range(RUNS):
        queue.enqueue(jobs[n % len(jobs)], Run.Cause.MANUAL, {"n": n})
    return {job.project_id: job.project.concurrency for job in jobs}


def running_per_project() -> dict[int, int]:
    rows = Run.objects.filter(status="running").values("project_id").annotate(n=Count("id"))
    return {row["project_id"]: row["n"] for row in rows}


def pid_of(worker_name: str) -> int:
    return int(worker_name.rsplit(":", 1)[1])


def test_four_workers_share_the_queue_and_a_killed_workers_runs_are_lost(shared_db, projects, tmp_path):
    env = {
        **shared_db,
        "KINDLING_RUN_LEASE": str(LEASE),
        "KINDLING_WORKER_POLL": "0.05",
        "KINDLING_POOL_SIZE": str(SLOTS),
    }
    logs, workers = {}, {}
    for i in range(WORKERS):
        logs[i] = open(tmp_path / f"worker-{i}.log", "w")  # noqa: SIM115 - closed below
        process = kindling(env, "worker", "--slots", str(SLOTS), output=logs[i])
        workers[process.pid] = process
    janitor = kindling(env, "janitor", output=subprocess.DEVNULL)
    most = Counter()
    samples = 0
    killed = None
    deadline = time.monotonic() + TIMEOUT
    try:
        while time.monotonic() < deadline:
            for project_id, running in running_per_project().items():
                most[project_id] = max(most[project_id], running)
            samples += 1
            done = Run.objects.filter(status__in=Run.FINISHED).count()
            if killed is None and done >= RUNS // 3:
                # the worker holding the most runs right now, so that some of them are lost
                holders = Counter(Run.objects.filter(status="running").values_list("worker", flat=True))
                if holders:
                    killed = holders.most_common(1)[0][0]
                    os.kill(pid_of(killed), signal.SIGKILL)
            if done == RUNS:
                break
            time.sleep(0.1)
    finally:
        for process in [*workers.values(), janitor]:
            if process.poll() is None:
                process.terminate()
        for process in [*workers.values(), janitor]:
            process.wait(timeout=120)
        for log in logs.values():
            log.close()
    outputs = {pid: (tmp_path / f"worker-{i}.log").read_text() for i, pid in enumerate(workers)}

    statuses = Counter(Run.objects.values_list("status", flat=True))
    assert killed is not None and statuses["success"] + statuses["lost"] == RUNS, statuses

    # the survivors stopped cleanly on SIGTERM; the killed one died of SIGKILL
    for pid, process in workers.items():
        expected = -signal.SIGKILL if pid == pid_of(killed) else 0
        assert process.returncode == expected, outputs[pid][-2000:]

    # executed exactly once: one "executed n" line per successful run, none for a lost run
    executed = defaultdict(list)
    for run_id, message in LogLine.objects.filter(source="JOB").values_list("run_id", "message"):
        executed[run_id].append(message)
    for run in Run.objects.all():
        if run.status == "success":
            assert executed[run.pk] == [f"executed {run.initial_state['n']}"], run.pk
            assert run.final_state["n"] == run.initial_state["n"]
        else:
            assert run.worker == killed and run.exit_code == 4, run.pk
            # The lines its worker stored while the run executed (live logs: a cold start outlasts
            # the 250 ms before the first write), then the janitor's note, each once, in order.
            lines = list(run.log_lines.order_by("seq").values_list("seq", "message"))
            assert [seq for seq, _ in lines] == list(range(len(lines))), run.pk
            assert [message for _, message in lines].count(LOST_NOTE) == 1
            assert lines[-1][1] == LOST_NOTE, run.pk
            assert len(executed[run.pk]) <= 1
    assert 1 <= statuses["lost"] <= SLOTS

    # every worker took part; never more running than the concurrency in any sample
    assert len(set(Run.objects.values_list("worker", flat=True))) == WORKERS
    assert samples > 10
    for project_id, concurrency in projects.items():
        assert most[project_id] <= concurrency, (most, projects)
    assert max(most.values()) > 1  # runs of the concurrency-5 project did run side by side

    # concurrency 1: one at a time, in creation order
    serial = Run.objects.filter(project_id=next(p for p, c in projects.items() if c == 1))
    by_start = list(serial.order_by("started_at", "id").values_list("id", flat=True))
    assert by_start == sorted(by_start)
    spans = list(serial.order_by("id").values_list("started_at", "finished_at"))
    assert all(end <= next_start for (_, end), (next_start, _) in zip(spans, spans[1:], strict=False))
    assert "Traceback" not in "".join(outputs.values())
