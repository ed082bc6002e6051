"""The Jobs, Triggers, Activity and Inbox sections in Debian's chromium, walked as a v1 user would:
every control where the seed says it is, and what each click did to the database.

Each walk saves a 1280 px screenshot of its section; with KINDLING_SCREENSHOTS=<dir> they go to that
folder (that is how docs/screenshots/ is made), otherwise to the test's temporary folder.
"""

import os
import re
import struct
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from kindling.inbox.models import Message
from kindling.jobs.models import Job, Trigger
from kindling.runs.models import Run
from tests.browser.chromium import open_chromium
from tests.browser.test_portal import log_in
from tests.browser.test_studio import set_expression, wait_for_editor
from tests.conftest import make_credential, make_job, make_project, make_trigger, make_user, post_message
from tests.portal.conftest import make_run

WIDE = {"width": 1280, "height": 900}
BLUE = "rgb(13, 110, 253)"  # Bootstrap's primary: v1's switch turns blue when the job is on


def shoot(page, name: str, tmp_path: Path) -> None:
    folder = Path(os.environ.get("KINDLING_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path))
    width, _height = struct.unpack(">II", path.read_bytes()[16:24])  # the PNG header's IHDR chunk
    assert width == WIDE["width"]


def menu(page, entry: str):
    return page.get_by_role("navigation", name="Project menu").get_by_role("link", name=entry, exact=True)


@pytest.fixture
def health(transactional_db, settings, live_server):
    settings.BASE_URL = live_server.url
    alice = make_user("alice@example.com", name="Alice")
    project = make_project(alice)
    credential = make_credential(alice, "dhis2-prod", projects=[project])
    registrations = make_trigger(
        project,
        "patient-registration",
        criteria={"formID": "patient_registration_v7"},
        exclusion={"allowedToShare": False},
    )
    make_trigger(project, "test-data", criteria={"test": "data", "source": "kobo"})
    nightly = make_trigger(project, "nightly", Trigger.Kind.CRON, cron="0 2 * * *")
    send = make_job(
        project,
        "send-to-dhis2",
        registrations,
        credential=credential,
        adaptor="@openfn/language-dhis2",
        adaptor_version="4.0.3",
    )
    make_job(project, "nightly-sync", nightly, enabled=False)
    make_trigger(project, "after-dhis2", Trigger.Kind.FLOW, upstream_job=send)
    make_job(
        project,
        "notify-team",
        Trigger.objects.get(name="after-dhis2"),
        adaptor="@openfn/language-http",
        adaptor_version="6.4.0",
    )
    make_job(project, "old-import", archived=True, enabled=False)
    return project


def seed_history(project):
    """Messages and finished runs, as if the worker had run them: some failed with a log line."""
    send = Job.objects.get(name="send-to-dhis2")
    for n in range(8):
        body = {
            "formID": "patient_registration_v7",
            "name": f"Patient {n}",
            "district": ["Kisumu", "Nairobi", "Mombasa"][n % 3],
            "age": 30 + n,
        }
        message, runs = post_message(project, body)
        Run.objects.filter(pk__in=[r.pk for r in runs]).delete()
        failed = n in (2, 4)
        make_run(
            send,
            message=message,
            status=Run.Status.FAILED if failed else Run.Status.SUCCESS,
            exit_code=1 if failed else 0,
            final_state=None if failed else {"data": {"id": f"p{n}"}},
            created_at=timezone.now() - timedelta(minutes=30 - n),
            logs=[("VER", "info", "@openfn/language-dhis2 4.0.3"), ("JOB", "info", f"Sending patient {n}")]
            + ([("R/T", "error", "Error: connect ECONNREFUSED 10.0.0.5:443")] if failed else []),
        )
    old = make_run(send, created_at=timezone.now() - timedelta(days=40))
    return old


@pytest.mark.browser
def test_the_jobs_section(health, live_server, tmp_path):
    project = health
    message, _ = post_message(project, {"formID": "patient_registration_v7", "name": "Jack"})
    Run.objects.all().delete()

    with open_chromium() as browser:
        page = browser.new_page(viewport=WIDE)
        log_in(page, live_server.url, "alice@example.com")
        page.goto(f"{live_server.url}/projects/{project.slug}/activity")
        menu(page, "Jobs").click()
        expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
        cards = page.locator(".kindling-job-card h2")
        expect(cards).to_have_text(["nightly-sync", "notify-team", "send-to-dhis2"])
        send_card = page.locator(".kindling-job-card", has_text="send-to-dhis2")
        expect(send_card).to_contain_text("patient-registration")
        expect(send_card).to_contain_text("@openfn/language-dhis2@4.0.3")
        expect(send_card).to_contain_text("dhis2-prod")
        shoot(page, "jobs", tmp_path)

        # Search as you type: no Enter, the cards follow the text.
        page.get_by_placeholder("Search jobs").press_sequentially("SYNC", delay=30)
        expect(cards).to_have_text(["nightly-sync"])
        page.get_by_placeholder("Search jobs").fill("")
        expect(cards).to_have_count(3)

        # The switch at the card's top right: off by default, blue when on.
        switch = page.get_by_role("switch", name="Switch nightly-sync on or off")
        expect(switch).not_to_be_checked()
        with page.expect_response(re.compile(r"/enabled$")):
            switch.click()
        expect(page.get_by_role("switch", name="Switch nightly-sync on or off")).to_be_checked()
        expect(page.get_by_role("switch", name="Switch nightly-sync on or off")).to_have_css(
            "background-color", BLUE
        )
        assert Job.objects.get(name="nightly-sync").enabled is True

        # View at the bottom left opens the job's page, with its icons.
        page.get_by_role("link", name="View send-to-dhis2").click()
        expect(page.get_by_role("heading", name="send-to-dhis2", exact=True)).to_be_visible()
        page.get_by_role("button", name="Make private").click()
        expect(page.locator(".kindling-private-badge")).to_have_text("private")
        assert Job.objects.get(name="send-to-dhis2").private is True
        page.get_by_role("button", name="Private: allow sharing again").click()
        expect(page.locator(".kindling-private-badge")).to_have_count(0)
        page.get_by_role("button", name="Disable console.log").click()
        expect(page.locator(".kindling-console-badge")).to_be_visible()
        assert Job.objects.get(name="send-to-dhis2").console_disabled is True

        # Run now on a message the trigger matches.
        page.get_by_label("Message", exact=True).select_option(str(message.pk))
        page.get_by_role("button", name="Run now").click()
        expect(page.get_by_role("heading", name=re.compile(r"^Run \d+"))).to_be_visible()
        run = Run.objects.get()
        assert (run.job.name, run.message_id, run.cause) == ("send-to-dhis2", message.pk, "manual")
        page.get_by_role("link", name="send-to-dhis2").first.click()

        # Archive asks first; the job leaves the list and comes back with "Show archived jobs".
        page.get_by_role("button", name="Archive job").click()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_contain_text("Jobs cannot be deleted.")
        dialog.get_by_role("button", name="Archive").click()
        expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
        expect(cards).to_have_text(["nightly-sync", "notify-team"])
        assert Job.objects.get(name="send-to-dhis2").archived is True
        page.get_by_role("link", name="Show archived jobs").click()
        expect(cards).to_have_text(["nightly-sync", "notify-team", "old-import", "send-to-dhis2"])
        page.get_by_role("link", name="View send-to-dhis2").click()
        page.get_by_role("button", name="Restore job").click()
        expect(page.get_by_role("button", name="Archive job")).to_be_visible()
        assert Job.objects.get(name="send-to-dhis2").archived is False

        # The pencil opens the job for editing in Job Studio.
        page.get_by_role("link", name="Edit job").click()
        wait_for_editor(page)
        set_expression(page, "fn(state => { state.sent = true; return state; })")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator("#studio-saved")).to_contain_text("Saved at")  # Save stays in Job Studio
        page.get_by_role("link", name="Done").click()
        expect(page.locator("#job-expression")).to_contain_text("state.sent = true")
        assert "state.sent = true" in Job.objects.get(name="send-to-dhis2").expression

        # The blue floating "+" creates a job, switched off, through Job Studio's wizard.
        menu(page, "Jobs").click()
        page.get_by_role("link", name="New job").click()
        page.get_by_label("Name", exact=True).fill("send-to-commcare")
        page.get_by_role("button", name="Next").click()
        page.get_by_label("Trigger", exact=True).select_option(label="patient-registration")
        page.get_by_role("button", name="Next").click()
        page.get_by_label("Adaptor", exact=True).fill("@openfn/language-commcare")
        page.get_by_label("Version", exact=True).fill("2.1.0")
        page.get_by_role("button", name="Next").click()
        page.get_by_label("Credential", exact=True).select_option(label="dhis2-prod")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator("#studio-saved")).to_contain_text("Saved at")
        page.get_by_role("link", name="Done").click()
        expect(page.get_by_role("heading", name="send-to-commcare", exact=True)).to_be_visible()
        created = Job.objects.get(name="send-to-commcare")
        assert (created.enabled, created.adaptor_spec, created.credential.name) == (
            False,
            "@openfn/language-commcare@2.1.0",
            "dhis2-prod",
        )


@pytest.mark.browser
def test_the_triggers_section(health, live_server, tmp_path):
    project = health
    post_message(project, {"test": "data", "source": "kobo", "n": 1})
    post_message(project, {"test": "other"})

    with open_chromium() as browser:
        page = browser.new_page(viewport=WIDE)
        log_in(page, live_server.url, "alice@example.com")
        page.goto(f"{live_server.url}/projects/{project.slug}/activity")
        menu(page, "Triggers").click()
        cards = page.locator(".kindling-trigger-card h2")
        expect(cards).to_have_text(["after-dhis2", "nightly", "patient-registration", "test-data"])
        shoot(page, "triggers", tmp_path)

        # Search by criteria: typing JSON finds the triggers whose criteria contain it.
        search = page.get_by_placeholder(re.compile("^Search triggers"))
        search.press_sequentially('{"test": "data"}', delay=20)
        expect(cards).to_have_text(["test-data"])
        search.fill("nightly")
        expect(cards).to_have_text(["nightly"])
        search.fill("")
        expect(cards).to_have_count(4)

        # Find messages matching this trigger.
        page.locator(".kindling-trigger-card", has_text="test-data").get_by_role(
            "link", name="Find messages matching this trigger"
        ).click()
        expect(page.locator(".kindling-message")).to_have_count(1)
        expect(page.locator(".kindling-message")).to_contain_text('"source": "kobo"')

        # New message filter: invalid JSON is refused with its position.
        menu(page, "Triggers").click()
        page.get_by_role("link", name="New trigger").click()
        page.get_by_label("Name").fill("referrals")
        expect(page.get_by_label("Cron expression")).to_be_hidden()
        page.get_by_label("Inclusion criteria").fill('{"formID": "referral",}')
        page.get_by_role("button", name="Create trigger").click()
        expect(page.get_by_text("Inclusion criteria: invalid JSON at line 1, column 23")).to_be_visible()
        page.get_by_label("Inclusion criteria").fill('{"formID": "referral"}')
        page.get_by_label("Exclusion criteria").fill('{"test": true}')
        page.get_by_role("button", name="Create trigger").click()
        expect(page.get_by_role("heading", name="Edit referrals")).to_be_visible()
        referrals = Trigger.objects.get(name="referrals")
        assert (referrals.criteria, referrals.exclusion) == ({"formID": "referral"}, {"test": True})

        # New cron trigger: its own fields, and the next five fire times as you type.
        menu(page, "Triggers").click()
        page.get_by_role("link", name="New trigger").click()
        page.get_by_label("Name").fill("every-15")
        page.get_by_label("Type").select_option(label="Cron")
        expect(page.get_by_label("Inclusion criteria")).to_be_hidden()
        page.get_by_label("Cron expression").press_sequentially("*/15 * * * *", delay=20)
        expect(page.locator(".kindling-fire-times li")).to_have_count(5)
        page.get_by_role("button", name="Create trigger").click()
        expect(page.get_by_role("heading", name="Edit every-15")).to_be_visible()
        assert Trigger.objects.get(name="every-15").cron == "*/15 * * * *"

        # Edit an existing trigger from its card, then delete it with the trash icon.
        menu(page, "Triggers").click()
        page.get_by_role("link", name="Edit patient-registration").click()
        page.get_by_label("Inclusion criteria").fill('{"formID": "patient_registration_v8"}')
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Trigger patient-registration saved.")).to_be_visible()
        assert Trigger.objects.get(name="patient-registration").criteria == {
            "formID": "patient_registration_v8"
        }
        page.get_by_role("button", name="Delete trigger").click()
        page.get_by_role("dialog").get_by_role("button", name="Delete").click()
        expect(page.get_by_text("will not run until they get one: send-to-dhis2")).to_be_visible()
        expect(cards).not_to_contain_text(["patient-registration"])
        assert not Trigger.objects.filter(name="patient-registration").exists()

        menu(page, "Jobs").click()
        expect(page.locator(".kindling-job-card", has_text="send-to-dhis2")).to_contain_text(
            "No trigger: this job does not run until it gets one."
        )


@pytest.mark.browser
def test_the_activity_and_inbox_sections(health, live_server, tmp_path):
    project = health
    old = seed_history(project)
    failed_runs = list(Run.objects.filter(status=Run.Status.FAILED).order_by("-id"))

    with open_chromium() as browser:
        page = browser.new_page(viewport=WIDE)
        log_in(page, live_server.url, "alice@example.com")
        page.get_by_role("link", name="Health Ministry").click()  # the project's dashboard
        menu(page, "Activity").click()
        expect(page.get_by_role("heading", name="Activity")).to_be_visible()
        rows = page.locator("table.kindling-runs tbody tr")
        expect(rows).to_have_count(8)  # the last 30 days: the 40-day-old run is not shown
        expect(page.locator(f"#run-{failed_runs[0].pk}")).to_have_class("table-danger")
        shoot(page, "activity", tmp_path)

        # Filters live in the URL: a filtered view can be bookmarked.
        page.get_by_label("Log text").fill("econnrefused")
        page.get_by_label("Status").select_option("failed")
        page.get_by_role("button", name="Filter").click()
        expect(rows).to_have_count(2)
        assert "q=econnrefused" in page.url and "status=failed" in page.url
        bookmarked = page.url
        page.goto(bookmarked)
        expect(rows).to_have_count(2)
        expect(page.get_by_label("Log text")).to_have_value("econnrefused")
        page.get_by_role("link", name="Clear").click()
        page.get_by_label("Date").select_option("90d")
        page.get_by_role("button", name="Filter").click()
        expect(page.locator(f"#run-{old.pk}")).to_be_visible()
        # A custom range: its two days appear once it is chosen.
        expect(page.get_by_label("From")).to_be_hidden()
        page.get_by_label("Date").select_option("custom")
        day = timezone.now().date()
        page.get_by_label("From").fill((day - timedelta(days=41)).isoformat())
        page.get_by_label("To").fill((day - timedelta(days=39)).isoformat())
        page.get_by_role("button", name="Filter").click()
        expect(rows).to_have_count(1)
        expect(page.locator(f"#run-{old.pk}")).to_be_visible()
        assert "date=custom" in page.url and f"start={(day - timedelta(days=41)).isoformat()}" in page.url

        # The run page: state trees that fold, the log, the message, Reprocess.
        page.get_by_role("link", name="Clear").click()
        page.locator(f"#run-{failed_runs[0].pk}").get_by_role("link").click()
        expect(page.locator(".kindling-log-message").last).to_have_text(
            "Error: connect ECONNREFUSED 10.0.0.5:443"
        )
        tree = page.locator("#initial-state-tree")
        expect(tree.get_by_text('"Nairobi"')).to_be_visible()
        tree.locator("summary").first.click()
        expect(tree.get_by_text('"Nairobi"')).to_be_hidden()
        page.get_by_role("button", name="Reprocess").click()
        expect(page.get_by_text(f"it reprocesses run {failed_runs[0].pk}")).to_be_visible()
        assert Run.objects.filter(status=Run.Status.PENDING, message=failed_runs[0].message).count() == 1

        # Inbox: filters, the job-state badge, edit (no copy kept), process, post.
        menu(page, "Inbox").click()
        cards = page.locator(".kindling-message")
        expect(cards).to_have_count(8)
        shoot(page, "inbox", tmp_path)
        page.get_by_label("Body text").fill("Nairobi")
        page.get_by_role("button", name="Filter").click()
        expect(cards).to_have_count(3)
        page.get_by_label("Run state").select_option("failed")
        page.get_by_role("button", name="Filter").click()
        # Patient 4 (Nairobi) failed; its reprocess is still pending, so its last finished run decides.
        expect(cards).to_have_count(1)
        assert "state=failed" in page.url and "q=Nairobi" in page.url
        expect(cards.locator(".kindling-job-states")).to_contain_text("send-to-dhis2 failed")

        message = failed_runs[0].message
        cards.get_by_role("link", name=f"Edit message {message.pk}").click()
        expect(page.get_by_text("no original copy is kept")).to_be_visible()
        page.get_by_label("Body (JSON)").fill('{"formID": "patient_registration_v7", "name": "Patient 4",}')
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("invalid JSON at line 1, column 59")).to_be_visible()
        page.get_by_label("Body (JSON)").fill('{"formID": "patient_registration_v7", "name": "Patient Five"}')
        page.get_by_role("button", name="Save").click()
        expect(page.locator("#message-body")).to_contain_text('"Patient Five"')
        message.refresh_from_db()
        assert message.body == {"formID": "patient_registration_v7", "name": "Patient Five"}
        # v1 starts a (message, job) pair at most once every 10 seconds: the reprocess above was the last.
        Run.objects.filter(message=message).update(created_at=timezone.now() - timedelta(minutes=1))
        page.get_by_role("button", name="Process").click()
        expect(page.get_by_text("Runs started for: send-to-dhis2.")).to_be_visible()
        assert Run.objects.filter(message=message).latest("id").initial_state == {
            "data": {"formID": "patient_registration_v7", "name": "Patient Five"}
        }

        menu(page, "Inbox").click()
        page.get_by_role("link", name="Post a message to the inbox").click()
        page.get_by_label("Body (JSON)").fill('{"formID": "patient_registration_v7", "name": "Walk-in"}')
        page.get_by_role("button", name="Post to the inbox").click()
        expect(page.get_by_text("Runs started for: send-to-dhis2.")).to_be_visible()
        assert Message.objects.filter(body__name="Walk-in").exists()


@pytest.mark.browser
def test_jobs_work_at_phone_width_by_keyboard(health, live_server):
    project = health

    with open_chromium() as browser:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        log_in(page, live_server.url, "alice@example.com")
        page.goto(f"{live_server.url}/projects/{project.slug}/jobs")
        # Nothing wider than the screen: no sideways scrolling on a phone.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

        page.get_by_role("switch", name="Switch nightly-sync on or off").focus()
        with page.expect_response(re.compile(r"/enabled$")):
            page.keyboard.press("Space")
        expect(page.get_by_role("switch", name="Switch nightly-sync on or off")).to_be_checked()
        assert Job.objects.get(name="nightly-sync").enabled is True
        # htmx swapped the switch in place and kept the focus on it.
        assert (
            page.evaluate("document.activeElement.id")
            == f"job-{Job.objects.get(name='nightly-sync').pk}-enabled"
        )

        page.get_by_role("link", name="View nightly-sync").focus()
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="nightly-sync", exact=True)).to_be_visible()
        page.get_by_role("button", name="Make private").focus()
        page.keyboard.press("Enter")
        expect(page.locator(".kindling-private-badge")).to_be_visible()
        assert Job.objects.get(name="nightly-sync").private is True
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
