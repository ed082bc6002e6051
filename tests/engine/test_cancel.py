"""Cancelling a run (an administrator's abort): the run's Node process is killed, never reused, and
the run ends with exit 6 and its log so far."""

import threading
import time
import uuid

from kindling import engine
from kindling.engine import ExitCode
from kindling.engine.execute import ABORTED_EARLY_NOTE, ABORTED_NOTE
from tests.engine.conftest import COMMON, log_text

NEVER_ENDS = "fn(state => { console.log('waiting for ever'); return new Promise(() => {}); });"
SPINS = "fn(state => { console.log('spinning'); while (true) {} });"


def gone(pid: int, within: float = 30.0) -> bool:
    """Whether the process has ended (and been reaped) within `within` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def cancel_when_the_job_logs(pool=None, key="project-1"):
    """on_log for a run, and the event it sets once the job's first line arrives; `pids` gets the
    Node process ids of `key` at that moment (the running one first)."""
    cancel, pids = threading.Event(), []

    def on_log(line):
        if line.source == "JOB" and not cancel.is_set():
            if pool is not None:
                pids.extend(pool.node_pids(key))
            cancel.set()

    return on_log, cancel, pids


def test_cancelling_a_warm_run_kills_its_node_process_and_ends_it_with_exit_6(pool, run_warm):
    on_log, cancel, pids = cancel_when_the_job_logs(pool)

    result = run_warm(pool, NEVER_ENDS, on_log=on_log, cancel=cancel, timeout=60)

    assert result.exit_code == ExitCode.ABORTED, log_text(result)
    assert result.final_state is None
    messages = [line.message for line in result.log]
    assert messages.count("waiting for ever") == 1
    assert messages[-2:] == [ABORTED_NOTE, "Run complete with status: cancelled"]
    assert pids and gone(pids[0])
    assert pool.stats()["project-1"] == {"idle": 0, "busy": 0}


def test_the_pool_serves_the_projects_next_run_on_another_process(pool, run_warm):
    on_log, cancel, killed = cancel_when_the_job_logs(pool)
    run_warm(pool, NEVER_ENDS, on_log=on_log, cancel=cancel, timeout=60)

    result = run_warm(pool, "fn(state => ({ ...state, data: { next: true } }));")

    assert result.exit_code == 0, log_text(result)
    assert result.final_state["data"] == {"next": True}
    assert killed and not set(killed) & set(pool.node_pids("project-1"))


def test_cancelling_a_busy_loop_in_a_fresh_process_ends_it_with_exit_6(run_job):
    on_log, cancel, _ = cancel_when_the_job_logs()

    result = run_job(SPINS, on_log=on_log, cancel=cancel, timeout=60)

    assert result.exit_code == ExitCode.ABORTED, log_text(result)
    assert [line.message for line in result.log if line.source == "JOB"] == ["spinning"]
    assert result.log[-2].message == ABORTED_NOTE


def test_a_run_cancelled_before_it_starts_starts_no_process(pool, adaptor_repo):
    cancel = threading.Event()
    cancel.set()
    spec = engine.RunSpec(f"test-{uuid.uuid4()}", "fn(state => state);", COMMON, {"data": {}})

    result = pool.execute(spec, key="project-1", repo_dir=adaptor_repo, cancel=cancel)

    assert result.exit_code == ExitCode.ABORTED
    messages = [line.message for line in result.log]
    assert messages == [ABORTED_EARLY_NOTE, "Run complete with status: cancelled"]
    assert pool.stats().get("project-1", {"idle": 0, "busy": 0}) == {"idle": 0, "busy": 0}


def test_a_cancel_that_is_never_set_changes_nothing(run_job):
    result = run_job("fn(state => ({ data: { done: true } }));", cancel=threading.Event())

    assert result.exit_code == 0, log_text(result)
    assert result.final_state["data"] == {"done": True}
