"""GET /api/v1/jobs/{id}/history and POST /api/v1/jobs/{id}/revert {"version": N}."""

from kindling.jobs import editing
from kindling.jobs.models import Job, JobVersion


def test_the_history_lists_the_versions_newest_first(call, project, alice, bob):
    job = editing.create_job(project, alice, name="register", expression="fn(a => a);")
    editing.update_job(job, bob, expression="fn(b => b);")

    response = call(bob, "GET", f"/jobs/{job.pk}/history")

    assert response.status_code == 200
    versions = response.json()["versions"]
    assert [(v["version"], v["author_email"], v["expression"]) for v in versions] == [
        (2, "bob@example.com", "fn(b => b);"),
        (1, "alice@example.com", "fn(a => a);"),
    ]
    assert versions[0]["changed"] == ["expression"]


def test_a_collaborator_reverts_a_job_to_a_version_which_makes_a_new_one(call, project, alice, bob):
    job = editing.create_job(project, alice, name="register", expression="fn(a => a);")
    editing.update_job(job, alice, expression="fn(b => b);")

    response = call(bob, "POST", f"/jobs/{job.pk}/revert", {"version": 1})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["version"], body["restored_from"], body["job"]["expression"]) == (3, 1, "fn(a => a);")
    assert JobVersion.objects.get(job=job, number=3).author == bob


def test_reverting_to_a_version_that_does_not_exist_is_a_404_naming_it(call, project, alice):
    job = editing.create_job(project, alice, name="register")

    response = call(alice, "POST", f"/jobs/{job.pk}/revert", {"version": 9})

    assert response.status_code == 404
    assert response.json() == {
        "error": "Job register has no version 9: its history lists the versions it has."
    }


def test_reverting_to_what_the_job_is_now_is_a_409(call, project, alice):
    job = editing.create_job(project, alice, name="register")

    response = call(alice, "POST", f"/jobs/{job.pk}/revert", {"version": 1})

    assert response.status_code == 409
    assert JobVersion.objects.filter(job=job).count() == 1


def test_an_unknown_field_in_the_revert_body_is_a_400_naming_it(call, project, alice):
    job = editing.create_job(project, alice, name="register")

    response = call(alice, "POST", f"/jobs/{job.pk}/revert", {"version": 1, "force": True})

    assert response.status_code == 400
    assert "force" in response.json()["error"]


def test_a_version_that_is_not_a_number_is_a_422(call, project, alice):
    job = editing.create_job(project, alice, name="register")

    response = call(alice, "POST", f"/jobs/{job.pk}/revert", {"version": "first"})

    assert response.status_code == 422
    assert "version" in response.json()["error"]


def test_an_outsider_cannot_read_or_revert_a_jobs_history(call, project, alice, charlie):
    job = editing.create_job(project, alice, name="register", expression="fn(secret => secret);")
    editing.update_job(job, alice, expression="fn(b => b);")

    read = call(charlie, "GET", f"/jobs/{job.pk}/history")
    revert = call(charlie, "POST", f"/jobs/{job.pk}/revert", {"version": 1})

    assert (read.status_code, revert.status_code) == (404, 404)
    assert "secret" not in read.content.decode()
    assert Job.objects.get(pk=job.pk).expression == "fn(b => b);"


def test_both_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]

    revert = paths["/api/v1/jobs/{job_id}/revert"]["post"]
    assert {"200", "400", "401", "403", "404", "409", "422"} <= set(revert["responses"])
    assert "get" in paths["/api/v1/jobs/{job_id}/history"]
