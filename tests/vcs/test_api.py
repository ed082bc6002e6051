"""REST API: PUT /projects/{slug}/version-control, file_path on jobs, resending a commit."""

import json

import pytest

from kindling.jobs.editing import update_job
from kindling.vcs.commits import push_problem
from kindling.vcs.models import Repository
from tests.conftest import make_job


@pytest.fixture
def call(client, token_for):
    def send(user, method, path, body=None):
        headers = {"Authorization": f"Bearer {token_for(user)}"}
        data = json.dumps(body) if body is not None else ""
        return client.generic(
            method, f"/api/v1{path}", data, content_type="application/json", headers=headers
        )

    return send


def test_an_administrator_links_a_repository(call, project, alice, bare):
    response = call(
        alice,
        "PUT",
        f"/projects/{project.slug}/version-control",
        {"repository": f"file://{bare}", "branch": "main", "autodeploy": True},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["repository"] == f"file://{bare}" and body["autodeploy"] is True
    assert body["webhook_url"].endswith(f"/vcs/hooks/{Repository.objects.get().hook_token}")
    assert call(alice, "GET", f"/projects/{project.slug}/version-control").json()["branch"] == "main"


def test_bad_repositories_and_branches_are_400_naming_what_is_wrong(call, project, alice):
    url = f"/projects/{project.slug}/version-control"
    for body, words in (
        ({"repository": "ssh://git@example.org/a.git"}, "is not a repository Kindling can use"),
        ({"repository": "https://user:pw@example.org/a.git"}, "no password or token"),
        ({"repository": "acme/jobs", "branch": "a..b"}, "not a valid git branch name"),
        ({"repository": "--upload-pack=touch /tmp/x"}, "characters no repository address has"),
    ):
        response = call(alice, "PUT", url, body)
        assert response.status_code == 400 and words in response.json()["error"], body
    assert not Repository.objects.exists()


def test_unknown_fields_are_refused(call, project, alice):
    response = call(
        alice,
        "PUT",
        f"/projects/{project.slug}/version-control",
        {"repository": "acme/jobs", "owner": "acme"},
    )
    assert response.status_code == 400 and "owner" in response.json()["error"]


def test_collaborators_get_403(call, project, bob):
    response = call(bob, "PUT", f"/projects/{project.slug}/version-control", {"repository": "acme/jobs"})
    assert response.status_code == 403


def test_patch_job_file_path_commits_the_expression(call, linked, project, alice, outside):
    job = make_job(project)
    response = call(alice, "PATCH", f"/jobs/{job.pk}", {"file_path": "api/job.js"})
    assert response.status_code == 200 and response.json()["file_path"] == "api/job.js"
    assert outside.show("api/job.js") == job.expression
    response = call(alice, "PATCH", f"/jobs/{job.pk}", {"file_path": None})
    assert response.json()["file_path"] is None


def test_patch_job_refuses_a_path_outside_the_repository(call, linked, project, alice):
    job = make_job(project)
    response = call(alice, "PATCH", f"/jobs/{job.pk}", {"file_path": "../../etc/passwd"})
    assert response.status_code == 400 and "may not contain '..'" in response.json()["error"]


def test_resend_applies_a_commit_to_every_linked_job(call, linked, project, alice, outside):
    job = make_job(project, git_path="a.js")
    sha = outside.commit({"a.js": "fn(s => s); // via api"})
    response = call(alice, "POST", f"/projects/{project.slug}/version-control/resend", {"commit": sha})
    assert response.status_code == 200 and response.json()["applied"] == ["job-1"]
    job.refresh_from_db()
    assert job.expression == "fn(s => s); // via api"
    response = call(alice, "POST", f"/projects/{project.slug}/version-control/resend", {"commit": "nope"})
    assert response.status_code == 400


def test_unlinking_keeps_the_jobs_paths(call, linked, project, alice):
    job = make_job(project, git_path="a.js")
    response = call(alice, "DELETE", f"/projects/{project.slug}/version-control")
    assert response.json() == {"unlinked": True}
    job.refresh_from_db()
    assert job.git_path == "a.js" and not Repository.objects.exists()


def test_the_openapi_document_declares_the_endpoints(client, db):
    document = client.get("/api/v1/openapi.json").json()
    put = document["paths"]["/api/v1/projects/{slug}/version-control"]["put"]
    assert {"200", "400", "401", "403", "404", "422"} <= set(put["responses"])
    schema = document["components"]["schemas"]["RepositoryIn"]
    assert schema["additionalProperties"] is False


def test_local_repositories_are_off_unless_the_operator_allows_them(call, project, alice, bare, settings):
    import kindling.settings

    assert kindling.settings.GIT_LOCAL_REPOSITORIES is False  # the default, without the tests' fixture
    settings.GIT_LOCAL_REPOSITORIES = False
    for address in (str(bare), f"file://{bare}"):
        response = call(alice, "PUT", f"/projects/{project.slug}/version-control", {"repository": address})
        assert response.status_code == 400 and "own disk" in response.json()["error"]


def test_a_local_repository_linked_before_the_switch_is_not_used(linked, project, alice, settings):
    settings.GIT_LOCAL_REPOSITORIES = False
    job = make_job(project, git_path="a.js")
    update_job(job, alice, expression="fn(s => s); // 2")
    assert "switched off" in push_problem(job).error


def test_a_job_created_with_a_file_path_is_committed(call, linked, project, alice, outside):
    response = call(
        alice,
        "POST",
        f"/projects/{project.slug}/jobs",
        {"name": "from-api", "expression": "fn(s => s); // api", "file_path": "api.js"},
    )
    assert response.status_code == 201 and response.json()["file_path"] == "api.js"
    assert outside.show("api.js") == "fn(s => s); // api"


def test_the_access_token_is_masked_and_kept(call, project, alice):
    url = f"/projects/{project.slug}/version-control"
    body = {"repository": "https://git.example.org/team/jobs.git", "access_token": "tok-123"}
    assert call(alice, "PUT", url, body).json()["access_token"] == "******"
    call(alice, "PUT", url, {**body, "access_token": "******", "autodeploy": True})
    repo = Repository.objects.get()
    assert repo.access_token == "tok-123" and "tok-123" not in repo.access_token_encrypted
    assert "tok-123" not in call(alice, "GET", url).content.decode()
    call(alice, "PUT", url, {**body, "access_token": ""})
    assert Repository.objects.get().access_token == ""
