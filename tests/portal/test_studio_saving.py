"""Job Studio keeps a user who is iterating in the editor: Save answers the page's script with JSON (or
reloads Job Studio without it) instead of leaving for the job's page; the syntax check's message says
the position once; and /favicon.ico is served."""

import json

from django.contrib.messages import get_messages
from django.urls import reverse

from kindling.jobs.models import Job
from tests.conftest import make_job, make_trigger

JSON = {"HTTP_ACCEPT": "application/json"}


def form_of(job, **changes):
    return {
        "name": job.name,
        "trigger": job.trigger_id or "",
        "adaptor": job.adaptor,
        "adaptor_version": job.adaptor_version,
        "expression": job.expression,
        **changes,
    }


def test_the_scripts_save_answers_json_and_the_page_stays_in_studio(client_for, project, bob):
    job = make_job(project, "register", make_trigger(project))

    response = client_for(bob).post(
        reverse("job-edit", args=[project.slug, job.pk]), form_of(job, expression="fn(s => s);"), **JSON
    )

    assert response.status_code == 200
    assert response.json() == {
        "job": job.pk,
        "name": "register",
        "edit_url": reverse("job-edit", args=[project.slug, job.pk]),
        "detail_url": reverse("job-detail", args=[project.slug, job.pk]),
        "save_and_run_url": reverse("studio-save-and-run", args=[project.slug, job.pk]),
        "note": "Job register saved.",
    }
    assert Job.objects.get(pk=job.pk).expression == "fn(s => s);"
    assert list(get_messages(response.wsgi_request)) == []  # no stale note for the next page


def test_a_new_job_saved_by_the_script_is_created_and_edited_from_then_on(client_for, project, alice):
    response = client_for(alice).post(
        reverse("job-create", args=[project.slug]),
        {"name": "new-one", "adaptor": "@openfn/language-common", "adaptor_version": "latest"},
        **JSON,
    )

    job = Job.objects.get(name="new-one")
    assert response.status_code == 200
    assert response.json()["edit_url"] == f"/projects/{project.slug}/jobs/{job.pk}/edit"
    assert "off until you switch it on" in response.json()["note"]


def test_a_refused_save_answers_which_field_is_wrong_and_keeps_the_job(client_for, project, alice):
    make_job(project, "taken")
    job = make_job(project, "register")

    response = client_for(alice).post(
        reverse("job-edit", args=[project.slug, job.pk]), form_of(job, name="taken"), **JSON
    )

    assert response.status_code == 400
    assert response.json()["field"] == "name" and "already taken" in response.json()["error"]
    assert Job.objects.get(pk=job.pk).name == "register"


def test_without_the_script_save_reloads_job_studio_with_the_saved_note(client_for, project, alice):
    job = make_job(project, "register")
    client = client_for(alice)

    response = client.post(reverse("job-edit", args=[project.slug, job.pk]), form_of(job), follow=True)

    assert response.redirect_chain == [(reverse("job-edit", args=[project.slug, job.pk]), 302)]
    html = response.content.decode()
    assert "Job register saved." in html
    assert f'id="studio-done" href="{reverse("job-detail", args=[project.slug, job.pk])}"' in html


def test_an_outsider_cannot_save_a_job_through_the_script(client_for, project, charlie):
    job = make_job(project, "register")

    response = client_for(charlie).post(
        reverse("job-edit", args=[project.slug, job.pk]), form_of(job, name="mine"), **JSON
    )

    assert response.status_code == 404
    assert Job.objects.get(pk=job.pk).name == "register"


def test_the_syntax_check_gives_the_reason_apart_from_the_position_as_a_sentence(client_for, project, alice):
    response = client_for(alice).post(
        reverse("studio-check", args=[project.slug]),
        json.dumps({"expression": "fn(s => s);\n)"}),
        content_type="application/json",
    )

    assert response.status_code == 422
    body = response.json()
    assert (body["line"], body["column"], body["reason"]) == (2, 1, "Unexpected token.")


def test_the_favicon_is_served(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 200 and response["Content-Type"] == "image/x-icon"
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"
