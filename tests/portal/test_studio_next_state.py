"""Job Studio's initial-state inspector for jobs that no message starts: the state the next run of a cron
job gets (its saved state, or {} saying so), and for flow and catch jobs what the upstream job's latest
success or failure gives them."""

from django.urls import reverse

from kindling.runs.models import Run
from tests.conftest import make_job, make_trigger
from tests.portal.conftest import make_run


def state_of(client, project, trigger, job=None):
    url = reverse("studio-trigger-state", args=[project.slug, trigger.pk])
    return client.get(url, {"job": job.pk if job else ""})


def test_a_cron_job_shows_its_last_saved_state(client_for, project, bob):
    trigger = make_trigger(project, "every-minute", kind="cron", cron="* * * * *")
    job = make_job(project, "counter", trigger, saved_state={"counter": 41})

    response = state_of(client_for(bob), project, trigger, job)

    assert response.status_code == 200
    assert response.json()["state"] == {"counter": 41}
    assert "final state of this job's last successful run" in response.json()["note"]


def test_a_cron_job_without_saved_state_shows_an_empty_state_and_says_why(client_for, project, alice):
    trigger = make_trigger(project, "every-minute", kind="cron", cron="* * * * *")
    job = make_job(project, "counter", trigger)

    body = state_of(client_for(alice), project, trigger, job).json()
    unsaved = state_of(client_for(alice), project, trigger).json()  # a new job, not saved yet

    assert body["state"] == {} and body["note"].startswith("{}: this job has no saved state yet")
    assert unsaved["state"] == {}


def test_a_flow_job_shows_the_upstream_jobs_latest_successful_final_state(client_for, project, alice):
    upstream = make_job(project, "register")
    make_run(upstream, final_state={"data": {"id": 1}})
    latest = make_run(upstream, final_state={"data": {"id": 2}})
    make_run(upstream, status=Run.Status.FAILED, exit_code=1)
    trigger = make_trigger(project, "after-register", kind="flow", upstream_job=upstream)

    body = state_of(client_for(alice), project, trigger).json()

    assert body["state"] == {"data": {"id": 2}}
    assert body["note"] == f"The final state of register's latest successful run ({latest.pk})."


def test_a_catch_job_shows_the_failed_runs_initial_state_with_its_log_as_error(client_for, project, alice):
    upstream = make_job(project, "register")
    make_run(
        upstream,
        status=Run.Status.FAILED,
        exit_code=1,
        initial_state={"data": {"id": 3}},
        logs=[("JOB", "error", "oops")],
    )
    trigger = make_trigger(project, "on-failure", kind="catch", upstream_job=upstream)

    body = state_of(client_for(alice), project, trigger).json()

    assert body["state"] == {"data": {"id": 3}, "error": "[JOB] oops"}


def test_an_upstream_job_that_never_succeeded_gives_an_empty_state_saying_so(client_for, project, alice):
    trigger = make_trigger(project, "after-register", kind="flow", upstream_job=make_job(project, "register"))

    body = state_of(client_for(alice), project, trigger).json()

    assert body == {"trigger": trigger.pk, "state": {}, "note": body["note"]}
    assert body["note"].startswith("{}: register has not succeeded yet")


def test_a_message_trigger_is_answered_with_what_to_use_instead(client_for, project, alice):
    trigger = make_trigger(project, "visits", criteria={"formID": "visit"})

    response = state_of(client_for(alice), project, trigger)

    assert response.status_code == 400 and "is a message filter" in response.json()["error"]


def test_an_outsider_gets_404(client_for, project, charlie):
    trigger = make_trigger(project, "every-minute", kind="cron", cron="* * * * *")
    job = make_job(project, "counter", trigger, saved_state={"secret": "value"})

    response = state_of(client_for(charlie), project, trigger, job)

    assert response.status_code == 404 and "secret" not in response.content.decode()
