"""Data retention in Debian's chromium: an administrator goes from Project Settings to Data retention,
keeps data 30 days, is told what that means, and comes back to forever; a collaborator sees the
setting but no way to change it."""

import pytest
from playwright.sync_api import expect

from kindling.ops.retention import days_of
from kindling.projects.models import Membership
from tests.browser.chromium import open_chromium
from tests.browser.test_portal import log_in
from tests.conftest import make_project, make_user

WIDE = {"width": 1280, "height": 900}


@pytest.fixture
def people(transactional_db, settings, live_server):
    settings.BASE_URL = live_server.url
    alice = make_user("alice@example.com", name="Alice")
    bob = make_user("bob@example.com", name="Bob")
    project = make_project(alice, name="Clinic Forms")
    Membership.objects.create(project=project, user=bob, role=Membership.Role.COLLABORATOR)
    return project


@pytest.mark.browser
def test_an_administrator_sets_data_retention_from_project_settings(people, live_server):
    project = people
    with open_chromium() as browser:
        page = browser.new_page(viewport=WIDE)
        log_in(page, live_server.url, "alice@example.com")
        page.goto(f"{live_server.url}/projects/{project.slug}/settings")
        expect(page.locator("#retention-summary")).to_contain_text("kept forever")
        page.get_by_role("link", name="Change data retention").click()

        expect(page.get_by_role("heading", name="Data retention")).to_be_visible()
        expect(page.get_by_label("Forever")).to_be_checked()
        page.get_by_label("For a number of days:").check()
        page.get_by_label("Days to keep messages and runs").fill("0")
        page.get_by_role("button", name="Save retention").click()
        expect(page.locator("#retention-error")).to_contain_text("0 is out of range")
        assert days_of(project) is None

        page.get_by_label("Days to keep messages and runs").fill("30")
        page.get_by_role("button", name="Save retention").click()
        expect(page.get_by_text("Messages and runs older than 30 days will be deleted.")).to_be_visible()
        expect(page.get_by_label("For a number of days:")).to_be_checked()
        assert days_of(project) == 30

        page.get_by_role("link", name="Project Settings").first.click()
        expect(page.locator("#retention-summary")).to_contain_text("for 30 days, then deleted")

        page.get_by_role("link", name="Change data retention").click()
        page.get_by_label("Forever").check()
        page.get_by_role("button", name="Save retention").click()
        expect(page.get_by_text("Messages and runs are kept forever.")).to_be_visible()
        assert days_of(project) is None


@pytest.mark.browser
def test_a_collaborator_reads_the_retention_but_cannot_change_it(people, live_server):
    project = people
    with open_chromium() as browser:
        page = browser.new_page(viewport=WIDE)
        log_in(page, live_server.url, "bob@example.com")
        page.goto(f"{live_server.url}/projects/{project.slug}/settings")
        expect(page.locator("#retention-summary")).to_contain_text("kept forever")
        expect(page.get_by_role("link", name="Change data retention")).to_have_count(0)
        response = page.goto(f"{live_server.url}/projects/{project.slug}/settings/retention")
        assert response.status == 403
        expect(page.get_by_text("does not allow: edit settings")).to_be_visible()
