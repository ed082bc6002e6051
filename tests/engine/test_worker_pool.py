"""The worker executes runs on the warm pool, one set of Node processes per project (SQLite, and
PostgreSQL with DATABASE_URL)."""

import uuid

import pytest

from kindling import engine
from kindling.runs.models import Run
from kindling.runs.worker import process_one
from tests.conftest import make_credential, make_job, make_project, make_trigger, post_message
from tests.engine.test_pool import PROBE, STASH


@pytest.fixture(autouse=True)
def fresh_shared_pool():
    """The worker's pool is per process; each test here starts with an empty one."""
    engine.shared_pool().close()
    yield
    engine.shared_pool().close()


def run_once(project, expression, *, name, credential=None) -> Run:
    trigger = make_trigger(project, name=f"trigger-{name}", criteria={"go": name})
    make_job(project, name, trigger, expression=expression, credential=credential)
    post_message(project, {"go": name})
    assert process_one("test-worker") is not None
    return Run.objects.get(job__name=name, job__project=project)


def process_note(run: Run) -> str:
    limits = next(line for line in run.log_text().splitlines() if "Limits:" in line)
    return limits.rsplit("; ", 1)[-1]


def test_runs_of_one_project_share_a_warm_process_and_another_project_gets_its_own(alice, project):
    other = make_project(alice, "Other Ministry")

    first = run_once(project, "fn(state => state);", name="first")
    second = run_once(project, "fn(state => state);", name="second")
    elsewhere = run_once(other, "fn(state => state);", name="elsewhere")

    assert [run.exit_code for run in (first, second, elsewhere)] == [0, 0, 0]
    assert process_note(first) == "a new warm Node.js process"
    assert process_note(second) == "a warm Node.js process (its run 2)"
    # A process of its own: new, or a standby one started ahead for no project (KINDLING_POOL_STANDBY).
    assert process_note(elsewhere) in (
        "a new warm Node.js process",
        "a new warm Node.js process, started ahead with @openfn/language-common@3.3.4 imported",
    )
    assert set(engine.shared_pool().stats()) == {f"project-{project.pk}", f"project-{other.pk}"}


def test_a_project_cannot_see_the_credential_another_project_just_used(alice, project):
    other = make_project(alice, "Other Ministry")
    secret = f"ministry-secret-{uuid.uuid4().hex}"
    credential = make_credential(alice, body={"password": secret}, projects=[project])
    run_once(project, STASH, name="stasher", credential=credential)

    trigger = make_trigger(other, name="trigger-probe", criteria={"go": "probe"})
    make_job(other, "probe", trigger, expression=PROBE)
    post_message(other, {"go": "probe", "reversed": secret[::-1]})
    process_one("test-worker")
    probe = Run.objects.get(job__name="probe")

    assert probe.exit_code == 0, probe.log_text()
    assert probe.final_state["data"]["found"] == 0
    assert secret not in probe.log_text()
