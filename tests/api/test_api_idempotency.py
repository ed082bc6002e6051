"""Run now and reprocess in the REST API: explicit requests always start a run (the 10-second rule is
for duplicate deliveries), and an Idempotency-Key makes a retried request get the run it started."""

from django.test import Client

from kindling.runs.models import Run
from tests.conftest import make_job, make_trigger, post_message


def post(token_for, user, path, key=None):
    headers = {"Authorization": f"Bearer {token_for(user)}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return Client().post(f"/api/v1{path}", "{}", content_type="application/json", headers=headers)


def test_reprocess_twice_at_once_starts_two_runs(project, alice, token_for):
    make_job(project, "double", make_trigger(project, criteria={"number": 2}))
    _message, (run,) = post_message(project, {"number": 2})

    first = post(token_for, alice, f"/runs/{run.pk}/reprocess")
    second = post(token_for, alice, f"/runs/{run.pk}/reprocess")

    assert (first.status_code, second.status_code) == (201, 201)
    assert Run.objects.count() == 3


def test_the_same_idempotency_key_gets_the_same_run(project, bob, token_for):
    job = make_job(project, "nightly", make_trigger(project, "c", "cron", cron="0 2 * * *"))

    first = post(token_for, bob, f"/jobs/{job.pk}/run", key="retry-1234")
    again = post(token_for, bob, f"/jobs/{job.pk}/run", key="retry-1234")

    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["id"] == again.json()["id"]
    assert Run.objects.filter(job=job).count() == 1


def test_a_malformed_idempotency_key_is_a_bad_request(project, alice, token_for):
    job = make_job(project, "nightly", make_trigger(project, "c", "cron", cron="0 2 * * *"))

    response = post(token_for, alice, f"/jobs/{job.pk}/run", key="short")

    assert response.status_code == 400 and "Idempotency-Key" in response.json()["error"]
    assert not Run.objects.exists()


def test_an_outsider_cannot_reprocess_with_a_key(project, alice, charlie, token_for):
    make_job(project, "double", make_trigger(project, criteria={"number": 2}))
    _message, (run,) = post_message(project, {"number": 2})

    response = post(token_for, charlie, f"/runs/{run.pk}/reprocess", key="retry-1234")

    assert response.status_code == 404 and Run.objects.count() == 1
