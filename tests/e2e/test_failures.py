"""Runs that go wrong end with the right exit code and an explanatory log, through the worker."""

import pytest

from kindling.runs.models import Run
from tests.conftest import make_job, make_trigger, post_message
from tests.e2e.conftest import drain


@pytest.fixture
def trigger(project):
    return make_trigger(project, criteria={"go": True})


def run_job(project, trigger, expression, **kw) -> Run:
    make_job(project, "under-test", trigger, expression=expression, **kw)
    post_message(project, {"go": True})
    drain()
    return Run.objects.get(job__name="under-test")


def test_a_job_that_throws_fails_with_exit_1(project, trigger):
    run = run_job(project, trigger, "fn(() => { throw new Error('broken on purpose'); })")

    assert (run.status, run.exit_code) == ("failed", 1)
    assert "broken on purpose" in run.log_text()


def test_a_job_that_never_ends_is_killed_with_exit_2(project, trigger, settings):
    settings.RUN_TIMEOUT_SECONDS = 2
    run = run_job(project, trigger, "fn(() => new Promise(() => {}))")

    assert (run.status, run.exit_code) == ("failed", 2)
    assert (run.finished_at - run.started_at).total_seconds() < 10


def test_a_job_that_allocates_without_bound_ends_with_exit_134(project, trigger, settings):
    settings.RUN_MEMORY_MB = 64
    run = run_job(
        project, trigger, "fn(state => { const a = []; while (true) a.push(new Array(1e5).fill(1)); })"
    )

    assert (run.status, run.exit_code) == ("failed", 134)


def test_a_compile_error_fails_with_exit_3_and_its_line_and_column(project, trigger):
    run = run_job(project, trigger, "fn(state => state);\nfn(state => { return state. });")

    assert (run.status, run.exit_code) == ("failed", 3)
    assert "Syntax error at line 2, column 29" in run.log_text()


def test_an_adaptor_version_that_does_not_exist_fails_with_exit_3(project, trigger):
    run = run_job(project, trigger, "fn(state => state)", adaptor_version="0.0.0-does-not-exist")

    assert (run.status, run.exit_code) == ("failed", 3)


def test_the_log_keeps_sources_and_levels(project, trigger):
    run = run_job(project, trigger, "fn(state => { console.log('hello from the job'); return state; })")

    lines = list(run.log_lines.all())
    assert any(line.source == "JOB" and "hello from the job" in line.message for line in lines)
    assert {"VER", "R/T"} <= {line.source for line in lines}
    assert all(line.level for line in lines)
