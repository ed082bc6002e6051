"""A job on another adaptor (language-http, language-common) uses its project's collections as in
Lightning: its code names `collections.`, and the run loads @openfn/language-collections beside the
job's own adaptor, which the compiler imports by name. Real adaptors, a live portal, the worker's
warm pool and a fresh process (`kindling execute`)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from kindling import engine
from kindling.collections import store
from kindling.collections.models import Item
from kindling.engine.adaptors import COLLECTIONS_ADAPTOR, adaptors_beside
from kindling.runs import queue
from kindling.runs.models import Run
from kindling.runs.worker import process_one
from tests.conftest import make_job

HTTP = ("@openfn/language-http", "7.2.10")
COMMON = ("@openfn/language-common", "3.3.4")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def adaptors_installed():
    for adaptor in ("@".join(HTTP), "@".join(COMMON), COLLECTIONS_ADAPTOR):
        engine.ensure_adaptor(adaptor, Path(settings.ADAPTOR_REPO_DIR))


@pytest.fixture
def portal(live_server, settings, monkeypatch, adaptors_installed):
    url = f"{live_server.url}/collections"
    settings.COLLECTIONS_URL = url
    monkeypatch.setenv("KINDLING_COLLECTIONS_URL", url)  # the sandbox opens that port to jobs
    return url


def run_job(job, data=None) -> Run:
    queue.enqueue(job, Run.Cause.MANUAL, {"data": data or {}})
    run = process_one("test-worker")
    assert run is not None
    return run


def test_only_code_that_names_collections_gets_the_collections_adaptor():
    assert adaptors_beside("@openfn/language-http@7.2.10", "collections.get('a', 'b');") == [
        COLLECTIONS_ADAPTOR
    ]
    assert adaptors_beside("@openfn/language-http", "get('https://example.org');") == []
    assert adaptors_beside("@openfn/language-collections@0.8.0", "collections.get('a', 'b');") == []


def test_an_http_job_sets_items_and_reads_them_back_in_a_warm_process(portal, project, alice):
    store.create_collection(project, "patients", alice)
    job = make_job(
        project,
        "sync-patients",
        adaptor=HTTP[0],
        adaptor_version=HTTP[1],
        expression=(
            "collections.set('patients', p => `patient-${p.id}`, $.data.patients);\n"
            "collections.get('patients', 'patient-*');\n"
            # The job's own adaptor is still there, its `fn` and `dataValue` included.
            "fn(state => ({ ...state, count: state.data.length, first: dataValue('[0].key')(state) }));"
        ),
    )
    first = run_job(job, {"patients": [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Grace"}]})
    assert first.status == "success", first.log_text()
    assert first.final_state["data"] == [
        {"key": "patient-1", "value": {"id": 1, "name": "Ada"}},
        {"key": "patient-2", "value": {"id": 2, "name": "Grace"}},
    ]
    assert (first.final_state["count"], first.final_state["first"]) == (2, "patient-1")
    assert "@openfn/language-collections" in first.log_text() and "0.8.0" in first.log_text()
    assert "collections_token" not in json.dumps(first.final_state)

    # The same project's next run is served by the process the first one left warm.
    second = run_job(job, {"patients": [{"id": 3, "name": "Hedy"}]})
    assert second.status == "success", second.log_text()
    assert "a warm Node.js process (its run 2)" in second.log_text()
    assert [item["key"] for item in second.final_state["data"]] == ["patient-1", "patient-2", "patient-3"]


def test_a_common_job_removes_and_counts_items(portal, project, alice):
    numbers = store.create_collection(project, "numbers", alice)
    store.upsert(numbers, [{"key": f"n-{i}", "value": str(i)} for i in range(5)])
    job = make_job(
        project,
        "tidy",
        adaptor=COMMON[0],
        adaptor_version=COMMON[1],
        expression=(
            "collections.remove('numbers', 'n-0');\n"
            "collections.each('numbers', 'n-*', (state, value) => {\n"
            "  state.total = (state.total || 0) + value;\n"
            "});"
        ),
    )
    run = run_job(job)
    assert run.status == "success", run.log_text()
    assert run.final_state["total"] == 1 + 2 + 3 + 4
    assert sorted(Item.objects.values_list("key", flat=True)) == ["n-1", "n-2", "n-3", "n-4"]


def test_a_job_that_does_not_name_collections_loads_only_its_own_adaptor(portal, project):
    job = make_job(project, "plain", adaptor=COMMON[0], adaptor_version=COMMON[1], expression="fn(s => s);")
    run = run_job(job)
    assert run.status == "success", run.log_text()
    assert "language-collections" not in run.log_text()


def test_a_name_the_job_declares_itself_is_not_replaced(portal, project):
    # `collections` is the job's own variable here: nothing is imported over it.
    job = make_job(
        project,
        "own-collections",
        adaptor=COMMON[0],
        adaptor_version=COMMON[1],
        expression="const collections = { size: 3 };\nfn(state => ({ ...state, size: collections.size }));",
    )
    run = run_job(job)
    assert run.status == "success", run.log_text()
    assert run.final_state["size"] == 3


def test_kindling_execute_runs_an_http_job_with_collections_in_a_fresh_process(
    portal, project, alice, tmp_path
):
    from kindling.collections import tokens

    store.create_collection(project, "visits", alice)
    # `kindling execute` has no database: the state file carries what a worker would put in the
    # configuration (here, the token of a run that is running).
    holder = make_job(project, "holder")
    running = queue.enqueue(holder, Run.Cause.MANUAL, {})
    Run.objects.filter(pk=running.pk).update(status=Run.Status.RUNNING)
    state = {
        "data": {"visits": [{"id": "v1"}, {"id": "v2"}]},
        "configuration": {"collections_endpoint": portal, "collections_token": tokens.issue(running)},
    }
    (tmp_path / "state.json").write_text(json.dumps(state))
    (tmp_path / "job.js").write_text(
        "collections.set('visits', v => v.id, $.data.visits);\ncollections.get('visits', 'v*');\n"
    )
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "kindling.cli",
            "execute",
            str(tmp_path / "job.js"),
            "--adaptor",
            "@".join(HTTP),
            "--state",
            str(tmp_path / "state.json"),
            "--output",
            str(tmp_path / "out.json"),
            "--adaptor-dir",
            str(settings.ADAPTOR_REPO_DIR),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "a new Node.js process for this run" in completed.stdout
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["data"] == [{"key": "v1", "value": {"id": "v1"}}, {"key": "v2", "value": {"id": "v2"}}]
    assert sorted(Item.objects.values_list("key", flat=True)) == ["v1", "v2"]
