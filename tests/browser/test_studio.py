"""Job Studio in Debian's chromium: the wizard and fullscreen modes, the Monaco editor with the adaptor's
types, snippets and documentation, the compiler's syntax check, the initial-state inspector, themes,
installing an adaptor version from the page, and the unsaved-changes guard.

Save and Run, which needs a real ASGI server and worker, is in test_studio_run.py.
"""

import re

import pytest
from django.conf import settings
from playwright.sync_api import expect

from kindling import engine
from kindling.accounts.models import User
from kindling.jobs.models import Job
from tests.browser.chromium import open_chromium
from tests.browser.test_portal import log_in
from tests.conftest import make_credential, make_job, make_project, make_trigger, make_user, post_message

WIDE = {"width": 1280, "height": 900}
HTTP = "@openfn/language-http@7.2.10"
COMMON = "@openfn/language-common@3.3.4"


def wait_for_editor(page, adaptor: str | None = None):
    expect(page.locator("#studio")).to_have_attribute("data-editor", "ready", timeout=30_000)
    if adaptor:
        expect(page.locator("#studio")).to_have_attribute("data-adaptor-loaded", adaptor, timeout=30_000)


def clear_editor(page):
    page.locator("#studio-editor .view-lines").click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")


def set_expression(page, text: str):
    """Replace the expression as a person pasting it would (no auto-closed brackets, no completion)."""
    clear_editor(page)
    page.keyboard.insert_text(text)
    expect(page.locator("#id_expression")).to_have_value(text)


def editor_text(page) -> str:
    return page.evaluate("window.KindlingStudio.editor.getValue()")


def studio_mode(page):
    return page.locator("#studio")


@pytest.fixture
def registrations(transactional_db):
    alice = make_user("alice@example.com", name="Alice")
    project = make_project(alice)
    make_credential(alice, "dhis2-prod", projects=[project])
    trigger = make_trigger(project, "patient-registration", criteria={"formID": "patient_registration_v7"})
    return project, trigger


@pytest.mark.browser
def test_a_job_is_created_in_wizard_mode_and_fullscreen_is_kept_for_existing_jobs_only(
    registrations, live_server
):
    project, _trigger = registrations
    engine.ensure_adaptor(COMMON, settings.ADAPTOR_REPO_DIR)

    with open_chromium() as browser:
        page = browser.new_page(viewport=WIDE)
        log_in(page, live_server.url, "alice@example.com")
        page.goto(f"{live_server.url}/projects/{project.slug}/jobs")
        page.get_by_role("link", name="New job").click()

        # Four steps, one at a time, then the expression.
        expect(page.get_by_role("heading", name="New job")).to_be_visible()
        expect(studio_mode(page)).to_have_attribute("data-mode", "wizard")
        wait_for_editor(page)
        expect(page.get_by_label("Trigger", exact=True)).to_be_hidden()
        page.get_by_label("Name", exact=True).fill("send-to-dhis2")
        page.get_by_role("button", name="Next").click()
        page.get_by_label("Trigger", exact=True).select_option(label="patient-registration")
        expect(page.get_by_label("Name", exact=True)).to_be_hidden()
        page.get_by_role("button", name="Next").click()
        page.get_by_label("Adaptor", exact=True).fill("@openfn/language-common")
        page.get_by_label("Version", exact=True).fill("3.3.4")
        page.get_by_role("button", name="Next").click()
        page.get_by_label("Credential", exact=True).select_option(label="dhis2-prod")
        page.get_by_role("button", name="Next").click()
        # The last Next leaves the wizard for the editor, which has the adaptor's functions.
        wait_for_editor(page, COMMON)
        expect(page.locator("#step-name-button")).to_contain_text("send-to-dhis2")
        page.keyboard.type("fn(state => state)")
        expect(page.locator("#studio-check")).to_contain_text("No syntax errors")

        # An accidental navigation asks first: the browser's "leave site?" dialog, dismissed here.
        dialogs = []
        page.once("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.dismiss()))
        page.get_by_role("navigation", name="Project menu").get_by_role(
            "link", name="Jobs", exact=True
        ).click()
        expect(page.get_by_role("heading", name="New job")).to_be_visible()
        assert dialogs == ["beforeunload"]

        # Save keeps the user in Job Studio, which now edits the new job; Done leaves for its page.
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator("#studio-saved")).to_contain_text("Saved at")
        expect(page.locator("#studio-toast")).to_contain_text("Job send-to-dhis2 created")
        expect(page.get_by_role("heading", name="Edit send-to-dhis2")).to_be_visible()
        job = Job.objects.get(name="send-to-dhis2")
        assert page.url.endswith(f"/jobs/{job.pk}/edit")
        page.get_by_role("link", name="Done").click()
        expect(page.get_by_role("heading", name="send-to-dhis2", exact=True)).to_be_visible()
        assert (job.trigger.name, job.adaptor_spec, job.credential.name, job.expression, job.enabled) == (
            "patient-registration",
            COMMON,
            "dhis2-prod",
            "fn(state => state)",
            False,
        )

        # An existing job opens in the mode chosen last; toggling saves it as the preference.
        page.get_by_role("link", name="Edit job").click()
        expect(studio_mode(page)).to_have_attribute("data-mode", "wizard")
        with page.expect_response(re.compile(r"/account/preferences$")):
            page.get_by_role("button", name="Switch to Fullscreen mode").click()
        expect(studio_mode(page)).to_have_attribute("data-mode", "fullscreen")
        # Fullscreen: the four steps are plain fields beside the editor.
        expect(page.get_by_label("Name", exact=True)).to_be_visible()
        expect(page.get_by_label("Credential", exact=True)).to_be_visible()
        expect(page.locator(".kindling-step-nav button:visible")).to_have_count(0)
        assert User.objects.get(email="alice@example.com").preferences["studio_mode"] == "fullscreen"

        page.goto(f"{live_server.url}/projects/{project.slug}/jobs/{job.pk}/edit")
        expect(studio_mode(page)).to_have_attribute("data-mode", "fullscreen")
        page.goto(f"{live_server.url}/projects/{project.slug}/jobs/new")
        expect(studio_mode(page)).to_have_attribute("data-mode", "wizard")  # new jobs: always the wizard

        page.goto(f"{live_server.url}/projects/{project.slug}/jobs/{job.pk}/edit")
        with page.expect_response(re.compile(r"/account/preferences$")):
            page.get_by_role("button", name="Switch to Wizard mode").click()
        expect(studio_mode(page)).to_have_attribute("data-mode", "wizard")
        assert User.objects.get(email="alice@example.com").preferences["studio_mode"] == "wizard"
        page.goto(f"{live_server.url}/projects/{project.slug}/jobs/{job.pk}/edit")
        expect(studio_mode(page)).to_have_attribute("data-mode", "wizard")


def edit_in_studio(browser, base_url, job, adaptor):
    """Alice's page (wide, with the clipboard) with the job open in Job Studio, its editor ready."""
    context = browser.new_context(viewport=WIDE)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    log_in(page, base_url, "alice@example.com")
    page.goto(f"{base_url}/projects/{job.project.slug}/jobs/{job.pk}/edit")
    wait_for_editor(page, adaptor)
    return page


@pytest.mark.browser
def test_the_editor_completes_the_adaptors_operations_checks_syntax_and_shows_the_docs(
    registrations, live_server
):
    project, trigger = registrations
    engine.ensure_adaptor(HTTP, settings.ADAPTOR_REPO_DIR)
    job = make_job(
        project,
        "fetch",
        trigger,
        adaptor="@openfn/language-http",
        adaptor_version="7.2.10",
        expression="fn(state => state);",
    )

    with open_chromium() as browser:
        page = edit_in_studio(browser, live_server.url, job, HTTP)
        expect(page.locator("#studio-check")).to_contain_text("No syntax errors")

        # The version field offers the installed versions, then the other releases on npm.
        expect(page.locator('#adaptor-versions option[value="7.2.10"]')).to_have_text("installed")
        expect(page.locator('#adaptor-versions option[value="6.4.3"]')).to_have_text(
            "on npm: installed by the first run"
        )

        # The first letters of an operation and Tab: its example from the adaptor's docs, as a snippet.
        clear_editor(page)
        page.keyboard.type("ge")
        expect(page.locator(".suggest-widget.visible")).to_contain_text("get")
        page.keyboard.press("Tab")
        assert editor_text(page).startswith("get('/patient', {\n  query: { foo: 'bar', a: 1 },\n});")

        # The adaptor's TypeScript definitions are loaded: calling post() shows its signature and docs.
        page.keyboard.press("Control+End")
        page.keyboard.press("Enter")
        page.keyboard.type("post(")
        hints = page.locator(".parameter-hints-widget")
        expect(hints).to_contain_text("path: string")
        expect(hints).to_contain_text("Make a POST request")
        page.keyboard.press("Escape")

        # A syntax error is shown at its line and column, and stops Save.
        page.evaluate("window.KindlingStudio.editor.setValue('fn(s => {\\n  return s;\\n);')")
        expect(page.locator("#studio-check")).to_contain_text("Line 3, column 1")
        expect(page.locator(".squiggly-error")).to_have_count(1)
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator("#studio-error")).to_contain_text("syntax error at line 3, column 1")
        expect(page.get_by_role("heading", name="Edit fetch")).to_be_visible()
        assert Job.objects.get(pk=job.pk).expression == "fn(state => state);"

        # The documentation icon: every operation of http@7.2.10 with its parameters and examples.
        page.get_by_role("button", name="Adaptor documentation").click()
        docs = page.locator("#studio-docs")
        expect(docs).to_contain_text("@openfn/language-http@7.2.10")
        get_doc = docs.locator("article[data-operation=get]")
        expect(get_doc).to_contain_text("Make a GET request")
        expect(get_doc.locator("table")).to_contain_text("path")
        expect(docs.locator("article[data-operation=each]")).to_contain_text("from language-common")
        get_doc.get_by_role("button", name=re.compile("^Copy example of get")).click()
        expect(page.locator("#studio-toast")).to_contain_text("Copied the example of get")
        assert (
            page.evaluate("navigator.clipboard.readText()")
            == "get('/patient', {\n  query: { foo: 'bar', a: 1 },\n});"
        )


@pytest.mark.browser
def test_a_path_is_copied_from_the_initial_state_tree(registrations, live_server):
    project, trigger = registrations
    engine.ensure_adaptor(COMMON, settings.ADAPTOR_REPO_DIR)
    job = make_job(project, "register", trigger)
    post_message(project, {"formID": "patient_registration_v7", "form": {"patient": {"name": "Ada"}}})
    newest, _ = post_message(
        project, {"formID": "patient_registration_v7", "form": {"patient": {"name": "Grace"}}}
    )
    post_message(project, {"formID": "something_else", "form": {"patient": {"name": "Not matched"}}})

    with open_chromium() as browser:
        page = edit_in_studio(browser, live_server.url, job, COMMON)
        inspector = page.locator("#studio-inspector")
        expect(inspector).to_be_hidden()

        # Drag the splitter to the left: the initial state of the newest matching message.
        box = page.locator("#studio-splitter").bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] - 350, box["y"] + box["height"] / 2, steps=8)
        page.mouse.up()
        expect(inspector).to_be_visible()
        options = inspector.get_by_label("Message").locator("option")
        expect(options).to_have_count(2)  # the message of another form is not offered
        expect(inspector.locator("#inspector-tree")).to_contain_text('"Grace"')

        # Pick the other message; copy the path of a node and paste it into the expression.
        inspector.get_by_label("Message").select_option(index=1)
        expect(inspector.locator("#inspector-tree")).to_contain_text('"Ada"')
        page.get_by_role("button", name="Copy path state.data.form.patient.name").click()
        assert page.evaluate("navigator.clipboard.readText()") == "state.data.form.patient.name"
        clear_editor(page)
        page.keyboard.type("fn(state => { console.log(")
        page.keyboard.press("Control+V")
        expect(page.locator("#id_expression")).to_have_value(
            re.compile(r"console\.log\(state\.data\.form\.patient\.name")
        )
        # The run pane's message follows the inspector's.
        assert page.locator("#run-message").input_value() != str(newest.pk)


@pytest.mark.browser
def test_the_palette_switches_the_editor_theme_and_saves_it(registrations, live_server):
    project, trigger = registrations
    job = make_job(project, "themed", trigger)

    with open_chromium() as browser:
        page = browser.new_page(viewport=WIDE)
        log_in(page, live_server.url, "alice@example.com")
        page.goto(f"{live_server.url}/projects/{project.slug}/jobs/{job.pk}/edit")
        wait_for_editor(page)
        expect(page.locator("#studio-editor .monaco-editor")).to_have_class(re.compile(r"\bvs\b"))

        page.get_by_role("button", name="Editor theme").click()
        with page.expect_response(re.compile(r"/account/preferences$")):
            page.get_by_role("menuitemradio", name="Dark", exact=True).click()
        expect(page.locator("#studio-editor .monaco-editor")).to_have_class(re.compile(r"\bvs-dark\b"))
        assert User.objects.get(email="alice@example.com").preferences["editor_theme"] == "vs-dark"

        page.reload()
        wait_for_editor(page)
        expect(page.locator("#studio-editor .monaco-editor")).to_have_class(re.compile(r"\bvs-dark\b"))
        page.get_by_role("button", name="Editor theme").click()
        expect(page.get_by_role("menuitemradio", name="Dark", exact=True)).to_have_attribute(
            "aria-checked", "true"
        )
        page.get_by_role("menuitemradio", name="High contrast dark").click()
        expect(page.locator("#studio-editor .monaco-editor")).to_have_class(re.compile(r"\bhc-black\b"))

        # The account settings show it too (IDE style).
        page.goto(f"{live_server.url}/account")
        expect(page.get_by_label("Editor theme")).to_have_value("hc-black")


@pytest.mark.browser
def test_another_adaptor_version_installs_from_the_page_and_the_editor_uses_it(
    registrations, live_server, settings, tmp_path
):
    # An empty adaptor repository of its own: the version really comes from npm, with its dependencies.
    settings.ADAPTOR_REPO_DIR = tmp_path / "adaptors"
    project, _trigger = registrations

    with open_chromium() as browser:
        page = browser.new_page(viewport=WIDE)
        log_in(page, live_server.url, "alice@example.com")
        page.goto(f"{live_server.url}/projects/{project.slug}/jobs/new")
        wait_for_editor(page)
        page.get_by_label("Name", exact=True).fill("with-an-older-common")
        page.get_by_role("button", name="Next").click()
        page.get_by_role("button", name="Next").click()
        expect(page.locator("#adaptor-installed")).to_contain_text("No version of @openfn/language-common")

        page.get_by_text("Install another version from npm").click()
        page.get_by_label("Adaptor to install").fill("@openfn/language-common")
        page.get_by_label("Version to install").fill("0.0.999")
        page.get_by_role("button", name="Install", exact=True).click()
        expect(page.locator("#install-error")).to_contain_text(
            "Could not install @openfn/language-common@0.0.999", timeout=120_000
        )

        page.get_by_label("Version to install").fill("3.3.1")
        page.get_by_role("button", name="Install", exact=True).click()
        expect(page.locator("#install-headline")).to_contain_text("Installing @openfn/language-common@3.3.1")
        expect(page.locator("#install-headline")).to_have_text(
            "Installed @openfn/language-common@3.3.1", timeout=240_000
        )
        expect(page.locator("#install-notes")).to_contain_text("Installed @openfn/language-common@3.3.1 in")
        expect(page.locator("#install-error")).to_be_hidden()
        assert engine.list_installed(settings.ADAPTOR_REPO_DIR) == [("@openfn/language-common", "3.3.1")]

        # The picker now uses it, and the editor has its types, snippets and documentation.
        expect(page.get_by_label("Version", exact=True)).to_have_value("3.3.1")
        expect(page.locator("#adaptor-installed")).to_contain_text("3.3.1")
        wait_for_editor(page, "@openfn/language-common@3.3.1")
        clear_editor(page)
        page.keyboard.type("dataVa")
        expect(page.locator(".suggest-widget.visible")).to_contain_text("dataValue")
        page.keyboard.press("Tab")
        assert editor_text(page).startswith("dataValue(")
        page.get_by_role("button", name="Adaptor documentation").click()
        expect(page.locator("#studio-docs")).to_contain_text("@openfn/language-common@3.3.1")
        page.get_by_role("button", name="Close the documentation").click()

        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator("#studio-saved")).to_contain_text("Saved at")
        page.get_by_role("link", name="Done").click()
        expect(page.get_by_role("heading", name="with-an-older-common", exact=True)).to_be_visible()
        assert Job.objects.get(name="with-an-older-common").adaptor_spec == "@openfn/language-common@3.3.1"
