"""Every portal page and Job Studio in Debian's chromium under Kindling's Content-Security-Policy:
open_chromium fails a test on any violation the pages report, so each page here is proven to work
without inline scripts, inline event handlers or (outside Job Studio) inline styles.

And the path from the login page to a personal API token: account menu, Account Settings, create,
use, revoke."""

import re

import pytest
from playwright.sync_api import expect

from kindling.accounts.models import ApiToken
from kindling.credentials.models import Credential
from kindling.inbox.models import Message
from kindling.jobs.models import Job, Trigger
from kindling.runs.models import Run
from tests.browser.chromium import open_chromium
from tests.browser.test_portal import log_in
from tests.browser.test_sections import health, seed_history  # noqa: F401 - the fixture
from tests.browser.test_studio import set_expression, wait_for_editor

WIDE = {"width": 1280, "height": 900}


def portal_pages(project) -> list[str]:
    """Every page a logged-in user opens with GET, with the rows the `health` project has."""
    p = f"/projects/{project.slug}"
    job = Job.objects.get(name="send-to-dhis2")
    credential = Credential.objects.get(name="dhis2-prod")
    message = Message.objects.filter(project=project).first()
    run = Run.objects.filter(project=project, status=Run.Status.FAILED).first()
    pages = ["/", "/account", "/credentials", "/credentials/new", f"/credentials/{credential.pk}"]
    pages += [f"{p}/jobs", f"{p}/jobs?archived=1", f"{p}/jobs/{job.pk}"]
    pages += [f"{p}/triggers", f"{p}/triggers/new"]
    pages += [f"{p}/triggers/{trigger.pk}" for trigger in Trigger.objects.filter(project=project)]
    pages += [f"{p}/credentials", f"{p}/my-credentials", f"{p}/credentials/new"]
    pages += [f"{p}/credentials/new?type=raw", f"{p}/credentials/{credential.pk}"]
    pages += [f"{p}/activity", f"{p}/activity?status=failed&period=custom", f"{p}/runs/{run.pk}"]
    pages += [f"{p}/inbox", f"{p}/inbox/new", f"{p}/inbox/{message.pk}", f"{p}/inbox/{message.pk}/edit"]
    return pages


@pytest.mark.browser
def test_every_portal_page_works_under_the_content_security_policy(health, live_server):  # noqa: F811
    project = health
    seed_history(project)

    with open_chromium() as browser:
        page = browser.new_page(viewport=WIDE)
        for anonymous in ("/login", "/password/recover", "/password/reset"):
            response = page.goto(live_server.url + anonymous)
            assert response.status == 200, anonymous
            assert "script-src 'self'" in response.headers["content-security-policy"]
        log_in(page, live_server.url, "alice@example.com")

        for path in portal_pages(project):
            response = page.goto(live_server.url + path)
            assert response.status == 200, path
            expect(page.locator("h1").first).to_be_visible()

        # What scripts do on these pages: Bootstrap's menus and dialogs, htmx's search, the kind switch.
        page.goto(f"{live_server.url}/projects/{project.slug}/credentials")
        page.get_by_role("button", name="New credential").click()
        expect(page.locator("#new-credential")).to_be_visible()
        page.get_by_role("button", name="Cancel").click()
        expect(page.locator("#new-credential")).to_be_hidden()
        page.get_by_role("button", name="Account menu").click()
        expect(page.get_by_role("link", name="Account Settings")).to_be_visible()
        page.goto(f"{live_server.url}/projects/{project.slug}/jobs")
        with page.expect_response(re.compile(r"/jobs\?")):
            page.get_by_placeholder("Search jobs").press_sequentially("sync", delay=30)
        expect(page.locator(".kindling-job-card h2")).to_have_text(["nightly-sync"])
        page.goto(f"{live_server.url}/projects/{project.slug}/triggers/new")
        page.get_by_label("Type").select_option("cron")
        expect(page.get_by_label("Cron expression")).to_be_visible()

        # A phone-width page opens the project menu as an offcanvas.
        phone = browser.new_page(viewport={"width": 390, "height": 844})
        log_in(phone, live_server.url, "alice@example.com")
        phone.goto(f"{live_server.url}/projects/{project.slug}/activity")
        phone.get_by_role("button", name="Open the project menu").click()
        expect(phone.get_by_role("link", name="Inbox", exact=True)).to_be_visible()


@pytest.mark.browser
def test_job_studio_edits_and_compiles_under_the_content_security_policy(health, live_server):  # noqa: F811
    project = health
    job = Job.objects.get(name="nightly-sync")

    with open_chromium() as browser:
        page = browser.new_page(viewport=WIDE)
        log_in(page, live_server.url, "alice@example.com")
        response = page.goto(f"{live_server.url}/projects/{project.slug}/jobs/{job.pk}/edit")
        policy = response.headers["content-security-policy"]
        assert "script-src 'self';" in policy and "style-src 'self' 'unsafe-inline';" in policy
        wait_for_editor(page)

        # The compiler flags a syntax error, and a fixed expression saves.
        set_expression(page, "let = 1;")
        expect(page.locator("#studio-check")).to_contain_text(re.compile(r"Line \d+, column \d+"))
        set_expression(page, "fn(state => ({ ...state, ok: true }));")
        expect(page.locator("#studio-check")).to_contain_text("No syntax errors")
        page.get_by_role("button", name="Save", exact=True).click()
        page.get_by_role("link", name="Done").click()  # Save keeps the user in Job Studio
        expect(page.get_by_role("heading", name="nightly-sync", exact=True)).to_be_visible()
        job.refresh_from_db()
        assert job.expression == "fn(state => ({ ...state, ok: true }));"

        page.goto(f"{live_server.url}/projects/{project.slug}/jobs/new")
        expect(page.get_by_label("Name")).to_be_visible()


@pytest.mark.browser
def test_an_api_token_is_made_from_the_account_menu_used_and_revoked(health, live_server):  # noqa: F811
    with open_chromium() as browser:
        page = browser.new_page(viewport=WIDE)
        log_in(page, live_server.url, "alice@example.com")
        page.get_by_role("button", name="Account menu").click()
        page.get_by_role("link", name="Account Settings").click()
        expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
        expect(page.locator("#no-tokens")).to_be_visible()

        page.get_by_label("Token name").fill("nightly sync")
        page.get_by_label("Expires").select_option(label="30 days")
        page.get_by_role("button", name="Create token").click()
        secret = page.get_by_label("The new API token").input_value()
        assert secret.startswith("kdl_")
        expect(page.locator("#new-token")).to_contain_text("shown only this once")

        bearer = {"Authorization": f"Bearer {secret}"}
        api = page.request.get(f"{live_server.url}/api/v1/projects", headers=bearer)
        assert api.status == 200 and api.json()["count"] == 1

        page.get_by_role("button", name="Account menu").click()
        page.get_by_role("link", name="Account Settings").click()
        row = page.locator("#token-table tbody tr")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("nightly sync")
        expect(row).to_contain_text(secret[:12])
        expect(page.locator("body")).not_to_contain_text(secret)
        page.get_by_role("button", name="Revoke the token nightly sync").click()
        expect(page.locator(".kindling-flash")).to_contain_text("Revoked the API token nightly sync")
        assert not ApiToken.objects.exists()
        api = page.request.get(f"{live_server.url}/api/v1/projects", headers=bearer)
        assert api.status == 401
