"""Live logs: a run's lines are stored while it executes (at most every 250 ms), each exactly once and
in order whatever way the run ends, and the run page follows them."""

import os
import signal
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from kindling import engine
from kindling.engine.execute import ABORTED_NOTE
from kindling.runs import queue
from kindling.runs.janitor import mark_lost_runs
from kindling.runs.livelog import LiveLog, LogWriter
from kindling.runs.models import LOST_NOTE, Run
from kindling.runs.worker import Worker
from tests.conftest import make_job, make_trigger
from tests.domain.conftest import Line, claim_next
from tests.portal.conftest import make_run
from tests.queue.conftest import in_threads, queued

LOGS_WAITS_LOGS = (
    "fn(state => {\n"
    "  console.log('first');\n"
    "  return new Promise(resolve => setTimeout(() => { console.log('second'); resolve(state); }, 2000));\n"
    "});"
)
TWO_LINES = [("JOB", "info", "one"), ("JOB", "info", "two")]
LOGS_NEVER_ENDS = "fn(state => { console.log('first'); return new Promise(() => {}); });"


def wait_for(condition, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def messages(run) -> list[str]:
    return list(Run.objects.get(pk=run.pk).log_lines.order_by("seq").values_list("message", flat=True))


def seqs(run) -> list[int]:
    return list(Run.objects.get(pk=run.pk).log_lines.order_by("seq").values_list("seq", flat=True))


def has_line(run, text: str) -> bool:
    return Run.objects.get(pk=run.pk).log_lines.filter(message=text).exists()


@pytest.fixture
def worker():
    """A worker of this process (its slots are threads), with a fresh warm pool; stopped at the end."""
    engine.shared_pool().close()
    started = Worker("w1", slots=2, poll_seconds=0.05)
    started.start()
    yield started
    started.stop()
    assert started.wait(60)
    engine.shared_pool().close()


@pytest.fixture
def job_running(project_with):
    """job_running(expression) -> a queued run of a job with that expression."""

    def build(expression: str) -> Run:
        project = project_with(concurrency=2)
        job = make_job(
            project, "live", make_trigger(project, "manual", criteria={"never": True}), expression=expression
        )
        return queued(job, 1)[0]

    return build


def test_a_running_runs_first_line_is_stored_before_it_ends_and_every_line_once(
    shared_db, job_running, worker
):
    run = job_running(LOGS_WAITS_LOGS)

    assert wait_for(lambda: has_line(run, "first"))
    # The job waits 2 s after its first line: the line was stored while the run still ran.
    assert Run.objects.get(pk=run.pk).status == "running"
    assert not has_line(run, "second")

    assert wait_for(lambda: Run.objects.get(pk=run.pk).status == "success")
    lines = messages(run)
    assert (lines.count("first"), lines.count("second")) == (1, 1)
    assert lines.index("first") < lines.index("second")
    assert lines[-1] == "Run complete with status: success"
    assert seqs(run) == list(range(len(lines)))


def test_a_timed_out_run_keeps_the_lines_stored_while_it_ran_and_adds_the_rest_once(
    shared_db, job_running, worker, settings
):
    # Long enough for a cold Node process to print its first line on a loaded machine (3 s was not).
    settings.RUN_TIMEOUT_SECONDS = 8
    run = job_running(LOGS_NEVER_ENDS)

    assert wait_for(lambda: Run.objects.get(pk=run.pk).status == "failed")
    run.refresh_from_db()
    assert run.exit_code == engine.ExitCode.TIMEOUT
    lines = messages(run)
    assert lines.count("first") == 1
    assert lines[-2:] == [
        "Timeout: the run took longer than 8 s and was killed",
        "Run complete with status: killed",
    ]
    assert seqs(run) == list(range(len(lines)))


def test_a_run_whose_node_process_is_killed_keeps_every_line_once(shared_db, job_running, worker):
    run = job_running(LOGS_NEVER_ENDS)
    assert wait_for(lambda: has_line(run, "first"))
    (pid,) = engine.shared_pool().node_pids(f"project-{run.project_id}")

    os.kill(pid, signal.SIGKILL)

    assert wait_for(lambda: Run.objects.get(pk=run.pk).status == "failed")
    run.refresh_from_db()
    assert run.exit_code == engine.ExitCode.NODE_EXITED
    lines = messages(run)
    assert lines.count("first") == 1
    assert any(line.startswith("Node.js exited unexpectedly") for line in lines)
    assert seqs(run) == list(range(len(lines)))


def test_a_run_declared_lost_while_it_runs_is_stopped_and_keeps_its_lines_around_the_janitors_note(
    shared_db, job_running, worker
):
    run = job_running(LOGS_NEVER_ENDS)
    assert wait_for(lambda: has_line(run, "first"))

    def lose():
        Run.objects.filter(pk=run.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
        return bool(mark_lost_runs())  # a renewal may land in between: then try again

    assert wait_for(lose, timeout=30)

    # The worker notices, kills the run's Node process and writes the rest of its log.
    assert wait_for(lambda: has_line(run, "Run complete with status: cancelled"))
    run.refresh_from_db()
    assert (run.status, run.exit_code) == ("lost", 4)
    lines = messages(run)
    assert [lines.count(text) for text in ("first", LOST_NOTE, ABORTED_NOTE)] == [1, 1, 1]
    assert lines.index("first") < lines.index(LOST_NOTE) < lines.index(ABORTED_NOTE)
    assert seqs(run) == list(range(len(lines)))


@pytest.fixture
def running(project_with):
    job = project_with().jobs.get()
    queued(job, 1)
    return claim_next()


def test_a_run_shorter_than_the_flush_interval_writes_its_lines_only_at_its_end(running):
    live = LogWriter(flush_seconds=60).follow(running)
    live.add(Line("one"))
    live.add(Line("two"))

    assert not live.due(time.monotonic())
    queue.finish(running, 0, {}, live.close())

    assert messages(running) == ["one", "two"]
    assert seqs(running) == [0, 1]


def test_lines_written_live_and_the_rest_at_the_end_are_stored_once_in_order(running):
    writer = LogWriter(flush_seconds=0)
    live = writer.follow(running)
    live.add(Line("one"))
    live.add(Line("two"))
    assert writer.flush_due() == 2
    live.add(Line("three"))

    queue.finish(running, 0, {}, live.close())
    assert writer.flush_due() == 0  # closed: the writer never writes a line finish() wrote

    assert messages(running) == ["one", "two", "three"]
    assert seqs(running) == [0, 1, 2]


def test_a_failed_write_keeps_its_lines_for_the_next_one(running, monkeypatch):
    live = LiveLog(running, flush_seconds=0)
    live.add(Line("one"))
    real_append = Run.append_log

    def database_away(self, lines):
        raise RuntimeError("database away")

    monkeypatch.setattr(Run, "append_log", database_away)
    with pytest.raises(RuntimeError):
        live.flush()
    live.add(Line("two"))
    monkeypatch.setattr(Run, "append_log", real_append)

    assert live.flush() == 2
    assert messages(running) == ["one", "two"]


def test_the_janitors_note_follows_the_lines_already_stored(running):
    running.append_log([Line("one"), Line("two")])
    Run.objects.filter(pk=running.pk).update(lease_until=timezone.now() - timedelta(seconds=1))

    assert Run.objects.get(pk=running.pk).mark_lost()

    assert messages(running) == ["one", "two", LOST_NOTE]
    assert seqs(running) == [0, 1, 2]


def test_writers_appending_to_one_run_at_once_never_share_a_seq(shared_db, project_with):
    queued(project_with().jobs.get(), 1)
    run = claim_next()

    results = in_threads(4, lambda: run.append_log([Line(f"line {i}") for i in range(25)]))

    assert results == [25, 25, 25, 25]
    assert seqs(run) == list(range(100))


def log_url(run, **params) -> str:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"{reverse('run-log', args=[run.project.slug, run.pk])}?{query}"


def test_the_page_of_a_running_run_asks_for_the_lines_after_the_last_it_shows(client_for, project, alice):
    run = make_run(make_job(project), status=Run.Status.RUNNING, logs=TWO_LINES)

    html = client_for(alice).get(reverse("run-detail", args=[project.slug, run.pk])).content.decode()

    assert f'hx-get="{log_url(run, after=1, status="running").replace("&", "&amp;")}"' in html
    assert 'hx-trigger="load delay:1s"' in html


def test_the_page_of_a_finished_run_asks_for_nothing(client_for, project, alice):
    run = make_run(make_job(project), logs=[("JOB", "info", "one")])

    html = client_for(alice).get(reverse("run-detail", args=[project.slug, run.pk])).content.decode()

    assert "run-log-follow" not in html and "hx-trigger" not in html


def test_the_log_view_answers_the_new_lines_and_a_row_that_asks_again(client_for, project, alice):
    run = make_run(make_job(project), status=Run.Status.RUNNING, logs=TWO_LINES)

    response = client_for(alice).get(log_url(run, after=0, status="running"))

    html = response.content.decode()
    assert response.status_code == 200 and "HX-Refresh" not in response.headers
    assert ">two</pre>" in html and ">one</pre>" not in html
    assert log_url(run, after=1, status="running").replace("&", "&amp;") in html


def test_with_no_new_line_the_log_view_asks_again_after_the_same_line(client_for, project, alice):
    run = make_run(make_job(project), status=Run.Status.RUNNING, logs=[("JOB", "info", "one")])

    html = client_for(alice).get(log_url(run, after=0, status="running")).content.decode()

    assert "<pre" not in html
    assert log_url(run, after=0, status="running").replace("&", "&amp;") in html


def test_once_the_run_has_ended_the_log_view_reloads_the_page(client_for, project, alice):
    run = make_run(make_job(project), logs=[("JOB", "info", "one")])

    response = client_for(alice).get(log_url(run, after=0, status="running"))

    assert response.headers["HX-Refresh"] == "true"


def test_the_page_of_a_run_aborted_while_it_ran_follows_its_log_until_the_workers_last_line(
    client_for, project, alice
):
    run = make_run(
        make_job(project), status=Run.Status.ABORTED, exit_code=6, seconds=0, logs=[("JOB", "info", "one")]
    )
    Run.objects.filter(pk=run.pk).update(finished_at=timezone.now())
    client = client_for(alice)

    follows = client.get(reverse("run-detail", args=[project.slug, run.pk])).content.decode()
    run.append_log([Line(ABORTED_NOTE, "RTE", "error"), Line("Run complete with status: cancelled", "R/T")])
    last = client.get(log_url(run, after=0, status="aborted")).content.decode()

    assert log_url(run, after=0, status="aborted").replace("&", "&amp;") in follows
    assert ABORTED_NOTE in last and "Run complete with status: cancelled" in last
    assert "run-log-follow" not in last


def test_a_run_lost_long_ago_is_not_followed(client_for, project, alice):
    run = make_run(make_job(project), status=Run.Status.LOST, exit_code=4, logs=[("RTE", "error", LOST_NOTE)])

    html = client_for(alice).get(reverse("run-detail", args=[project.slug, run.pk])).content.decode()

    assert "run-log-follow" not in html


def test_an_outsider_cannot_read_a_runs_log(client_for, project, charlie):
    run = make_run(make_job(project), status=Run.Status.RUNNING, logs=[("JOB", "info", "secret plans")])

    response = client_for(charlie).get(log_url(run, after=-1, status="running"))

    assert response.status_code == 404
