"""The run page follows a running run's log as the worker stores it, and shows the end when it ends."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from kindling.runs.models import Run
from tests.browser.chromium import open_chromium
from tests.browser.test_portal import log_in
from tests.conftest import make_job, make_project, make_user
from tests.domain.conftest import Line


@pytest.mark.browser
def test_the_run_page_shows_new_log_lines_while_the_run_runs_and_its_end(live_server, transactional_db):
    project = make_project(make_user("alice@example.com"))
    job = make_job(project)
    run = Run.objects.create(
        project=project,
        job=job,
        cause=Run.Cause.MANUAL,
        status=Run.Status.RUNNING,
        started_at=timezone.now(),
        worker="w1",
    )
    run.append_log([Line("first line")])

    with open_chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        log_in(page, live_server.url, "alice@example.com")
        page.goto(f"{live_server.url}/projects/{project.slug}/runs/{run.pk}")
        expect(page.locator(".kindling-log-message")).to_have_text(["first line"])

        run.append_log([Line("second line"), Line("third line")])  # what the worker's log writer does
        expect(page.locator(".kindling-log-message")).to_have_text(
            ["first line", "second line", "third line"], timeout=15_000
        )

        run.record_end(Run.Status.SUCCESS, 0, {"done": True}, [Line("Run complete with status: success")])
        expect(page.locator(".kindling-status").first).to_have_text("success", timeout=15_000)
        expect(page.locator(".kindling-log-message")).to_have_text(
            ["first line", "second line", "third line", "Run complete with status: success"]
        )
        expect(page.locator("#run-log-follow")).to_have_count(0)
