"""Access & Security in Debian's chromium: inviting a collaborator by email (a local SMTP server
receives the invitation), their joining, revoking them; rotating inbox API keys while a sender keeps
posting; the audit page and its filters."""

import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from kindling.projects.models import Membership
from tests.access.conftest import link_in
from tests.browser.chromium import open_chromium
from tests.browser.test_portal import log_in
from tests.conftest import PASSWORD, make_project, make_user
from tests.domain.test_mail import smtp_server  # noqa: F401 - a local SMTP server on 127.0.0.1
from tests.e2e.conftest import EXAMPLE
from tests.e2e.test_serve import env, fresh_database_url, get_json, kindling, wait_for_port  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]


def open_access_page(page, base_url):
    log_in(page, base_url, "alice@example.com")
    page.get_by_role("link", name="Health Ministry").click()
    page.get_by_role("navigation", name="Project menu").get_by_role("link", name="Access & Security").click()
    expect(page.get_by_role("heading", name="Access & Security")).to_be_visible()


@pytest.mark.browser
def test_inviting_a_collaborator_by_email_who_joins_then_revoking_them(
    live_server,
    transactional_db,
    settings,
    smtp_server,  # noqa: F811
):
    settings.BASE_URL = live_server.url
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = smtp_server.server_address
    alice = make_user("alice@example.com")
    project = make_project(alice)

    with open_chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        open_access_page(page, live_server.url)
        page.get_by_label("Add collaborator by email").fill("dora@example.org")
        page.get_by_label("Role", exact=True).select_option(label="add as collaborator")
        page.get_by_role("button", name="Add", exact=True).click()
        expect(page.locator(".kindling-flash").first).to_contain_text(
            "Invited dora@example.org as collaborator"
        )
        expect(page.locator("#member-list, .kindling-members")).to_contain_text("invited")

        [(_sender, recipients, message)] = smtp_server.received
        assert recipients == ["dora@example.org"]
        dora = browser.new_context().new_page()
        dora.goto(link_in(message))
        expect(dora.get_by_role("heading", name="Join Kindling")).to_be_visible()
        dora.get_by_label("New password", exact=True).fill("dora's long password")
        dora.get_by_label("New password confirmation").fill("dora's long password")
        dora.get_by_role("button", name="Set password and join").click()
        expect(dora.get_by_role("link", name="Health Ministry")).to_be_visible()

        page.reload()
        expect(page.locator(".kindling-members")).not_to_contain_text("invited")
        page.get_by_role("button", name="Revoke dora@example.org").click()
        page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
        expect(page.locator(".kindling-flash").first).to_contain_text("Access revoked.")
        expect(page.locator(".kindling-members")).not_to_contain_text("dora@example.org")
        assert not Membership.objects.filter(project=project, user__email="dora@example.org").exists()

        dora.reload()
        expect(dora.get_by_role("link", name="Health Ministry")).to_have_count(0)


class Sender(threading.Thread):
    """An external system posting to the inbox back to back with the key it was last given."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url, self.key = url, None
        self.statuses: list[tuple[str, int]] = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            key = self.key
            request = urllib.request.Request(
                self.url,
                data=json.dumps({"n": len(self.statuses)}).encode(),
                method="POST",
                headers={"Content-Type": "application/json", "x-api-key": key},
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    status = response.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            self.statuses.append((key, status))

    def sent_with(self, key: str, at_least: int) -> None:
        """Wait (in short polls) until `at_least` requests went out with `key`."""
        waited = threading.Event()
        for _ in range(600):
            if sum(k == key for k, _ in self.statuses) >= at_least:
                return
            waited.wait(0.05)
        raise AssertionError(f"the sender sent fewer than {at_least} requests with its key")


def add_api_key(page, name: str) -> str:
    page.get_by_label("Type").select_option(label="API key")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_role("button", name="Add method").click()
    return page.locator(".kindling-new-secret").inner_text().strip()


@pytest.mark.browser
def test_rotating_inbox_keys_while_a_sender_keeps_posting_loses_no_request(env):  # noqa: F811
    # A real `kindling serve` (its ASGI inbox, a SQLite file or a PostgreSQL database of its own): the
    # sender and the administrator's clicks meet as they would in production.
    kindling(env, "migrate", "--noinput", "-v", "0")
    kindling(env, "user", "create", "--email", "alice@example.com", "--password", PASSWORD)
    imported = json.loads(
        kindling(
            env,
            "project",
            "import",
            str(EXAMPLE),
            "--name",
            "Health Ministry",
            "--owner",
            "alice@example.com",
        )
    )
    token = kindling(env, "token", "create", "--email", "alice@example.com").strip()
    base = f"http://127.0.0.1:{env['PORT']}"
    server = subprocess.Popen(
        [sys.executable, "-m", "kindling.cli", "serve", "--workers", "0", "--no-scheduler"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    sender = Sender(imported["inbox_url"])
    try:
        wait_for_port(int(env["PORT"]), server)
        with open_chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            open_access_page(page, base)
            old_key = add_api_key(page, "survey 2025")
            sender.key = old_key
            sender.start()
            sender.sent_with(old_key, 5)

            new_key = add_api_key(page, "survey 2026")
            assert new_key != old_key
            sender.sent_with(old_key, 10)
            sender.key = new_key  # the external system is given the new key
            sender.sent_with(new_key, 5)

            page.get_by_role("button", name="Revoke survey 2025").click()
            page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
            expect(page.locator(".kindling-auth-methods")).not_to_contain_text("survey 2025")
            sender.sent_with(new_key, 20)
            sender.stop.set()
            sender.join(timeout=10)

            assert {status for _key, status in sender.statuses} == {202}, sender.statuses
            messages = get_json(f"{base}/api/v1/projects/{imported['project']}/messages?limit=1", token)
            assert messages["count"] == len(sender.statuses)
            refused = page.request.post(imported["inbox_url"], data={"n": 0}, headers={"x-api-key": old_key})
            assert refused.status == 404
            page.reload()
            expect(page.locator(".kindling-auth-methods")).to_contain_text("survey 2026")
            expect(page.locator(".kindling-auth-methods")).not_to_contain_text("last used never")
    finally:
        sender.stop.set()
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.browser
def test_the_audit_page_lists_and_filters_what_administrators_did(live_server, transactional_db, settings):
    settings.BASE_URL = live_server.url
    alice = make_user("alice@example.com")
    make_user("bob@example.com")
    make_project(alice)

    with open_chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        open_access_page(page, live_server.url)
        page.get_by_label("Add collaborator by email").fill("bob@example.com")
        page.get_by_role("button", name="Add", exact=True).click()
        add_api_key(page, "survey tool")
        page.get_by_label("Grant support access").check()
        page.get_by_role("button", name="Save support access").click()

        page.get_by_role("link", name="Audit log").click()
        expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
        table = page.locator(".kindling-audit tbody")
        expect(table.locator("tr")).to_have_count(3)
        expect(table.locator("tr").nth(0)).to_contain_text("Support access granted")
        expect(table.locator("tr").nth(1)).to_contain_text("survey tool")
        expect(table.locator("tr").nth(2)).to_contain_text("bob@example.com")
        assert "kik_" not in table.inner_text()

        page.get_by_label("What").select_option(label="User added")
        page.get_by_role("button", name="Filter").click()
        expect(table.locator("tr")).to_have_count(1)
        expect(table).to_contain_text("bob@example.com")
        page.get_by_label("Who (email)").fill("nobody@")
        page.get_by_role("button", name="Filter").click()
        expect(table).to_contain_text("No event matches these filters")
