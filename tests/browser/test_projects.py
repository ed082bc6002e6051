"""Projects and the account menu in Debian's chromium, walked from the login page: create a project,
rename it (old links redirect), change its concurrency and see it take effect, and a session ending in
two tabs at once."""

import re
from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone
from playwright.sync_api import expect

from kindling.accounts import sessions
from kindling.projects.models import Project
from kindling.runs import queue
from kindling.runs.models import Run
from tests.browser.chromium import open_chromium
from tests.browser.test_portal import log_in
from tests.conftest import PASSWORD, make_job, make_project, make_trigger, make_user, post_message

WIDE = {"width": 1280, "height": 900}


def menu(page, entry: str):
    return page.get_by_role("navigation", name="Project menu").get_by_role("link", name=entry, exact=True)


@pytest.fixture
def alice(transactional_db, settings, live_server):
    settings.BASE_URL = live_server.url
    return make_user("alice@example.com", name="Alice")


@pytest.mark.browser
def test_a_new_user_creates_a_project_from_the_project_list(alice, live_server):
    with open_chromium() as browser:
        page = browser.new_page(viewport=WIDE)
        log_in(page, live_server.url, "alice@example.com")
        page.get_by_role("link", name="New project").click()
        page.get_by_label("Name", exact=True).fill("Clinic Forms")
        page.get_by_label("Description").fill("ODK submissions from the clinics")
        page.get_by_role("button", name="Create project").click()

        project = Project.objects.get(name="Clinic Forms")
        expect(page.get_by_role("heading", name="Clinic Forms", exact=True)).to_be_visible()
        expect(page).to_have_url(f"{live_server.url}/projects/clinic-forms/")
        expect(page.get_by_label("Inbox URL", exact=True)).to_have_value(project.inbox_url)
        expect(page.locator("#summary-jobs")).to_have_text("0")
        assert project.memberships.get().user == alice and project.memberships.get().role == "owner"

        # The inbox works at once, and the dashboard counts what arrived.
        response = page.request.post(project.inbox_url, data={"hello": "world"})
        assert response.status == 202
        page.reload()
        expect(page.locator("#summary-messages")).to_have_text("1")


@pytest.mark.browser
def test_renaming_a_project_changes_its_address_and_old_links_redirect(alice, live_server):
    project = make_project(alice)
    inbox_url = project.inbox_url

    with open_chromium() as browser:
        page = browser.new_page(viewport=WIDE)
        log_in(page, live_server.url, "alice@example.com")
        page.get_by_role("link", name="Health Ministry").click()
        menu(page, "Project Settings").click()
        expect(page.get_by_role("heading", name="Project Configuration")).to_be_visible()

        # The inbox URL hides behind the eye.
        field = page.locator("#settings-inbox-url")
        expect(field).to_have_attribute("type", "password")
        page.get_by_role("button", name="Show the inbox URL").click()
        expect(field).to_have_attribute("type", "text")
        expect(field).to_have_value(inbox_url)

        page.get_by_label("Name", exact=True).fill("Ministry of Health")
        page.get_by_role("button", name="Update Project").click()
        expect(page).to_have_url(f"{live_server.url}/projects/ministry-of-health/settings")
        expect(page.get_by_role("status").filter(has_text="old links redirect for 60 days")).to_be_visible()

        page.goto(f"{live_server.url}/projects/health-ministry/inbox")
        expect(page).to_have_url(f"{live_server.url}/projects/ministry-of-health/inbox")
        expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    assert Project.objects.get(pk=project.pk).inbox_url == inbox_url


@pytest.mark.browser
def test_a_higher_concurrency_lets_the_next_claim_run_two_at_once(alice, live_server):
    project = make_project(alice)
    make_job(project, trigger=make_trigger(project))
    post_message(project, {"n": 1})
    post_message(project, {"n": 2})
    first = queue.claim("browser-test", lease_seconds=60)
    assert first is not None and queue.claim("browser-test", lease_seconds=60) is None

    with open_chromium() as browser:
        page = browser.new_page(viewport=WIDE)
        log_in(page, live_server.url, "alice@example.com")
        page.get_by_role("link", name="Health Ministry").click()
        expect(page.locator("#summary-running")).to_have_text("1")
        expect(page.locator("#summary-pending")).to_have_text("1")
        menu(page, "Project Settings").click()
        slider = page.get_by_label(re.compile("^Concurrency"))
        expect(slider).to_have_value("1")
        slider.focus()
        page.keyboard.press("ArrowRight")
        expect(page.locator('[data-range-output="id_concurrency"]')).to_have_text("2")
        page.get_by_role("button", name="Update Project").click()
        expect(page.get_by_text("Project updated.")).to_be_visible()

        second = queue.claim("browser-test", lease_seconds=60)
        assert second is not None and second.pk != first.pk

        page.get_by_role("link", name="Health Ministry").click()  # the app bar's project name
        expect(page.locator("#summary-running")).to_have_text("2")
        expect(page.locator("#summary-pending")).to_have_text("0")
    assert Run.objects.filter(status=Run.Status.RUNNING).count() == 2


def age_every_session(hours: int) -> None:
    for row in Session.objects.all():
        store = SessionStore(session_key=row.session_key)
        if sessions.LOGIN_AT in store:
            store[sessions.LOGIN_AT] = (timezone.now() - timedelta(hours=hours)).isoformat()
            store.save()


@pytest.mark.browser
def test_when_the_session_ends_every_tab_shows_the_login_page_and_typed_input_survives(
    alice, live_server, settings
):
    settings.SESSION_CHECK_SECONDS = 1
    project = make_project(alice)

    with open_chromium() as browser:
        context = browser.new_context(viewport=WIDE)
        first = context.new_page()
        log_in(first, live_server.url, "alice@example.com")
        first.get_by_role("link", name="Health Ministry").click()
        second = context.new_page()
        second.goto(f"{live_server.url}/")
        second.get_by_role("button", name="Account menu").click()
        second.get_by_role("link", name="Account Settings").click()
        second.get_by_label("Name", exact=True).fill("Alice Typed This")  # typed, not saved

        age_every_session(hours=24)

        for page in (first, second):
            expect(page.get_by_role("button", name="Log in")).to_be_visible(timeout=10_000)
        expect(first).to_have_url(re.compile(r"/login\?next=%2Fprojects%2Fhealth-ministry%2F$"))
        # The note is a one-time message of the session: the tab that reaches the login page first shows it.
        note = "Your session ended 24 hours after you logged in"
        assert first.get_by_text(note).count() + second.get_by_text(note).count() == 1

        second.get_by_label("Email", exact=True).fill("alice@example.com")
        second.get_by_label("Password", exact=True).fill(PASSWORD)
        second.get_by_role("button", name="Log in").click()
        expect(second.get_by_role("heading", name="Account Settings")).to_be_visible()
        expect(second.get_by_label("Name", exact=True)).to_have_value("Alice Typed This")
        expect(second.get_by_text("What you typed is filled in again")).to_be_visible()
        context.close()
    assert project.memberships.count() == 1
