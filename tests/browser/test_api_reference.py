"""The API reference at /api/v1/docs in Debian's chromium: Swagger UI served from Kindling's own static
files, under the portal's Content-Security-Policy (open_chromium fails the test on any violation), and
usable: authorize with a personal token, try an operation, read its answer."""

import pytest
from playwright.sync_api import expect

from kindling.accounts.models import ApiToken
from tests.browser.chromium import open_chromium
from tests.conftest import make_project, make_user


@pytest.mark.browser
def test_the_api_reference_lists_the_operations_and_tries_one_with_a_token(live_server, transactional_db):
    alice = make_user("alice@example.com")
    make_project(alice, name="Health Ministry")
    _row, token = ApiToken.create(alice, "reference")
    requested = []

    with open_chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("request", lambda request: requested.append(request.url))
        response = page.goto(live_server.url + "/api/v1/docs")
        assert response.status == 200
        assert "script-src 'self'" in response.headers["content-security-policy"]
        # Swagger UI builds the page from the document once its 1.5 MB bundle is parsed.
        expect(page.get_by_role("heading", name="Kindling API")).to_be_visible(timeout=20_000)
        listing = page.locator(".opblock-summary", has_text="The projects you are a member of")
        expect(listing.first).to_be_visible()

        page.get_by_role("button", name="Authorize").first.click()
        page.locator("#auth-bearer-value").fill(token)
        page.get_by_role("button", name="Apply credentials").click()
        page.locator(".modal-ux").get_by_role("button", name="Close").click()

        listing.first.click()
        operation = page.locator("#operations-projects-kindling_projects_api_list_projects")
        operation.get_by_role("button", name="Try it out").click()
        operation.get_by_role("button", name="Execute").click()
        answer = operation.locator(".live-responses-table tbody .response-col_status").first
        expect(answer).to_have_text("200")
        expect(operation.locator(".live-responses-table")).to_contain_text("health-ministry")

    # Everything the page loaded came from this server: no CDN.
    assert requested and all(url.startswith(live_server.url) for url in requested), requested
