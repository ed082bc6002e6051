"""GET /healthz and GET /readyz: probes without a login, answers without secrets."""

from datetime import timedelta

from django.utils import timezone

from kindling.ops import health
from kindling.ops.models import Heartbeat


def alive_everywhere():
    health.beat("worker", "host-a:1")
    health.beat("scheduler", "host-a:1")


def test_healthz_answers_without_a_login(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_is_ready_with_the_database_migrations_a_worker_and_a_scheduler(client, db):
    alive_everywhere()
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {
            "database": {"ok": True},
            "migrations": {"ok": True},
            "worker": {"ok": True, "alive": 1},
            "scheduler": {"ok": True, "alive": 1},
        },
    }


def test_readyz_fails_when_no_worker_was_seen_in_the_last_minute(client, db):
    alive_everywhere()
    Heartbeat.objects.filter(role="worker").update(seen_at=timezone.now() - timedelta(seconds=61))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "not ready"
    assert response.json()["checks"]["worker"] == {
        "ok": False,
        "alive": 0,
        "detail": "no worker seen in the last 60 seconds",
    }
    assert response.json()["checks"]["scheduler"]["ok"] is True


def test_readyz_fails_without_a_scheduler(client, db):
    health.beat("worker", "host-a:1")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["scheduler"]["detail"] == "no scheduler seen in the last 60 seconds"


def test_readyz_fails_while_migrations_wait(client, db, monkeypatch):
    alive_everywhere()
    monkeypatch.setattr(health, "migrations_applied", lambda: False)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert (
        response.json()["checks"]["migrations"]["detail"] == "migrations are waiting: run `kindling migrate`"
    )


def test_readyz_names_no_process_and_no_host(client, db):
    health.beat("worker", "secret-host.internal:4242")
    assert b"secret-host" not in client.get("/readyz").content


def test_a_worker_that_stops_cleanly_is_no_longer_counted(db):
    health.beat("worker", "host-a:1")
    health.beat("worker", "host-b:2")
    health.forget("worker", "host-a:1")
    assert health.alive("worker") == 1


def test_the_scheduler_beats_at_most_every_15_seconds_and_forgets_processes_gone_for_a_day(db):
    gone = Heartbeat.objects.create(role="worker", name="old:1", seen_at=timezone.now() - timedelta(days=2))
    beat = health.Throttled("scheduler", "host-a:1")
    beat()
    Heartbeat.objects.filter(role="scheduler").update(seen_at=timezone.now() - timedelta(minutes=5))
    beat()  # within 15 seconds of the first: no write
    assert health.alive("scheduler") == 0
    assert not Heartbeat.objects.filter(pk=gone.pk).exists()


def test_probes_answer_get_only(client, db):
    assert client.post("/healthz").status_code == 405
    assert client.post("/readyz").status_code == 405


def test_readyz_fails_when_the_database_does_not_answer(client, db, monkeypatch):
    from django.db import OperationalError

    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    with monkeypatch.context() as patch:  # undone before the test database is rolled back
        patch.setattr(health.connection, "cursor", refuse)
        response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"] == {"ok": False, "detail": "the database does not answer: OperationalError"}
    assert checks["worker"]["detail"] == "not checked: the database does not answer"
    assert "connection refused" not in response.content.decode()  # no driver message, which may name hosts
