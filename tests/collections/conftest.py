import pytest
from django.test import Client

from kindling.collections import store, tokens
from kindling.runs import queue
from kindling.runs.models import Run
from tests.conftest import make_job


def running_run(project) -> Run:
    """A run of `project` that its worker has started: its token opens the project's collections."""
    job = make_job(
        project, f"job-{Run.objects.count()}", adaptor="@openfn/language-collections", adaptor_version="0.8.0"
    )
    run = queue.enqueue(job, Run.Cause.MANUAL, {})
    Run.objects.filter(pk=run.pk).update(status=Run.Status.RUNNING)
    run.refresh_from_db()
    return run


class Jobs(Client):
    """What the adaptor sends: a bearer token on every request to /collections/..."""

    def __init__(self, token: str):
        super().__init__(headers={"Authorization": f"Bearer {token}"})

    def set(self, name: str, items, **kw):
        return self.post(f"/collections/{name}", {"items": items}, content_type="application/json", **kw)


@pytest.fixture
def patients(project, alice):
    return store.create_collection(project, "patients", alice)


@pytest.fixture
def api(project, patients):
    return Jobs(tokens.issue(running_run(project)))
