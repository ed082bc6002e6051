"""A job's history and the Job Library in Debian's chromium: restoring a version from the job's page,
and an administrator contributing a project, then another user finding its job in the library and
copying it into their own project through Job Studio."""

import pytest
from django.conf import settings
from playwright.sync_api import expect

from kindling import engine
from kindling.jobs import editing
from kindling.jobs.models import Job, JobVersion
from tests.browser.chromium import open_chromium
from tests.browser.test_portal import log_in
from tests.browser.test_studio import COMMON, WIDE, editor_text, wait_for_editor
from tests.conftest import make_project, make_user

UPSERT = "upsert('Patient', 'patient_id', state => state.data);"


@pytest.mark.browser
def test_a_user_sees_a_jobs_history_and_restores_a_version(live_server, transactional_db):
    alice = make_user("alice@example.com", name="Alice")
    project = make_project(alice)
    job = editing.create_job(project, alice, name="register", expression="fn(first => first);")
    editing.update_job(job, alice, expression="fn(second => second);")

    with open_chromium() as browser:
        page = browser.new_page(viewport=WIDE)
        log_in(page, live_server.url, "alice@example.com")
        page.goto(f"{live_server.url}/projects/{project.slug}/jobs/{job.pk}")
        history = page.get_by_role("region", name="History")
        expect(history.get_by_role("row")).to_have_count(3)  # the header and two versions
        history.get_by_role("link", name="Version 1").click()

        expect(page.get_by_role("heading", name="register: version 1")).to_be_visible()
        page.get_by_role("link", name="Compare with the job now").click()
        expect(page.locator(".kindling-diff-remove")).to_have_text("-fn(first => first);")
        expect(page.locator(".kindling-diff-add")).to_have_text("+fn(second => second);")
        page.get_by_role("button", name="Restore this version").click()
        dialog = page.get_by_role("dialog", name="Restore this version?")
        dialog.get_by_role("button", name="Restore").click()

        expect(
            page.get_by_role("status").filter(has_text="restored to version 1, saved as version 3")
        ).to_be_visible()
        expect(page.locator("#job-expression")).to_have_text("fn(first => first);")
        expect(page.get_by_role("region", name="History").get_by_role("row").nth(1)).to_contain_text(
            "restored version 1"
        )
    assert JobVersion.objects.get(job=job, number=3).restored_from == 1


@pytest.mark.browser
def test_a_library_job_is_found_and_copied_into_another_users_project_via_studio(
    live_server, transactional_db
):
    engine.ensure_adaptor(COMMON, settings.ADAPTOR_REPO_DIR)
    alice = make_user("alice@example.com", name="Alice")
    shared = make_project(alice, "Health Ministry")
    editing.create_job(shared, alice, name="upsert-patients", expression=UPSERT, adaptor_version="3.3.4")
    editing.create_job(shared, alice, name="hidden-one", expression="fn(s => s);", private=True)
    charlie = make_user("charlie@example.com", name="Charlie")
    mine = make_project(charlie, "Charlie's clinic")

    with open_chromium() as browser:
        # Alice contributes her project from Project Settings, through the seed's dialog.
        page = browser.new_page(viewport=WIDE)
        log_in(page, live_server.url, "alice@example.com")
        page.goto(f"{live_server.url}/projects/{shared.slug}/settings")
        page.get_by_role("button", name="Contribute to the job library").click()
        dialog = page.get_by_role("dialog", name="Job Library Sharing")
        expect(dialog).to_contain_text("Data from messages or runs are NEVER shared.")
        dialog.get_by_role("button", name="Yes, contribute to the job library").click()
        expect(page.get_by_role("status").filter(has_text="now contributes")).to_be_visible()

        # Charlie finds it by the operation it uses; the private job is not there.
        page = browser.new_page(viewport=WIDE)
        log_in(page, live_server.url, "charlie@example.com")
        page.get_by_role("link", name="Job Library").click()
        expect(page.get_by_role("link", name="upsert-patients")).to_be_visible()
        expect(page.get_by_text("hidden-one")).to_have_count(0)
        page.get_by_label("Operation used").fill("upsert")
        page.get_by_role("button", name="Search").click()
        expect(page.get_by_role("status")).to_have_text("1 job found.")
        page.get_by_role("link", name="upsert-patients").click()

        # The code is coloured as in Job Studio, and opens there in Charlie's project.
        expect(page.locator("#library-code")).to_have_attribute("data-highlighted", "true", timeout=30_000)
        expect(page.locator("#library-code .mtk1").first).to_be_attached()
        expect(page.locator("#library-code")).to_contain_text("patient_id")
        page.get_by_label("Project", exact=True).select_option(label="Charlie's clinic")
        page.get_by_role("button", name="Open in Job Studio").click()
        expect(page.get_by_role("heading", name="New job")).to_be_visible()
        wait_for_editor(page)
        assert editor_text(page) == UPSERT
        expect(page.locator("#id_name")).to_have_value("upsert-patients")
        expect(page.locator("#id_adaptor_version")).to_have_value("3.3.4")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator("#studio-toast")).to_contain_text("Job upsert-patients created")

    copied = Job.objects.get(project=mine, name="upsert-patients")
    assert (copied.expression, copied.adaptor_spec) == (UPSERT, COMMON)
