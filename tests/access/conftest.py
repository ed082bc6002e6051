import pytest

from tests.api.conftest import call  # noqa: F401 - the API tests' JSON client
from tests.credentials.test_storage import key_dir  # noqa: F401 - a data dir and key file of its own
from tests.domain.test_mail import smtp_server  # noqa: F401 - a local SMTP server on 127.0.0.1


@pytest.fixture
def smtp(smtp_server, settings):  # noqa: F811
    """Kindling's mail goes to the local SMTP server; returns the list of what it received."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = smtp_server.server_address
    return smtp_server.received


def link_in(message) -> str:
    return next(line.strip() for line in message.get_payload().splitlines() if "/join?token=" in line)
