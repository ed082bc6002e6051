import email
import json
import time

import pytest

from kindling.plans.models import Plan
from tests.api.conftest import call  # noqa: F401  (the API client fixture)
from tests.domain import test_mail

# A local SMTP server that keeps what it is sent (the fixture of the mail tests).
smtp_server = test_mail.smtp_server


@pytest.fixture
def free(db):
    """The default Free plan (the data migration's; a transactional test's flush removes it)."""
    return Plan.objects.update_or_create(
        name="Free",
        defaults={"runs_per_month": 100, "max_concurrency": 1, "run_timeout": 100, "is_default": True},
    )[0]


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


@pytest.fixture
def stripe_standin(settings):
    from tests.plans.stripe_standin import StripeStandIn

    server = StripeStandIn().start()
    settings.BILLING_PROVIDER = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_standin"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_standin"
    settings.STRIPE_API_BASE = server.url
    settings.STRIPE_JS_URL = server.url + "/v3/"
    yield server
    server.stop()


def confirm_card(server, client_secret: str, number: str) -> dict:
    """What Stripe.js does in the browser: send the card to the provider, which confirms the setup."""
    import urllib.error
    import urllib.request
    from urllib.parse import urlencode

    intent_id = client_secret.split("_secret_")[0]
    data = urlencode({"client_secret": client_secret, "number": number}).encode()
    try:
        with urllib.request.urlopen(f"{server.url}/v1/setup_intents/{intent_id}/confirm", data) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read())
