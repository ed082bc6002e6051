"""A job's retry settings: the REST API, the job form's domain checks and project.yaml, one set of rules
(jobs/editing.py: check_retries)."""

import pytest
import yaml
from django.core.management import CommandError

from kindling.jobs import editing
from kindling.jobs.models import Job
from kindling.projects.portability import export_project
from tests.conftest import make_job
from tests.domain.test_import import EXAMPLE, import_text


def test_a_new_job_is_never_retried(call, project, bob):
    response = call(bob, "POST", f"/projects/{project.slug}/jobs", {"name": "send"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["retry_attempts"], body["retry_backoff"], body["retry_delay"], body["retry_max_delay"]) == (
        0,
        "exponential",
        60,
        3600,
    )


def test_patch_sets_the_retries_of_a_job(call, project, bob):
    job = make_job(project)
    changes = {"retry_attempts": 3, "retry_backoff": "fixed", "retry_delay": 10, "retry_max_delay": 10}
    response = call(bob, "PATCH", f"/jobs/{job.pk}", changes)
    assert response.status_code == 200, response.content
    assert {key: response.json()[key] for key in changes} == changes
    job.refresh_from_db()
    assert (job.retry_attempts, job.retry_backoff, job.retry_delay, job.retry_max_delay) == (
        3,
        "fixed",
        10,
        10,
    )


@pytest.mark.parametrize(
    ("changes", "status", "named"),
    [
        ({"retry_attempts": 11}, 422, "retry_attempts"),
        ({"retry_attempts": -1}, 422, "retry_attempts"),
        ({"retry_backoff": "linear"}, 422, "retry_backoff"),
        ({"retry_attempts": None}, 422, "retry_attempts"),  # a null where a value is required (docs/api.md)
        ({"retry_delay": 600, "retry_max_delay": 60}, 400, "longest wait"),
        ({"retries": 3}, 400, "retries"),
    ],
)
def test_patch_refuses_bad_retry_settings_and_changes_nothing(call, project, bob, changes, status, named):
    job = make_job(project)
    response = call(bob, "PATCH", f"/jobs/{job.pk}", changes)
    assert response.status_code == status, response.content
    assert named in response.json()["error"]
    job.refresh_from_db()
    assert (job.retry_attempts, job.retry_delay, job.retry_max_delay) == (0, 60, 3600)


def test_an_outsider_cannot_change_a_jobs_retries(call, project, charlie):
    job = make_job(project)
    assert call(charlie, "PATCH", f"/jobs/{job.pk}", {"retry_attempts": 2}).status_code == 404


def test_the_domain_names_the_field_at_fault(project):
    job = make_job(project)
    with pytest.raises(editing.EditError) as refused:
        editing.update_job(job, retry_attempts="many")
    assert refused.value.field == "retry_attempts"
    assert "whole number from 0 to 10" in str(refused.value)


# project.yaml


def test_project_yaml_imports_a_jobs_retries_from_the_kindling_block(tmp_path, alice):
    import_text(
        tmp_path,
        EXAMPLE.read_text()
        + """
kindling:
  jobs:
    bad-job:
      retries: {attempts: 4, backoff: fixed, delay: 5, max_delay: 5}
""",
    )
    job = Job.objects.get(name="bad-job")
    assert (job.retry_attempts, job.retry_backoff, job.retry_delay, job.retry_max_delay) == (4, "fixed", 5, 5)
    assert Job.objects.get(name="job-1").retry_attempts == 0


@pytest.mark.parametrize(
    ("retries", "error"),
    [
        ("{attempts: 20}", r"kindling\.jobs\.bad-job\.retries\.attempts: Retries must be from 0 to 10"),
        ("{tries: 2}", r"kindling\.jobs\.bad-job\.retries\.tries: unknown key"),
        ("{attempts: 2, backoff: linear}", r"kindling\.jobs\.bad-job\.retries\.backoff: The backoff must be"),
        ("5", r"kindling\.jobs\.bad-job\.retries: must be a mapping"),
    ],
)
def test_project_yaml_with_bad_retries_names_the_key_and_imports_nothing(tmp_path, alice, retries, error):
    text = EXAMPLE.read_text() + f"kindling:\n  jobs:\n    bad-job:\n      retries: {retries}\n"
    with pytest.raises(CommandError, match=error):
        import_text(tmp_path, text)
    assert not Job.objects.exists()


def test_project_yaml_exports_the_retries_of_retried_jobs_only(project):
    make_job(project, "plain")
    make_job(project, "retried", retry_attempts=2, retry_backoff="fixed", retry_delay=30, retry_max_delay=30)
    exported = yaml.safe_load(export_project(project))
    assert exported["kindling"]["jobs"] == {
        "retried": {"retries": {"attempts": 2, "backoff": "fixed", "delay": 30, "max_delay": 30}}
    }


def test_the_jobs_page_says_its_retries(client_for, project, bob):
    job = make_job(project, retry_attempts=1, retry_backoff="fixed", retry_delay=30, retry_max_delay=30)
    page = client_for(bob).get(f"/projects/{project.slug}/jobs/{job.pk}").content.decode()
    assert "1 retry, fixed backoff: first wait 30 s, longest 30 s" in page
