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
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
            # While a loop runs in a thread, Django keeps its connections per asyncio context: those opened
            # under Playwright are not the test's own, and nobody else closes them. Left open, they make
            # PostgreSQL refuse to drop the test database at the end of the session.
            connections.close_all()
