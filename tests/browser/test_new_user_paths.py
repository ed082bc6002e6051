"""What a new user tripped over (issue 16), walked in Debian's chromium from the login page: a deleted
credential on the job card, page and Job Studio; Save that stays in Job Studio; the syntax error said
once; no 404s for an adaptor version that is not installed, and a favicon; the inspector of a cron
job; Abort that asks first and Reprocess that runs again at once; a filter that matches every message;
revealing a Raw JSON credential's values."""

import pytest
from playwright.sync_api import expect

from kindling.credentials.editing import delete_credential
from kindling.jobs.models import Job, Trigger
from kindling.runs.models import Run
from tests.browser.chromium import open_chromium
from tests.browser.test_portal import log_in
from tests.browser.test_sections import menu
from tests.browser.test_studio import WIDE, set_expression, wait_for_editor
from tests.conftest import (
    PASSWORD,
    make_credential,
    make_job,
    make_project,
    make_trigger,
    make_user,
    post_message,
)
from tests.portal.conftest import make_run


@pytest.fixture
def alice_project(transactional_db):
    alice = make_user("alice@example.com", name="Alice")
    return alice, make_project(alice)


def open_project(page, base_url):
    log_in(page, base_url, "alice@example.com")
    page.get_by_role("link", name="Health Ministry").click()  # the project's dashboard
    page.get_by_role("navigation", name="Project menu").get_by_role("link", name="Activity").click()
    expect(page.get_by_role("heading", name="Activity")).to_be_visible()


@pytest.mark.browser
def test_a_deleted_credential_shows_everywhere_and_job_studio_keeps_the_user_iterating(
    alice_project, live_server
):
    alice, project = alice_project
    old = make_credential(alice, "old-dhis2", projects=[project])
    make_credential(alice, "new-dhis2", projects=[project])
    trigger = make_trigger(project, "registrations", criteria={"formID": "v7"})
    # A version that is not installed: Job Studio must not ask for its docs and types.
    job = make_job(project, "send", trigger, credential=old, adaptor_version="1.0.1")
    delete_credential(old, alice)

    with open_chromium() as browser:
        page = browser.new_page(viewport=WIDE)
        failed = []
        page.on("response", lambda r: failed.append((r.status, r.url)) if r.status >= 400 else None)
        open_project(page, live_server.url)
        assert page.request.get(f"{live_server.url}/favicon.ico").status == 200

        menu(page, "Jobs").click()
        card = page.locator(".kindling-job-card", has_text="send")
        expect(card.locator(".kindling-credential-problem")).to_have_text("old-dhis2: deleted")
        card.get_by_role("link", name="View send").click()
        expect(page.locator(".kindling-credential-advice")).to_contain_text("Choose another credential")
        page.get_by_role("link", name="Edit job").click()
        wait_for_editor(page)

        # Step 4 keeps the deleted credential selected, marked, with a warning that says what to do.
        page.locator("#step-credential-button").click()
        credential = page.get_by_label("Credential", exact=True)
        expect(credential.locator("option:checked")).to_have_text("old-dhis2 (deleted)")
        warning = page.locator("#credential-problem")
        expect(warning).to_contain_text("Runs of this job fail (exit code 3) until you choose another")
        credential.select_option(label="new-dhis2")
        expect(warning).to_be_hidden()
        expect(page.locator("#docs-adaptor")).to_contain_text("is not installed yet")
        assert failed == []  # no 404 for its docs or types, nor for anything else so far

        # The syntax error says its position once, as sentences.
        set_expression(page, "fn(s => s);\n)")
        expect(page.locator("#studio-check")).to_contain_text("Line 2, column 1: Unexpected token.")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator("#studio-error")).to_have_text(
            "The expression has a syntax error at line 2, column 1: Unexpected token. Fix it before saving."
        )

        # Save stays in Job Studio with a note; Done leaves for the job's page.
        set_expression(page, "fn(s => s);")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator("#studio-saved")).to_contain_text("Saved at")
        assert page.url.endswith(f"/jobs/{job.pk}/edit")
        assert Job.objects.get(pk=job.pk).credential.name == "new-dhis2"
        page.get_by_role("link", name="Done").click()
        expect(page.get_by_role("heading", name="send", exact=True)).to_be_visible()
        expect(page.locator(".kindling-credential-problem")).to_have_count(0)


@pytest.mark.browser
def test_the_inspector_of_a_cron_job_shows_the_state_its_next_run_gets(alice_project, live_server):
    _alice, project = alice_project
    every_minute = make_trigger(project, "every-minute", kind="cron", cron="* * * * *")
    make_job(project, "counter", every_minute, saved_state={"counter": 41})
    upstream = make_job(project, "register")
    make_run(upstream, final_state={"data": {"patient": "Ada"}})
    make_trigger(project, "after-register", kind="flow", upstream_job=upstream)

    with open_chromium() as browser:
        page = browser.new_page(viewport=WIDE)
        open_project(page, live_server.url)
        menu(page, "Jobs").click()
        page.get_by_role("link", name="View counter").click()
        page.get_by_role("link", name="Edit job").click()
        wait_for_editor(page)
        page.locator("#studio-splitter").focus()
        page.keyboard.press("Enter")

        tree = page.locator("#inspector-tree")
        expect(tree).to_contain_text("counter: 41")
        expect(page.locator("#inspector-note")).to_contain_text(
            "final state of this job's last successful run"
        )
        expect(page.locator("#inspector-message")).to_be_hidden()

        page.locator("#step-trigger-button").click()
        page.get_by_label("Trigger", exact=True).select_option(label="after-register")
        expect(tree).to_contain_text('"Ada"')
        expect(page.locator("#inspector-note")).to_contain_text("register's latest successful run")


@pytest.mark.browser
def test_abort_asks_first_and_reprocess_runs_again_at_once(alice_project, live_server):
    _alice, project = alice_project
    make_job(project, "double", make_trigger(project, criteria={"number": 2}))
    _message, (run,) = post_message(project, {"number": 2})

    with open_chromium() as browser:
        page = browser.new_page(viewport=WIDE)
        open_project(page, live_server.url)
        page.locator(f"#run-{run.pk}").get_by_role("link", name=f"#{run.pk}").click()
        expect(page.get_by_role("heading", name=f"Run {run.pk}")).to_be_visible()

        # Abort asks first; Cancel leaves the run as it was.
        page.get_by_role("button", name="Abort").click()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_contain_text("ends with exit code 6")
        dialog.get_by_role("button", name="Cancel", exact=True).last.click()
        expect(dialog).to_be_hidden()
        assert Run.objects.get(pk=run.pk).status == "pending"

        # Reprocess twice in a row: two runs, no 10-second refusal.
        page.get_by_role("button", name="Reprocess").click()
        expect(page.get_by_text(f"it reprocesses run {run.pk}")).to_be_visible()
        second = Run.objects.latest("id")
        page.get_by_role("button", name="Reprocess").click()
        expect(page.get_by_text(f"it reprocesses run {second.pk}")).to_be_visible()
        assert Run.objects.count() == 3

        page.get_by_role("button", name="Abort").click()
        page.get_by_role("dialog").get_by_role("button", name="Abort run").click()
        expect(page.get_by_text("aborted (exit code 6)")).to_be_visible()
        assert Run.objects.latest("id").status == "aborted"


@pytest.mark.browser
def test_a_filter_that_matches_every_message_is_said_and_must_be_confirmed(alice_project, live_server):
    _alice, project = alice_project

    with open_chromium() as browser:
        page = browser.new_page(viewport=WIDE)
        open_project(page, live_server.url)
        menu(page, "Triggers").click()
        page.get_by_role("link", name="New trigger").click()
        page.get_by_label("Name").fill("everything")
        note = page.locator("#match-all-note")
        expect(note).to_be_hidden()
        page.get_by_label("Inclusion criteria").press_sequentially("{ }", delay=20)
        expect(note).to_contain_text("These criteria match every message.")

        page.get_by_role("button", name="Create trigger").click()
        expect(page.get_by_text("Inclusion criteria {} match every message: each one posted")).to_be_visible()
        assert not Trigger.objects.exists()
        page.get_by_label("Yes, match every message").check()
        page.get_by_role("button", name="Create trigger").click()
        expect(page.get_by_role("heading", name="Edit everything")).to_be_visible()
        assert Trigger.objects.get(name="everything").criteria == {}


@pytest.mark.browser
def test_the_owner_reveals_a_raw_json_credential_after_typing_the_password(alice_project, live_server):
    alice, project = alice_project
    make_credential(
        alice, "kobo", body={"username": "ada", "url": "https://kobo.example.org"}, projects=[project]
    )

    with open_chromium() as browser:
        page = browser.new_page(viewport=WIDE)
        open_project(page, live_server.url)
        menu(page, "My Credentials").click()
        page.get_by_role("link", name="Edit kobo").click()
        body = page.get_by_label("JSON", exact=True)
        expect(body).to_have_value('{\n  "username": "******",\n  "url": "******"\n}')

        page.get_by_role("button", name="Reveal values").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("Your password").fill("wrong password")
        dialog.get_by_role("button", name="Reveal").click()
        expect(page.locator("#reveal-error")).to_have_text(
            "That is not your password: the values stay masked."
        )

        page.get_by_role("button", name="Reveal values").click()
        page.get_by_role("dialog").get_by_label("Your password").fill(PASSWORD)
        page.get_by_role("dialog").get_by_role("button", name="Reveal").click()
        expect(page.locator("#revealed-note")).to_be_visible()
        expect(page.get_by_label("JSON", exact=True)).to_have_value(
            '{\n  "username": "ada",\n  "url": "https://kobo.example.org"\n}'
        )
