"""Credentials in Debian's chromium: an http credential made from its generated form, shared with a
project, used by a job that calls a local HTTP server with basic auth, and the run succeeds."""

import base64

import pytest
from django.conf import settings
from playwright.sync_api import expect

from kindling import engine
from kindling.credentials.models import Credential
from kindling.jobs.models import Job
from kindling.runs import queue
from kindling.runs.models import Run
from kindling.runs.worker import process_one
from tests.browser.chromium import open_chromium
from tests.browser.test_portal import log_in
from tests.browser.test_studio import set_expression, wait_for_editor
from tests.conftest import jobs_may_reach, make_project, make_user
from tests.localhttp import JsonHandler, local_server

HTTP = "@openfn/language-http@7.2.10"
USERNAME = "integration@example.org"
PASSWORD = "Tr0ub4dor & 3 / é"


class _BasicAuthPatients(JsonHandler):
    expected = "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
    seen: list[str | None] = []

    def do_GET(self):  # noqa: N802 - http.server's name
        self.seen.append(self.headers.get("Authorization"))
        if self.headers.get("Authorization") != self.expected:
            self.send_json(401, {"error": "who are you?"})
        elif self.path == "/patients/1":
            self.send_json(200, {"id": 1, "name": "Ada Lovelace"})
        else:
            self.send_json(404, {"error": "no such patient"})


@pytest.fixture
def patients_server():
    _BasicAuthPatients.seen = []
    with local_server(_BasicAuthPatients) as server, jobs_may_reach(server.server_address[1]):
        yield f"http://127.0.0.1:{server.server_address[1]}"


@pytest.mark.browser
def test_an_http_credential_made_in_its_form_shared_and_used_by_a_job(
    live_server, transactional_db, patients_server
):
    # The http adaptor's configuration-schema.json is what the credential form is generated from.
    engine.ensure_adaptor(HTTP, settings.ADAPTOR_REPO_DIR)
    alice = make_user("alice@example.com")
    project = make_project(alice)
    make_project(alice, name="Other Ministry")

    with open_chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        log_in(page, live_server.url, "alice@example.com")

        page.get_by_role("button", name="Account menu").click()
        page.get_by_role("link", name="Account Settings").click()
        expect(page.locator("#account-user-number")).to_have_text(str(alice.user_number))
        page.get_by_role("link", name="My Credentials").click()

        # The blue + asks for the type first; the form is the http adaptor's schema.
        page.get_by_role("button", name="New credential").click()
        page.get_by_label("Type of credential").select_option("@openfn/language-http")
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("heading", name="New http credential")).to_be_visible()
        expect(page.get_by_label("Password", exact=True)).to_have_attribute("type", "password")
        expect(page.get_by_label("Base URL", exact=True)).to_have_attribute("type", "url")
        expect(page.get_by_label("Username", exact=True)).to_have_attribute("placeholder", "test@openfn.org")
        page.get_by_label("Name", exact=True).fill("patients-api")
        page.get_by_label("Username", exact=True).fill(USERNAME)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Base URL", exact=True).fill(patients_server)
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("heading", name="patients-api")).to_be_visible()
        expect(page.get_by_label("Password", exact=True)).to_have_value("******")

        # Created outside a project it is shared with none: Manage Access shares it.
        page.get_by_label("Health Ministry").check()
        page.get_by_role("button", name="Save access").click()
        expect(page.get_by_text("patients-api is now shared with Health Ministry.")).to_be_visible()
        expect(page.get_by_label("Health Ministry")).to_be_checked()
        expect(page.get_by_label("Other Ministry")).not_to_be_checked()

        page.goto(f"{live_server.url}/projects/{project.slug}/credentials")
        card = page.locator(".kindling-credential", has_text="patients-api")
        expect(card).to_contain_text("Username, Password, Base URL")

        page.goto(f"{live_server.url}/projects/{project.slug}/jobs/new")
        wait_for_editor(page)
        page.get_by_label("Name", exact=True).fill("fetch-patient")
        page.get_by_role("button", name="Next").click()
        page.get_by_role("button", name="Next").click()
        page.get_by_label("Adaptor", exact=True).fill("@openfn/language-http")
        page.get_by_label("Version", exact=True).fill("7.2.10")
        page.get_by_role("button", name="Next").click()
        page.get_by_label("Credential", exact=True).select_option(label="patients-api")
        page.get_by_role("button", name="Next").click()
        set_expression(page, "get('/patients/1');")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator("#studio-saved")).to_contain_text("Saved at")
        page.get_by_role("link", name="Done").click()
        expect(page.get_by_role("heading", name="fetch-patient", exact=True)).to_be_visible()

        job = Job.objects.get(name="fetch-patient")
        assert job.credential == Credential.objects.get(name="patients-api")
        queue.enqueue(job, Run.Cause.MANUAL, {})
        run = process_one()
        assert run is not None

        page.goto(f"{live_server.url}/projects/{project.slug}/runs/{run.pk}")
        expect(page.get_by_role("heading", name=f"Run {run.pk}")).to_be_visible()
        expect(page.locator(".kindling-exit-code")).to_have_text("0")
        expect(page.locator("#final-state")).to_contain_text("Ada Lovelace")
        log = " ".join(page.locator(".kindling-log-message").all_inner_texts())
        assert "GET" in log and PASSWORD not in log and USERNAME not in log

    assert _BasicAuthPatients.seen == [_BasicAuthPatients.expected]
