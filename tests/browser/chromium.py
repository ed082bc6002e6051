"""Debian's chromium under Playwright's sync API, for the browser tests."""

import os
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import pytest
from django.db import connections
from playwright.sync_api import sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# Reports each Content-Security-Policy violation of a page (and of the workers it starts, which
# Chromium reports on the console) so that every browser test also proves the policy holds.
WATCH_POLICY = """
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  const what = `${e.effectiveDirective} blocked ${e.blockedURI || "inline"} at ${where}`;
  console.error(`CSP violation: ${what} (${e.sample})`);
});
"""


class PolicyWatchedBrowser:
    """The browser, with every page it opens watched for Content-Security-Policy violations."""

    def __init__(self, browser):
        self._browser = browser
        self.violations: list[str] = []

    def __getattr__(self, name):
        return getattr(self._browser, name)

    def new_context(self, **kw):
        context = self._browser.new_context(**kw)
        context.add_init_script(WATCH_POLICY)
        context.on("page", self._watch)
        return context

    def new_page(self, **kw):
        context = self.new_context(**kw)
        return context.new_page()

    def _watch(self, page):
        def on_console(message):
            text = message.text
            if "Content Security Policy" in text or text.startswith("CSP violation:"):
                self.violations.append(f"{page.url}: {text}")

        page.on("console", on_console)


@contextmanager
def open_chromium():
    # Fail, never skip: a skipped browser test would pass CI without the portal ever being opened.
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium package (`make test` does) "
            "to run the browser tests",
            pytrace=False,
        )
    # Playwright's sync API keeps an asyncio loop marked as running in this thread, so Django would refuse
    # the test's own ORM calls (process_one, checks). That loop never runs while our code does: the calls
    # are not concurrent with it, which is what the safety check is about.
    with mock.patch.dict(os.environ, {"DJANGO_ALLOW_ASYNC_UNSAFE": "true"}), sync_playwright() as p:
        browser = PolicyWatchedBrowser(
            p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        )
        try:
            yield browser
            violations = "\n".join(browser.violations)
            assert not violations, f"Content-Security-Policy violations:\n{violations}"
        finally:
            browser.close()
            # While a loop runs in a thread, Django keeps its connections per asyncio context: those opened
            # under Playwright are not the test's own, and nobody else closes them. Left open, they make
            # PostgreSQL refuse to drop the test database at the end of the session.
            connections.close_all()
