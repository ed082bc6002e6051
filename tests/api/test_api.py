from datetime import UTC, datetime

import pytest

from kindling.runs import queue
from kindling.runs.models import Run
from tests.conftest import make_job, make_project, make_trigger, post_message


class Line:
    def __init__(self, message, source="JOB", level="info"):
        self.time, self.source, self.level, self.message = datetime.now(UTC), source, level, message


@pytest.fixture
def api(client, token_for):
    def call(user, path, **params):
        headers = {"Authorization": f"Bearer {token_for(user)}"} if user else {}
        return client.get(f"/api/v1{path}", params, headers=headers)

    return call


@pytest.fixture
def finished_run(project):
    job = make_job(project, "job-1", make_trigger(project))
    post_message(project, {"number": 2})
    run = queue.claim("test", 60)
    queue.finish(run, 0, {"data": {"number": 4}, "configuration": {"password": "x"}}, [Line("hello")])
    return Run.objects.get(pk=run.pk), job


def test_it_rejects_a_request_without_a_token(api):
    response = api(None, "/projects")

    assert response.status_code == 401
    assert "Bearer" in response.json()["error"]


def test_it_rejects_a_wrong_token(client, project):
    response = client.get("/api/v1/projects", headers={"Authorization": "Bearer kdl_not-a-token"})

    assert response.status_code == 401


def test_projects_lists_only_the_users_projects(api, project, alice, charlie):
    make_project(charlie, "Charlie's own")

    body = api(alice, "/projects").json()

    assert body["count"] == 1
    assert body["items"][0]["slug"] == project.slug
    assert body["items"][0]["inbox_url"].endswith(f"/inbox/{project.inbox_uuid}")


def test_jobs_of_a_project(api, project, bob):
    make_job(project, "job-1", make_trigger(project))
    make_job(project, "old-job", archived=True)

    body = api(bob, f"/projects/{project.slug}/jobs").json()

    assert body["count"] == 1
    assert body["items"][0]["name"] == "job-1"
    assert body["items"][0]["trigger"] == "trigger-1"


def test_messages_of_a_project_newest_first(api, project, alice):
    post_message(project, {"n": 1})
    post_message(project, {"n": 2})

    body = api(alice, f"/projects/{project.slug}/messages").json()

    assert body["count"] == 2
    assert [m["body"] for m in body["items"]] == [{"n": 2}, {"n": 1}]


def test_runs_have_the_documented_fields_and_no_configuration(api, project, alice, finished_run):
    run, _job = finished_run

    item = api(alice, f"/projects/{project.slug}/runs").json()["items"][0]

    assert set(item) >= {
        "id",
        "job",
        "status",
        "exit_code",
        "created_at",
        "started_at",
        "finished_at",
        "message",
        "final_state",
    }
    assert (item["id"], item["job"], item["status"], item["exit_code"]) == (run.pk, "job-1", "success", 0)
    assert item["final_state"] == {"data": {"number": 4}}
    assert item["message"] == run.message_id


def test_runs_filter_by_job_and_status(api, project, alice, finished_run):
    make_job(project, "job-2", make_trigger(project, "trigger-2"))
    post_message(project, {"other": True})  # pending runs of job-1 and job-2

    assert api(alice, f"/projects/{project.slug}/runs", job="job-2").json()["count"] == 1
    assert api(alice, f"/projects/{project.slug}/runs", status="success").json()["count"] == 1
    assert api(alice, f"/projects/{project.slug}/runs", status="pending").json()["count"] == 2
    assert api(alice, f"/projects/{project.slug}/runs", status="nonsense").status_code == 422


def test_a_run_with_its_states_and_log(api, alice, finished_run):
    run, _job = finished_run

    body = api(alice, f"/runs/{run.pk}").json()

    assert body["initial_state"] == {"data": {"number": 2}}
    assert body["final_state"] == {"data": {"number": 4}}
    assert [(line["source"], line["message"]) for line in body["log"]] == [("JOB", "hello")]


@pytest.mark.parametrize(
    "path", ["/projects/{slug}/jobs", "/projects/{slug}/messages", "/projects/{slug}/runs", "/runs/{run}"]
)
def test_an_outsider_gets_404_for_everything_in_the_project(api, charlie, project, finished_run, path):
    run, _job = finished_run

    response = api(charlie, path.format(slug=project.slug, run=run.pk))

    assert response.status_code == 404
    assert "error" in response.json()


def test_the_openapi_document_is_public(client):
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    assert "/api/v1/projects/{slug}/runs" in response.json()["paths"]


def test_the_plan_history_lists_each_billing_cycle_newest_first(call, project, bob):
    response = call(bob, "GET", f"/projects/{project.slug}/plan/history")

    assert response.status_code == 200
    cycles = response.json()["items"]
    assert cycles[0]["current"] is True and cycles[0]["runs"] == 0
    assert response.json()["count"] == len(cycles)
