"""Standby processes: started ahead, bound to no project, handed to the first run of a project (or the
first after a recycle), and never a process that has run anybody's job."""

import time

import pytest

from kindling import engine
from kindling.engine import ExitCode
from tests.engine.conftest import COMMON, HTTP, process_note

PID = "fn(state => ({ data: { pid: fn.constructor('return process')().pid } }));"


@pytest.fixture
def standby_pool():
    warm = engine.Pool(size=1, max_runs=2, max_heap_mb=256, idle_seconds=300, max_processes=4, standby=1)
    yield warm
    warm.close()


def wait_for_standby(pool, count=1, timeout=60.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = pool.standby_pids()
        if len(pids) >= count:
            return pids
        time.sleep(0.05)
    raise AssertionError(f"no {count} standby process(es) after {timeout} s: {pool.standby_pids()}")


def node_pid(result) -> int:
    assert result.exit_code == ExitCode.SUCCESS, [line.message for line in result.log]
    return result.final_state["data"]["pid"]


def test_a_project_first_run_takes_the_standby_process_and_a_new_one_is_started(standby_pool, run_warm):
    assert standby_pool.standby_pids() == []  # nothing is started before the pool knows what to start
    first = run_warm(standby_pool, PID, key="project-1")
    node_pid(first)
    [spare] = wait_for_standby(standby_pool)

    # Another project's first run gets that very process: Node, the runtime and the compiler already
    # loaded. Under bubblewrap the job sees its own pid namespace, so compare through the pool.
    second = run_warm(standby_pool, PID, key="project-2")
    node_pid(second)
    # It imported the adaptor of the latest request ahead (a compile request: no job code ran).
    assert process_note(second) == f"a new warm Node.js process, started ahead with {COMMON} imported"
    assert standby_pool.node_pids("project-2") == [spare]
    assert spare not in standby_pool.standby_pids()
    # ... and the pool starts the next spare.
    [replacement] = wait_for_standby(standby_pool)
    assert replacement not in (spare, *standby_pool.node_pids("project-1"))


def test_a_standby_process_never_ran_a_job_and_is_not_shared(standby_pool, run_warm):
    run_warm(standby_pool, PID, key="project-1")
    [spare] = wait_for_standby(standby_pool)
    # Runs of project-1 keep their own warm process: the spare stays a spare.
    run_warm(standby_pool, PID, key="project-1")
    assert standby_pool.standby_pids() == [spare]
    assert spare not in standby_pool.node_pids("project-1")


def test_a_recycled_process_is_replaced_by_the_standby(standby_pool, run_warm):
    # max_runs=2: the process of project-1 is retired after its second run.
    run_warm(standby_pool, PID, key="project-1")
    run_warm(standby_pool, PID, key="project-1")
    assert standby_pool.node_pids("project-1") == []
    [spare] = wait_for_standby(standby_pool)
    third = run_warm(standby_pool, PID, key="project-1")
    node_pid(third)
    assert standby_pool.node_pids("project-1") == [spare]


def test_a_one_shot_run_beyond_the_pool_size_also_takes_the_standby(standby_pool, run_warm, adaptor_repo):
    run_warm(standby_pool, PID, key="project-1")
    [spare] = wait_for_standby(standby_pool)
    # size=1 and project-1's process is busy: the run gets a process of its own, the spare.
    lease = standby_pool.acquire("project-1", 512, adaptor_repo)
    try:
        overflow = standby_pool.acquire("project-1", 512, adaptor_repo)
        assert not overflow.warm
        assert spare in overflow.runner.node_pids()
        standby_pool.release(overflow, reusable=True, heap_mb=10)
    finally:
        standby_pool.release(lease, reusable=True, heap_mb=10)


def test_standby_processes_count_towards_the_process_cap(adaptor_repo, run_warm):
    capped = engine.Pool(size=1, max_runs=200, max_heap_mb=256, idle_seconds=300, max_processes=1, standby=1)
    try:
        run_warm(capped, PID, key="project-1")
        time.sleep(1.0)  # a refill, were it (wrongly) started, would have had time to show up
        assert capped.standby_pids() == []
    finally:
        capped.close()


def test_closing_the_pool_stops_the_standby_processes(standby_pool, run_warm):
    run_warm(standby_pool, PID, key="project-1")
    [spare] = wait_for_standby(standby_pool)
    standby_pool.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(spare):
        time.sleep(0.05)
    assert not _alive(spare)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_standby_process_imports_the_adaptor_of_the_latest_request(standby_pool, run_warm):
    run_warm(standby_pool, PID, key="project-1", adaptor=HTTP)
    wait_for_standby(standby_pool)
    http_first = run_warm(standby_pool, PID, key="project-2", adaptor=HTTP)
    node_pid(http_first)
    assert process_note(http_first) == f"a new warm Node.js process, started ahead with {HTTP} imported"

    # The spare started after that request imported language-http too; a run of another adaptor
    # takes it all the same (and imports its own), and the next spare imports that one.
    wait_for_standby(standby_pool)
    common_first = run_warm(standby_pool, PID, key="project-3", adaptor=COMMON)
    node_pid(common_first)
    assert process_note(common_first) == f"a new warm Node.js process, started ahead with {HTTP} imported"
    assert "Resolved adaptor @openfn/language-common to version 3.3.4" in "\n".join(
        line.message for line in common_first.log
    )
    wait_for_standby(standby_pool)
    last = run_warm(standby_pool, PID, key="project-4", adaptor=COMMON)
    assert process_note(last) == f"a new warm Node.js process, started ahead with {COMMON} imported"


def test_a_standby_process_that_cannot_import_the_adaptor_is_not_kept(adaptor_repo, caplog):
    pool = engine.Pool(size=1, max_runs=200, max_heap_mb=256, idle_seconds=300, max_processes=4, standby=1)
    try:
        # The request names a version the repository does not hold (a run would install it first).
        pool.release(
            pool.acquire("project-1", 512, adaptor_repo, adaptor="@openfn/language-common@0.0.1"),
            reusable=False,
        )
        deadline = time.monotonic() + 60
        while not any("standby" in record.getMessage() for record in caplog.records):
            assert time.monotonic() < deadline, "the standby's failed import was never reported"
            time.sleep(0.05)
        assert "could not import @openfn/language-common@0.0.1" in caplog.text
        assert pool.standby_pids() == []
    finally:
        pool.close()


def test_processes_are_replaced_after_a_share_of_max_runs_drawn_for_each(run_warm):
    # Between 6 and 8 runs each: processes started together are not all replaced at the same run.
    pool = engine.Pool(size=1, max_runs=8, max_heap_mb=256, idle_seconds=300)
    try:
        served, streak = [], 0
        for _ in range(40):
            note = process_note(run_warm(pool, PID, key="project-1"))
            if note.startswith("a new warm Node.js process") and streak:
                served.append(streak)
                streak = 0
            streak += 1
        assert served and all(6 <= count <= 8 for count in served), served
    finally:
        pool.close()


def test_the_share_of_runs_is_drawn_between_three_quarters_of_max_runs_and_max_runs():
    pool = engine.Pool(size=1, max_runs=200)
    limits = {pool.draw_run_limit() for _ in range(100)}
    assert min(limits) >= 150 and max(limits) <= 200 and len(limits) > 10
