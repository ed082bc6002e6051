"""GET /metrics: counters that move with real messages and runs, the queue read from the database."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from kindling.runs import queue
from kindling.runs.janitor import mark_lost_runs
from kindling.runs.models import Run
from kindling.runs.worker import process_one
from tests.conftest import make_job, make_trigger


def scrape(client, **headers) -> dict:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def job(project):
    return make_job(
        project, trigger=make_trigger(project), expression="fn(state => ({ ...state, done: true }));"
    )


def test_counters_move_with_a_real_message_and_its_run(
    client, job, project, django_capture_on_commit_callbacks
):
    before = scrape(client)
    with django_capture_on_commit_callbacks(execute=True):
        posted = client.post(f"/inbox/{project.inbox_uuid}", {"a": 1}, content_type="application/json")
    assert posted.status_code == 202
    queued = scrape(client)
    with django_capture_on_commit_callbacks(execute=True):
        run = process_one("test-worker")
    after = scrape(client)

    assert run.status == Run.Status.SUCCESS
    assert value(queued, "kindling_inbox_messages_total", status="202") == (
        value(before, "kindling_inbox_messages_total", status="202") + 1
    )
    assert (
        value(queued, "kindling_inbox_latency_seconds_count")
        == value(before, "kindling_inbox_latency_seconds_count") + 1
    )
    assert value(queued, "kindling_runs_created_total", cause="message", status="pending") == (
        value(before, "kindling_runs_created_total", cause="message", status="pending") + 1
    )
    assert value(queued, "kindling_queue_depth", project=project.slug) == 1
    assert value(queued, "kindling_queue_oldest_age_seconds", project=project.slug) >= 0
    assert value(after, "kindling_runs_finished_total", status="success", exit_code="0") == (
        value(before, "kindling_runs_finished_total", status="success", exit_code="0") + 1
    )
    assert (
        value(after, "kindling_run_duration_seconds_count")
        == value(before, "kindling_run_duration_seconds_count") + 1
    )
    assert ("kindling_queue_depth", (("project", project.slug),)) not in after


def test_refused_messages_are_counted_by_status(client, project):
    before = scrape(client)
    client.post("/inbox/00000000-0000-0000-0000-000000000000", {"a": 1}, content_type="application/json")
    client.post(f"/inbox/{project.inbox_uuid}", "{not json", content_type="application/json")
    after = scrape(client)
    assert value(after, "kindling_inbox_messages_total", status="404") == (
        value(before, "kindling_inbox_messages_total", status="404") + 1
    )
    assert value(after, "kindling_inbox_messages_total", status="400") == (
        value(before, "kindling_inbox_messages_total", status="400") + 1
    )


def test_a_lost_run_is_counted(client, job, django_capture_on_commit_callbacks):
    queue.enqueue(job, Run.Cause.MANUAL, {})
    run = queue.claim("gone-worker", lease_seconds=1)
    before = scrape(client)
    with django_capture_on_commit_callbacks(execute=True):
        [lost] = mark_lost_runs(timezone.now() + timedelta(seconds=5))
    after = scrape(client)
    assert lost.pk == run.pk
    assert value(after, "kindling_runs_lost_total") == value(before, "kindling_runs_lost_total") + 1
    assert value(after, "kindling_runs_finished_total", status="lost", exit_code="4") == (
        value(before, "kindling_runs_finished_total", status="lost", exit_code="4") + 1
    )


def test_an_aborted_run_is_counted(client, job, django_capture_on_commit_callbacks):
    run = queue.enqueue(job, Run.Cause.MANUAL, {})
    before = scrape(client)
    with django_capture_on_commit_callbacks(execute=True):
        assert run.abort()
    after = scrape(client)
    assert value(after, "kindling_runs_finished_total", status="aborted", exit_code="6") == (
        value(before, "kindling_runs_finished_total", status="aborted", exit_code="6") + 1
    )


def test_emails_sent_and_failed_are_counted(client, db, settings):
    settings.EMAIL_BACKEND = "kindling.ops.mail.CountingBackend"
    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    before = scrape(client)
    mail.send_mail("Hello", "Counted.", None, ["ops@example.com"])
    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    with pytest.raises(OSError):
        mail.send_mail("Hello", "Not delivered.", None, ["ops@example.com"])
    after = scrape(client)
    assert len(mail.outbox) == 1
    assert (
        value(after, "kindling_emails_total", result="sent")
        == value(before, "kindling_emails_total", result="sent") + 1
    )
    assert value(after, "kindling_emails_total", result="failed") == (
        value(before, "kindling_emails_total", result="failed") + 1
    )


def test_the_workers_and_schedulers_alive_are_gauges(client, db):
    from kindling.ops import health

    health.beat("worker", "a:1")
    health.beat("worker", "b:2")
    samples = scrape(client)
    assert value(samples, "kindling_workers_alive") == 2
    assert value(samples, "kindling_schedulers_alive") == 0


def test_warm_node_processes_are_gauges_of_the_worker(client, job, django_capture_on_commit_callbacks):
    from kindling.ops import metrics

    queue.enqueue(job, Run.Cause.MANUAL, {})
    assert process_one("test-worker").status == Run.Status.SUCCESS
    metrics.observe_pool()
    samples = scrape(client)
    warm = sum(
        value(samples, "kindling_node_processes", state=state) for state in ("busy", "idle", "standby")
    )
    assert warm >= 1
    assert value(samples, "kindling_node_memory_bytes") > 10 * 2**20


def test_a_metrics_token_is_asked_for_when_set(client, db, settings):
    settings.METRICS_TOKEN = "s3cret-metrics"
    refused = client.get("/metrics")
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert refused.status_code == wrong.status_code == 401
    assert "KINDLING_METRICS_TOKEN" in refused.json()["error"]
    assert b"s3cret" not in refused.content
    assert scrape(client, Authorization="Bearer s3cret-metrics")
