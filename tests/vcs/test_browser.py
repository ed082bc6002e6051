"""The version control walk in Debian's chromium: link the project to a repository, link a job to a
file in Job Studio, edit it, see the commits in the job's history, and revert to the first one."""

from playwright.sync_api import expect

from kindling.jobs.models import Job
from tests.browser.chromium import open_chromium
from tests.browser.test_portal import log_in
from tests.browser.test_studio import set_expression, wait_for_editor
from tests.conftest import make_job, make_project, make_user
from tests.vcs.conftest import Outside, git

WIDE = {"width": 1280, "height": 900}


def test_link_edit_see_history_and_revert(live_server, transactional_db, settings, tmp_path):
    settings.BASE_URL = live_server.url
    bare = tmp_path / "walk.git"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    alice = make_user("alice@example.com", name="Alice")
    project = make_project(alice)
    job = make_job(project, name="send-patients", expression="fn(state => state); // v0")

    with open_chromium() as browser:
        page = browser.new_page(viewport=WIDE)
        log_in(page, live_server.url, "alice@example.com")
        page.goto(f"{live_server.url}/projects/{project.slug}/jobs")
        page.get_by_role("navigation", name="Project menu").get_by_role(
            "link", name="Version Control"
        ).click()
        page.get_by_role("textbox", name="Repository").fill(str(bare))
        page.get_by_label("Branch", exact=True).fill("main")
        page.get_by_label("Automatic deploys").check()
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.get_by_text("Version control saved.")).to_be_visible()
        expect(page.get_by_role("textbox", name="Payload URL")).to_have_value(
            f"{live_server.url}/vcs/hooks/" + str(project.repository.hook_token)
        )

        page.goto(f"{live_server.url}/projects/{project.slug}/jobs/{job.pk}/edit")
        wait_for_editor(page)
        page.get_by_label("File path in repository").fill("jobs/send-patients.js")
        set_expression(page, "fn(state => state); // v1")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator("#studio-saved")).to_contain_text("Saved at")
        set_expression(page, "fn(state => state); // v2")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator("#studio-saved")).to_contain_text("Saved at")
        page.get_by_role("link", name="Done").click()

        expect(page.locator("#job-git-path")).to_have_text("jobs/send-patients.js")
        history = page.locator(".kindling-git-history tbody tr")
        expect(history).to_have_count(2)
        expect(history.first).to_contain_text("Alice")
        first = Outside(bare, tmp_path).log()[-1].split()[0]
        page.get_by_role("button", name=f"Revert to {first[:7]}").click()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_contain_text(f"Revert send-patients to {first[:7]}?")
        dialog.get_by_role("button", name="Revert").click()

        expect(page.get_by_text(f"reverted to commit {first[:7]}")).to_be_visible()
        expect(page.locator("#job-expression")).to_have_text("fn(state => state); // v1")
        expect(history).to_have_count(3)
        expect(history.first).to_contain_text(f"Revert job send-patients to {first[:7]}")
    assert Job.objects.get(pk=job.pk).expression == "fn(state => state); // v1"
    assert git(bare, "show", "main:jobs/send-patients.js") == "fn(state => state); // v1"
