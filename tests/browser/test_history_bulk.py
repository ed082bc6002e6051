"""Search Console, bulk reprocess and CSV export in Debian's chromium, walked from the login page."""

import re
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from kindling.exports import build as exports
from kindling.projects.models import Membership
from kindling.runs.models import Run
from tests.browser.chromium import open_chromium
from tests.browser.test_portal import log_in
from tests.conftest import make_job, make_project, make_trigger, make_user, post_message
from tests.domain.test_mail import smtp_server  # noqa: F401
from tests.portal.conftest import make_run

WIDE = {"width": 1280, "height": 900}


@pytest.fixture
def support(transactional_db, settings, live_server, smtp_server, tmp_path):  # noqa: F811
    settings.BASE_URL = live_server.url
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_server.server_address[1]
    settings.DATA_DIR = tmp_path
    alice = make_user("alice@example.com")
    bob = make_user("bob@example.com")
    make_user("charlie@example.com")
    project = make_project(alice)
    Membership.objects.create(project=project, user=bob, role=Membership.Role.COLLABORATOR)
    forms = make_trigger(project, "registrations", criteria={"form": "v7"})
    send = make_job(project, "send-to-dhis2", forms, enabled=False)
    earlier = timezone.now() - timedelta(hours=1)
    for n, status in enumerate(["failed", "failed", "success"]):
        message, _ = post_message(project, {"form": "v7", "patient": f"79812{n}", "city": "Zürich"})
        make_run(
            send,
            message=message,
            status=status,
            exit_code=0 if status == "success" else 1,
            created_at=earlier,
            logs=[("R/T", "error" if n < 2 else "info", f"patient 79812{n}: ECONNREFUSED")],
        )
    send.enabled = True
    send.save()
    return project, smtp_server


def menu(page, entry):
    return page.get_by_role("navigation", name="Project menu").get_by_role("link", name=entry, exact=True)


def wait_for_mail(smtp, count, seconds=10.0):
    deadline = time.monotonic() + seconds
    while len(smtp.received) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(smtp.received) >= count, "no mail arrived"
    return smtp.received[count - 1]


@pytest.mark.browser
def test_search_console_reprocess_and_export(support, live_server):
    project, smtp = support
    with open_chromium() as browser:
        page = browser.new_page(viewport=WIDE)
        log_in(page, live_server.url, "alice@example.com")
        page.get_by_role("link", name="Health Ministry").click()

        # Search Console: type, press Enter, see each kind with its excerpt, follow a result.
        menu(page, "Search Console").click()
        page.get_by_label("Search for").fill("798121")
        page.get_by_label("Search for").press("Enter")
        bodies = page.get_by_role("region", name=re.compile("Message bodies"))
        expect(bodies.locator("mark")).to_have_text("798121")
        expect(page.get_by_role("region", name=re.compile("Run logs")).get_by_role("listitem")).to_have_count(
            1
        )
        bodies.get_by_role("link").click()
        expect(page).to_have_url(re.compile(r"/inbox/\d+$"))

        # Activity: filter the failed runs, reprocess them through the dialog.
        menu(page, "Activity").click()
        page.get_by_label("Status").select_option("failed")
        page.get_by_role("button", name="Filter").click()
        page.get_by_role("button", name="Reprocess").click()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_contain_text("failed runs, in the last 30 days")
        expect(dialog).to_contain_text("2 runs will be queued again")
        dialog.get_by_role("button", name="Reprocess").click()
        expect(page.locator(".kindling-flash")).to_contain_text("2 runs enqueued")
        expect(page.locator(".kindling-queue")).to_contain_text("2 pending")
        page.get_by_label("Status").select_option("pending")
        page.get_by_role("button", name="Filter").click()
        expect(page.locator("table.kindling-runs tbody tr")).to_have_count(2)

        # Inbox: the message that succeeded goes through matching again (the full-text syntax: -word).
        menu(page, "Inbox").click()
        page.get_by_label("Body text").fill("zürich -798120 -798121")
        page.get_by_role("button", name="Filter").click()
        page.get_by_role("button", name="Reprocess").click()
        expect(dialog).to_contain_text("1 message will be matched again")
        dialog.get_by_role("button", name="Reprocess").click()
        expect(page.locator(".kindling-flash")).to_contain_text("1 run enqueued")

        # Export the runs as CSV; the link arrives by email and downloads for alice only.
        menu(page, "Activity").click()
        page.get_by_role("button", name="Export as CSV").click()
        expect(dialog).to_contain_text("runs, in the last 30 days")
        dialog.get_by_role("button", name="Export").click()
        expect(page.locator(".kindling-flash")).to_contain_text(
            "a download link will be emailed to alice@example.com"
        )
        exports.build_pending()  # what the scheduler's process does in the background
        _sender, recipients, mail = wait_for_mail(smtp, 1)
        assert recipients == ["alice@example.com"]
        link = re.search(r"(http://\S+/download)", mail.get_payload()).group(1)
        download = page.request.get(link)
        assert download.status == 200 and download.text().startswith("id,job,trigger,cause,status")
        assert download.text().count("\n") == 1 + Run.objects.filter(project=project).count()

        for other in ("bob@example.com", "charlie@example.com"):
            context = browser.new_context()
            other_page = context.new_page()
            log_in(other_page, live_server.url, other)
            assert other_page.request.get(link).status == 404
            context.close()
