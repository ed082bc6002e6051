"""The portal in Debian's chromium, against a live server and the real Node engine."""

import pytest
from django.core import mail
from playwright.sync_api import expect

from kindling.runs.worker import process_one
from tests.browser.chromium import open_chromium
from tests.conftest import PASSWORD, make_job, make_project, make_trigger, make_user

DOUBLE = "fn(state => { state.data.number = state.data.number * 2; return state; })"
LOG_SOURCES = {"R/T", "JOB", "ADA", "RTE", "VER"}


def log_in(page, base_url, email):
    page.goto(base_url + "/")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()


@pytest.mark.browser
def test_a_message_posted_to_the_inbox_runs_and_its_result_shows(live_server, transactional_db, settings):
    settings.BASE_URL = live_server.url  # the pages show the inbox URL of this server
    alice = make_user("alice@example.com")
    project = make_project(alice)
    trigger = make_trigger(project, criteria={"number": 2})
    make_job(
        project,
        name="double",
        trigger=trigger,
        expression=DOUBLE,
        adaptor="@openfn/language-common",
        adaptor_version="3.3.4",
    )

    with open_chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        log_in(page, live_server.url, "alice@example.com")
        page.get_by_role("link", name="Health Ministry").click()  # the project's dashboard
        inbox_url = page.get_by_label("Inbox URL", exact=True).input_value()
        page.get_by_role("navigation", name="Project menu").get_by_role("link", name="Activity").click()
        expect(page.get_by_role("heading", name="Activity")).to_be_visible()
        response = page.request.post(inbox_url, data={"number": 2})
        assert response.status == 202, response.text()
        assert response.json()["data"] == ["double"]

        # The worker's loop body: it executes the run with the real Node engine.
        run = process_one()
        assert run is not None

        page.reload()
        row = page.locator(f"#run-{run.pk}")
        expect(row.locator(".kindling-status")).to_have_text("success")
        expect(row.locator(".kindling-exit-code")).to_have_text("0")
        row.get_by_role("link", name=f"#{run.pk}").click()
        expect(page.get_by_role("heading", name=f"Run {run.pk}")).to_be_visible()
        expect(page.locator("#final-state")).to_contain_text('"number": 4')
        sources = page.locator(".kindling-log-source").all_inner_texts()
        assert sources, "the run page shows no log lines"
        assert set(sources) <= LOG_SOURCES


@pytest.mark.browser
def test_the_menus_work_at_phone_width_by_keyboard(live_server, transactional_db):
    project = make_project(make_user("alice@example.com"))

    with open_chromium() as browser:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        log_in(page, live_server.url, "alice@example.com")
        page.goto(f"{live_server.url}/projects/{project.slug}/activity")

        inbox_link = page.get_by_role("link", name="Inbox", exact=True)
        expect(inbox_link).to_be_hidden()
        page.get_by_role("button", name="Open the project menu").focus()
        page.keyboard.press("Enter")
        expect(inbox_link).to_be_visible()
        expect(page.get_by_role("link", name="Project Settings")).to_be_visible()
        inbox_link.focus()
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Inbox")).to_be_visible()

        page.get_by_role("button", name="Account menu").focus()
        page.keyboard.press("Enter")
        expect(page.get_by_text("alice@example.com")).to_be_visible()
        page.get_by_role("button", name="Logout").click()
        expect(page.get_by_role("button", name="Log in")).to_be_visible()


@pytest.mark.browser
def test_a_lost_password_is_reset_with_the_emailed_token(live_server, transactional_db, settings):
    settings.BASE_URL = live_server.url
    make_user("alice@example.com")

    with open_chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(live_server.url + "/")
        page.get_by_role("link", name="Lost your password?").click()
        page.get_by_label("Email", exact=True).fill("alice@example.com")
        page.get_by_role("button", name="Recover Password").click()
        expect(page.get_by_role("status")).to_contain_text("a recovery token is on its way")
        expect(page.get_by_role("heading", name="Reset Password")).to_be_visible()

        [message] = mail.outbox
        token = next(line.strip() for line in message.body.splitlines() if line.startswith("    "))
        page.get_by_label("Recovery token").fill(token)
        page.get_by_label("New password", exact=True).fill("a brand new secret")
        page.get_by_label("New password confirmation").fill("a brand new secret")
        page.get_by_role("button", name="Set the new password").click()
        expect(page.get_by_role("status")).to_contain_text("Your password is changed")

        page.get_by_label("Email", exact=True).fill("alice@example.com")
        page.get_by_label("Password", exact=True).fill("a brand new secret")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Projects")).to_be_visible()
