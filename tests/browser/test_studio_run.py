"""Job Studio's Save and Run against `kindling serve` (uvicorn, so the log streams as server-sent events,
and a real worker running the job on the real Node engine), in Debian's chromium.

The job logs, then waits on a gate this test holds shut, then logs again: the first line must reach
the page while the run is still running, which only live log persistence and streaming can do.
"""

import re
import subprocess
import sys
import threading
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from django.db import connection
from playwright.sync_api import expect

from kindling import engine
from kindling.runs.models import Run
from tests.browser.chromium import open_chromium
from tests.browser.test_portal import log_in
from tests.browser.test_sections import shoot
from tests.conftest import jobs_may_reach, make_job, make_project, make_trigger, make_user, post_message
from tests.e2e.test_serve import free_port, wait_for_port
from tests.localhttp import JsonHandler, local_server
from tests.queue.conftest import shared_db  # noqa: F401 - the fixture: this test's database, seen by `serve`

ROOT = Path(__file__).resolve().parents[2]
HTTP = "@openfn/language-http@7.2.10"
GATE_SECONDS = 120  # longer than any wait below: a shut gate can only fail the test, never pass it


class Gate:
    """A local HTTP system whose answer waits until the test opens the gate."""

    def __init__(self):
        self.open = threading.Event()
        gate = self

        class Handler(JsonHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                gate.open.wait(GATE_SECONDS)
                self.send_json(200, {"gate": "open"})

        self._stack = ExitStack()
        self.server = self._stack.enter_context(local_server(Handler))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/gate"

    def close(self):
        self.open.set()
        self._stack.close()


def read_db(query):
    """Run an ORM query in a thread of its own. Under Playwright, Django keeps connections per asyncio
    context, and in this thread that context may still hold an earlier test's connection to the
    in-memory database; a new thread connects with the settings `shared_db` put in place."""
    result = []

    def read():
        try:
            result.append(query())
        finally:
            connection.close()

    thread = threading.Thread(target=read)
    thread.start()
    thread.join(30)
    return result[0]


@pytest.fixture
def gate():
    shut = Gate()
    with jobs_may_reach(shut.server.server_address[1]):
        yield shut
    shut.close()


@contextmanager
def serving(env: dict, *options: str):
    """A `kindling serve` with one worker and no scheduler on a free port, for the length of the block:
    its address."""
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kindling.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            "1",
            *options,
            "--no-scheduler",
        ],
        env={**env, "PORT": str(port)},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, server)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture
def serve(gate, shared_db):  # noqa: F811 - the imported fixture; the gate opens its port first
    with serving(shared_db, "--slots", "1") as address:
        yield address


@pytest.mark.browser
def test_save_and_run_streams_log_lines_while_the_run_is_running_then_the_final_state(
    settings, gate, serve, tmp_path
):
    engine.ensure_adaptor(HTTP, settings.ADAPTOR_REPO_DIR)
    # `serve` checks passwords with Django's default hashers, not the tests' fast one.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    alice = make_user("alice@example.com")
    project = make_project(alice)
    trigger = make_trigger(project, "visits", criteria={"formID": "visit"})
    message, runs = post_message(project, {"formID": "visit", "patient": "Ada"})
    assert runs == []
    job = make_job(
        project,
        "log-wait-log",
        trigger,
        enabled=False,
        adaptor="@openfn/language-http",
        adaptor_version="7.2.10",
        expression=(
            "fn(state => { console.log('one'); return state; });\n"
            f"get('{gate.url}');\n"
            "fn(state => { console.log('two'); state.seen = 'both'; return state; });\n"
        ),
    )

    with open_chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        log_in(page, serve, "alice@example.com")
        page.goto(f"{serve}/projects/{project.slug}/jobs/{job.pk}/edit")
        expect(page.locator("#studio")).to_have_attribute("data-editor", "ready", timeout=30_000)
        # Under uvicorn each request runs in a thread of its own: the compiler must outlive them.
        expect(page.locator("#studio-check")).to_contain_text("No syntax errors")
        page.locator("#studio-editor .view-lines").click()
        page.keyboard.press("Control+End")
        with page.expect_response(re.compile(r"/jobs/check$")) as second_check:
            page.keyboard.type("// checked twice")
        assert second_check.value.status == 200
        expect(page.locator("#studio-check")).to_contain_text("No syntax errors")
        expect(page.get_by_label("Message", exact=True).first).to_have_value(str(message.pk))
        page.get_by_role("button", name="Save and Run").click()

        console = page.get_by_role("list", name="Run logs")
        expect(console).to_contain_text("one", timeout=60_000)
        # The gate is shut: the run cannot have ended, and its second line cannot exist yet.
        run = read_db(lambda: Run.objects.get(job=job))
        assert run.status == Run.Status.RUNNING
        assert "two" not in console.inner_text()
        expect(page.locator("#run-status")).to_have_text("running")
        lines_before_the_end = console.locator("li").count()
        assert lines_before_the_end >= 2  # the runtime's and the job's, at least

        gate.open.set()
        expect(console).to_contain_text("two", timeout=60_000)
        expect(page.locator("#run-status")).to_have_text("success", timeout=60_000)
        expect(page.get_by_label("Final state")).to_contain_text('"seen": "both"')
        expect(page.get_by_label("Final state")).to_contain_text('"patient": "Ada"')
        expect(page.get_by_role("link", name=f"Run {run.pk}")).to_have_attribute(
            "href", f"/projects/{project.slug}/runs/{run.pk}"
        )
        page.keyboard.press("Escape")
        page.locator("#studio-splitter").focus()
        page.keyboard.press("Enter")  # the keyboard's way to open the initial-state inspector
        expect(page.locator("#inspector-tree")).to_contain_text('"Ada"')
        shoot(page, "job-studio", tmp_path)

    run.refresh_from_db()
    assert (run.status, run.exit_code, run.message_id, run.cause) == ("success", 0, message.pk, "manual")
    assert run.log_lines.count() > lines_before_the_end
