"""A job whose credential was deleted, or is no longer shared with its project, says so on its card, its
page and in Job Studio's step 4 (in warning colours, with what to do), before a run fails on it."""

from django.test import Client
from django.urls import reverse

from kindling.credentials.editing import delete_credential
from kindling.credentials.sharing import set_projects
from kindling.jobs.models import Job
from tests.conftest import make_credential, make_job


def test_the_jobs_list_marks_deleted_and_revoked_credentials(client_for, project, alice, bob):
    deleted = make_credential(alice, "old-dhis2", projects=[project])
    revoked = make_credential(alice, "kobo", projects=[project])
    fine = make_credential(alice, "commcare", projects=[project])
    make_job(project, "a", credential=deleted)
    make_job(project, "b", credential=revoked)
    make_job(project, "c", credential=fine)
    delete_credential(deleted, alice)
    set_projects(revoked, alice, [])

    html = client_for(bob).get(reverse("job-list", args=[project.slug])).content.decode()

    assert 'data-problem="deleted"' in html and "old-dhis2: deleted" in html
    assert 'data-problem="revoked"' in html and "kobo: no longer shared with this project" in html
    assert html.count("kindling-credential-problem") == 2  # commcare is fine
    assert "runs of this job fail (exit code 3) until then" in html


def test_the_jobs_list_checks_credential_access_without_a_query_per_job(
    client_for, project, alice, django_assert_max_num_queries
):
    credential = make_credential(alice, "kobo", projects=[project])
    for n in range(8):
        make_job(project, f"job-{n}", credential=credential)
    set_projects(credential, alice, [])
    client = client_for(alice)
    url = reverse("job-list", args=[project.slug])
    client.get(url)

    with django_assert_max_num_queries(7):  # 6, and one for the project menu's queue indicator
        html = client.get(url).content.decode()

    assert html.count('data-problem="revoked"') == 8


def test_the_job_page_says_who_can_share_a_revoked_credential_again(client_for, project, alice, bob):
    credential = make_credential(alice, "kobo", projects=[project])
    job = make_job(project, "a", credential=credential)
    set_projects(credential, alice, [])

    html = client_for(bob).get(reverse("job-detail", args=[project.slug, job.pk])).content.decode()

    assert "Its owner (alice@example.com) revoked this project's access" in html
    assert f'href="{reverse("job-edit", args=[project.slug, job.pk])}">Job Studio</a>' in html


def test_job_studio_keeps_the_deleted_credential_selected_marked_and_warns(client_for, project, alice):
    deleted = make_credential(alice, "old-dhis2", projects=[project])
    make_credential(alice, "new-dhis2", projects=[project])
    job = make_job(project, "a", credential=deleted)
    delete_credential(deleted, alice)

    html = client_for(alice).get(reverse("job-edit", args=[project.slug, job.pk])).content.decode()

    assert f'<option value="{deleted.pk}" selected>old-dhis2 (deleted)</option>' in html
    assert 'id="credential-problem"' in html and "was deleted by its owner" in html


def test_saving_the_expression_keeps_a_revoked_credential_and_its_warning(client_for, project, alice):
    credential = make_credential(alice, "kobo", projects=[project])
    job = make_job(project, "a", credential=credential)
    set_projects(credential, alice, [])
    client = client_for(alice)
    url = reverse("job-edit", args=[project.slug, job.pk])
    form = {"name": "a", "adaptor": job.adaptor, "adaptor_version": job.adaptor_version}

    client.post(url, {**form, "credential": credential.pk, "expression": "fn(s => s); // v2"})

    assert Job.objects.get(pk=job.pk).credential == credential
    html = client.get(url).content.decode()
    assert "kobo (no longer shared)</option>" in html and "is no longer shared with this project" in html


def test_a_job_with_a_working_credential_shows_no_warning(client_for, project, alice):
    job = make_job(project, "a", credential=make_credential(alice, "kobo", projects=[project]))

    html = client_for(alice).get(reverse("job-edit", args=[project.slug, job.pk])).content.decode()

    assert 'id="credential-problem"' not in html and "kobo (" not in html


def test_an_outsider_sees_no_job_page(client_for, project, alice, charlie):
    job = make_job(project, "a", credential=make_credential(alice, "kobo", projects=[project]))

    response = client_for(charlie).get(reverse("job-detail", args=[project.slug, job.pk]))

    assert response.status_code == 404


def test_the_api_jobs_list_says_which_credential_is_deleted_or_no_longer_shared(project, alice, token_for):
    deleted = make_credential(alice, "old", projects=[project])
    revoked = make_credential(alice, "kobo", projects=[project])
    make_job(project, "a", credential=deleted)
    make_job(project, "b", credential=revoked)
    make_job(project, "c")
    delete_credential(deleted, alice)
    set_projects(revoked, alice, [])

    response = Client().get(
        f"/api/v1/projects/{project.slug}/jobs", headers={"Authorization": f"Bearer {token_for(alice)}"}
    )

    assert [(j["name"], j["credential_problem"]) for j in response.json()["items"]] == [
        ("a", "deleted"),
        ("b", "revoked"),
        ("c", None),
    ]
