"""Retries and failure alerts in Debian's chromium: Job Studio's Retries section, a retried run on
Activity and its page, Project Settings' failure alerts and the opt-in on Account Settings."""

import pytest
from playwright.sync_api import expect

from kindling.accounts import preferences
from kindling.jobs.models import Job
from kindling.projects.models import Membership
from kindling.runs import queue
from kindling.runs.models import Run
from tests.browser.chromium import open_chromium
from tests.browser.test_portal import log_in
from tests.browser.test_studio import WIDE, wait_for_editor
from tests.conftest import make_job, make_project, make_trigger, make_user


@pytest.fixture
def project(transactional_db, settings, live_server):
    settings.BASE_URL = live_server.url
    alice = make_user("alice@example.com", name="Alice")
    bob = make_user("bob@example.com", name="Bob")
    project = make_project(alice)
    Membership.objects.create(project=project, user=bob, role=Membership.Role.COLLABORATOR)
    return project


@pytest.mark.browser
def test_retries_are_set_in_job_studio_and_a_bad_value_is_shown_on_its_field(project, live_server):
    job = make_job(project, "send-to-dhis2", make_trigger(project, "registrations"))
    with open_chromium() as browser:
        page = browser.new_page(viewport=WIDE)
        log_in(page, live_server.url, "alice@example.com")
        page.goto(f"{live_server.url}/projects/{project.slug}/jobs/{job.pk}/edit")
        wait_for_editor(page)
        section = page.locator("#studio-retries")
        expect(section.locator("summary")).to_contain_text("no retries")
        section.locator("summary").click()
        page.get_by_label("Retries", exact=True).fill("3")
        page.get_by_label("Backoff").select_option("fixed")
        expect(section.locator("summary")).to_contain_text("3 retries, fixed backoff")
        page.get_by_label("First wait (seconds)").fill("600")
        page.get_by_label("Longest wait (seconds)").fill("60")
        page.locator("#studio-save").click()
        expect(page.locator("#studio-error")).to_contain_text("The longest wait (60 s) is shorter")
        expect(page.locator("#id_retry_max_delay.is-invalid")).to_be_visible()
        page.get_by_label("Longest wait (seconds)").fill("600")
        page.locator("#studio-save").click()
        expect(page.locator("#studio-saved")).not_to_be_empty()
    job = Job.objects.get(pk=job.pk)
    assert (job.retry_attempts, job.retry_backoff, job.retry_delay, job.retry_max_delay) == (
        3,
        "fixed",
        600,
        600,
    )


@pytest.mark.browser
def test_a_retried_run_shows_its_attempt_on_activity_and_its_page(project, live_server):
    job = make_job(project, "send-to-dhis2", retry_attempts=3)
    queue.enqueue(job, Run.Cause.MANUAL, {})
    first = queue.claim("w", 60)
    (retry,) = queue.finish(first, 1, None, [])
    with open_chromium() as browser:
        page = browser.new_page(viewport=WIDE)
        log_in(page, live_server.url, "alice@example.com")
        page.goto(f"{live_server.url}/projects/{project.slug}/activity")
        expect(page.locator(f"#run-{retry.pk} .kindling-attempt")).to_have_text("attempt 2 of 4")
        expect(page.locator(f"#run-{first.pk} .kindling-attempt")).to_have_text("attempt 1 of 4")
        page.locator(f"#run-{retry.pk} a").click()
        expect(page.locator("#run-attempt")).to_have_text("attempt 2 of 4")
        expect(page.locator(".kindling-attempts")).to_contain_text("waits until")
        page.locator(".kindling-attempts").get_by_role("link", name="attempt 1").click()
        expect(page.get_by_role("heading", name=f"Run {first.pk}")).to_be_visible()


@pytest.mark.browser
def test_an_administrator_switches_failure_alerts_on_and_a_member_opts_in(project, live_server):
    with open_chromium() as browser:
        page = browser.new_page(viewport=WIDE)
        log_in(page, live_server.url, "alice@example.com")
        page.goto(f"{live_server.url}/projects/{project.slug}/settings")
        page.get_by_label("Failure alerts").select_option(label="1 hour")
        page.get_by_role("button", name="Update Project").click()
        expect(page.get_by_text("Project updated.")).to_be_visible()
        expect(page.get_by_label("Failure alerts")).to_have_value("60")

        page.goto(f"{live_server.url}/account")
        page.get_by_label("Failure alerts").select_option("on")
        page.get_by_role("button", name="Save", exact=True).first.click()
        expect(page.get_by_text("Saved your account settings.")).to_be_visible()

        bob = browser.new_page(viewport=WIDE)
        log_in(bob, live_server.url, "bob@example.com")
        bob.goto(f"{live_server.url}/projects/{project.slug}/settings")
        expect(bob.get_by_label("Failure alerts")).to_be_disabled()
        expect(bob.get_by_label("Failure alerts")).to_have_value("60")
    project.refresh_from_db()
    assert project.failure_alert_minutes == 60
    assert preferences.get(project.members.get(email="alice@example.com"), preferences.FAILURE_ALERTS) == "on"
