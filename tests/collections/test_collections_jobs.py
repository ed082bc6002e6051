"""Jobs use their project's collections through the real adaptor, @openfn/language-collections 0.8.0,
unchanged: the worker gives the run the endpoint and a token in its configuration, and the sandboxed
job reaches the portal's port (a live server here) to set, read, page through and remove items."""

from pathlib import Path

import pytest
from django.conf import settings

from kindling import engine
from kindling.collections import store
from kindling.collections.models import Item
from kindling.runs import queue
from kindling.runs.models import Run
from kindling.runs.worker import process_one
from tests.conftest import make_job

ADAPTOR = ("@openfn/language-collections", "0.8.0")


@pytest.fixture(scope="session")
def adaptor_installed():
    engine.ensure_adaptor("@".join(ADAPTOR), Path(settings.ADAPTOR_REPO_DIR))


@pytest.fixture
def portal(live_server, settings, monkeypatch, adaptor_installed):
    """Jobs call the collections API of this live server, as they would call `make run`'s portal."""
    url = f"{live_server.url}/collections"
    settings.COLLECTIONS_URL = url
    monkeypatch.setenv("KINDLING_COLLECTIONS_URL", url)  # the sandbox opens that port to jobs
    return url


def run_job(project, expression, data=None) -> Run:
    job = make_job(
        project,
        f"job-{Run.objects.count()}",
        expression=expression,
        adaptor=ADAPTOR[0],
        adaptor_version=ADAPTOR[1],
    )
    queue.enqueue(job, Run.Cause.MANUAL, {"data": data or {}})
    run = process_one("test-worker")
    assert run is not None
    return run


def test_a_job_sets_items_and_reads_them_back_by_pattern(portal, project, alice):
    store.create_collection(project, "patients", alice)
    run = run_job(
        project,
        "collections.set('patients', p => `patient-${p.id}`, $.data.patients);\n"
        "collections.get('patients', 'patient-*');",
        {"patients": [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Grace"}]},
    )
    assert run.status == "success", run.log_text()
    assert run.final_state["data"] == [
        {"key": "patient-1", "value": {"id": 1, "name": "Ada"}},
        {"key": "patient-2", "value": {"id": 2, "name": "Grace"}},
    ]
    # Neither the endpoint nor the token is saved with the run.
    assert "configuration" not in run.final_state and "collections_token" not in run.log_text()


def test_a_job_reads_one_key_and_removes_items(portal, project, alice):
    patients = store.create_collection(project, "patients", alice)
    store.upsert(patients, [{"key": f"p-{i}", "value": str(i)} for i in range(3)])
    run = run_job(project, "collections.remove('patients', 'p-1');\ncollections.get('patients', 'p-2');")
    assert run.status == "success", run.log_text()
    assert run.final_state["data"] == 2
    assert sorted(Item.objects.values_list("key", flat=True)) == ["p-0", "p-2"]


def test_each_pages_through_more_items_than_one_page(portal, project, alice):
    numbers = store.create_collection(project, "numbers", alice)
    store.upsert(numbers, [{"key": f"n-{i:04d}", "value": str(i)} for i in range(2500)])
    run = run_job(
        project,
        "collections.each('numbers', '*', (state, value) => { state.total = (state.total || 0) + value; });",
    )
    assert run.status == "success", run.log_text()
    assert run.final_state["total"] == sum(range(2500))


def test_a_job_using_a_collection_that_does_not_exist_fails_saying_so(portal, project):
    run = run_job(project, "collections.get('nowhere', 'a');")
    assert run.status == "failed"
    assert "COLLECTION_NOT_FOUND" in run.log_text()


def test_a_job_cannot_use_the_collections_of_another_project(portal, project, alice):
    from tests.conftest import make_project

    other = make_project(alice, "Other project")
    store.create_collection(other, "secrets", alice)
    run = run_job(project, "collections.get('secrets', '*');")
    assert run.status == "failed"
    assert "COLLECTION_NOT_FOUND" in run.log_text()
