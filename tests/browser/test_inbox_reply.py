"""The synchronous inbox reply settings in Debian's chromium, against `kindling serve` (a real worker
and the real Node engine): a trigger set to reply after its runs makes the inbox answer 200 with the
run's data, a job set to statuses only leaves its data out, and switching the trigger back brings the
202 back."""

import json
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from kindling.jobs.models import Trigger
from tests.browser.chromium import open_chromium
from tests.browser.test_portal import log_in
from tests.browser.test_studio_run import read_db, serving
from tests.conftest import make_job, make_project, make_trigger, make_user
from tests.queue.conftest import shared_db  # noqa: F401 - the fixture: this test's database, seen by `serve`

ROOT = Path(__file__).resolve().parents[2]
DOUBLE = "fn(state => ({ ...state, data: { doubled: state.data.n * 2 } }));"


@pytest.fixture
def serve(shared_db):  # noqa: F811 - the imported fixture
    with serving(shared_db) as address:
        yield address


def post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=90) as response:
        return response.status, json.loads(response.read())


@pytest.mark.browser
def test_a_trigger_set_to_reply_after_completion_answers_with_the_runs_data_until_switched_back(
    settings, serve
):
    # `serve` checks passwords with Django's default hashers, not the tests' fast one.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    alice = make_user("alice@example.com")
    project = make_project(alice)
    trigger = make_trigger(project, "registrations", criteria={"form": "registration"})
    job = make_job(project, "double", trigger, expression=DOUBLE)
    inbox = f"{serve}/inbox/{project.inbox_uuid}"
    message = {"form": "registration", "n": 21}

    status, body = post(inbox, message)
    assert status == 202, body  # v1's answer until someone asks for more

    with open_chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        log_in(page, serve, "alice@example.com")

        page.goto(f"{serve}/projects/{project.slug}/triggers/{trigger.pk}")
        page.get_by_label("Inbox reply").select_option("after_completion")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.get_by_label("Inbox reply")).to_have_value("after_completion")
        assert read_db(lambda: Trigger.objects.get(pk=trigger.pk).reply) == "after_completion"

        status, body = post(inbox, message)
        assert status == 200, body
        assert body["data"][0]["status"] == "success"
        assert body["data"][0]["data"] == {"doubled": 42}

        # Job Studio: the job's replies give its status and exit code only.
        page.goto(f"{serve}/projects/{project.slug}/jobs/{job.pk}/edit")
        expect(page.locator("#studio")).to_have_attribute("data-editor", "ready", timeout=30_000)
        page.locator("#step-credential-button").click()
        page.get_by_label("Synchronous inbox replies give").select_option("status")
        page.locator("#studio-save").click()
        expect(page.locator("#studio-saved")).not_to_be_empty()

        status, body = post(inbox, message)
        assert status == 200, body
        assert body["data"][0]["status"] == "success" and body["data"][0]["exit_code"] == 0
        assert "data" not in body["data"][0]

        # Back to v1's answer.
        page.goto(f"{serve}/projects/{project.slug}/triggers/{trigger.pk}")
        page.get_by_label("Inbox reply").select_option("accepted")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.get_by_label("Inbox reply")).to_have_value("accepted")

    status, body = post(inbox, message)
    assert status == 202, body
    assert "runs" not in body
