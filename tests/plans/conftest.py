import email
import socketserver
import threading
import time

import pytest

from kindling.plans.models import Plan
from tests.domain.test_mail import SMTPSession


@pytest.fixture
def free(db):
    """The default Free plan (the data migration's; a transactional test's flush removes it)."""
    return Plan.objects.update_or_create(
        name="Free",
        defaults={"runs_per_month": 100, "max_concurrency": 1, "run_timeout": 100, "is_default": True},
    )[0]


@pytest.fixture
def smtp_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), SMTPSession)
    server.daemon_threads = True
    server.received = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp_settings(settings, smtp_server):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_server.server_address[1]
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    return smtp_server


def wait_for_mail(server, count=1, seconds=10.0) -> list[tuple[str, list[str], email.message.Message]]:
    deadline = time.monotonic() + seconds
    while len(server.received) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return list(server.received)
