"""Plans in Debian's chromium: a project reaching its plan's limit (the threshold email through a
local SMTP server, rejected runs, reprocessing them later), and changing to a paid plan with a card
entered in the card form served by the local Stripe stand-in."""

import pytest
from playwright.sync_api import expect

from kindling.runs.models import Run
from tests.browser.chromium import open_chromium
from tests.browser.test_portal import log_in
from tests.conftest import make_job, make_plan, make_project, make_trigger, make_user
from tests.plans.conftest import wait_for_mail


@pytest.mark.browser
def test_a_project_reaches_its_limit_is_emailed_and_its_rejected_runs_are_reprocessed_after_an_upgrade(
    live_server, transactional_db, settings, smtp_settings
):
    settings.BASE_URL = live_server.url
    make_plan("Free", runs_per_month=5, max_concurrency=1, is_default=True)
    alice, bob = make_user("alice@example.com", is_staff=True), make_user("bob@example.com")
    project = make_project(alice)
    project.memberships.create(user=bob, role="collaborator")
    make_job(project, "job-1", make_trigger(project, criteria={"form": "visit"}))
    make_plan("Large", runs_per_month=1000, max_concurrency=2, price_label="Self-hosted")

    with open_chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        log_in(page, live_server.url, "alice@example.com")
        page.get_by_role("link", name="Health Ministry").click()
        page.get_by_role("link", name="Plan & usage").click()
        expect(page.locator("#usage-summary")).to_contain_text("0 of 5 runs used (0%)")
        expect(page.locator("#usage-chart")).to_be_visible()

        answers = [page.request.post(project.inbox_url, data={"form": "visit"}).json() for _ in range(6)]
        assert [a["data"] for a in answers] == [["job-1"]] * 5 + [[]]
        assert answers[5]["errors"][0].startswith(
            "job-1: Rejected: the project has used all 5 runs of its Free plan"
        )

        # 85% of 5 runs: the notice went out with the 5th run, to every member, once.
        [(_sender, recipients, mail)] = wait_for_mail(smtp_settings)
        assert sorted(recipients) == ["alice@example.com", "bob@example.com"]
        assert "has used 5 of the 5 runs its Free plan allows" in mail.get_payload()

        page.reload()
        expect(page.locator("#usage-summary")).to_contain_text("5 of 5 runs used (100%)")
        expect(page.locator("#rejected-note")).to_contain_text("1 run rejected this cycle")
        page.locator("#rejected-note").get_by_role("link", name="reprocess them").click()
        rejected = Run.objects.get(status="rejected")
        row = page.locator(f"#run-{rejected.pk}")
        expect(row.locator(".kindling-status")).to_have_text("rejected")
        row.get_by_role("link", name=f"#{rejected.pk}").click()
        expect(page.get_by_text("Rejected: the project has used all 5 runs of its Free plan")).to_be_visible()

        # Upgrade (alice is an instance administrator: no billing provider), then reprocess.
        page.get_by_role("link", name="Plan & usage").click()
        slider = page.get_by_label("Plans")
        slider.focus()
        slider.press("ArrowRight")
        page.get_by_role("button", name="Change to Large").click()
        page.get_by_role("button", name="Confirm").click()
        expect(page.locator(".kindling-flash")).to_contain_text("Health Ministry is now on the Large plan.")
        expect(page.locator("#current-plan")).to_have_text("Large")

        page.goto(f"{live_server.url}/projects/{project.slug}/runs/{rejected.pk}")
        page.get_by_role("button", name="Reprocess").click()
        expect(page.locator(".kindling-flash")).to_contain_text("queued: it reprocesses run")
        assert Run.objects.filter(status="pending").count() == 6
        assert len(smtp_settings.received) == 1


@pytest.mark.browser
def test_changing_to_a_paid_plan_with_a_card_entered_in_the_stripe_form(
    live_server, transactional_db, settings, stripe_standin
):
    settings.BASE_URL = live_server.url
    make_plan("Free", runs_per_month=100, max_concurrency=1, is_default=True)
    make_plan(
        "Team",
        runs_per_month=10_000,
        max_concurrency=5,
        run_timeout=300,
        price_label="$49 / month",
        paid=True,
    )
    alice = make_user("alice@example.com")
    make_project(alice)

    with open_chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        log_in(page, live_server.url, "alice@example.com")
        page.get_by_role("link", name="Health Ministry").click()
        page.get_by_role("link", name="Plan & usage").click()
        expect(page.locator("#card-needed")).to_contain_text("Paid plans need a payment card.")

        page.get_by_role("link", name="Add Card").click()
        expect(page.get_by_role("heading", name="Add Card")).to_be_visible()
        page.get_by_label("Card number").fill("4000 0000 0000 0002")
        page.get_by_role("button", name="Save Card").click()
        expect(page.locator("#card-errors")).to_have_text("Your card was declined.")
        page.get_by_label("Card number").fill("4242 4242 4242 4242")
        page.get_by_label("MM / YY").fill("12 / 30")
        page.get_by_label("CVC").fill("123")
        page.get_by_role("button", name="Save Card").click()
        expect(page.locator(".kindling-flash")).to_contain_text("Card saved: Visa ending in 4242.")
        expect(page.get_by_role("heading", name="Plan & usage")).to_be_visible()

        slider = page.get_by_label("Plans")
        slider.focus()
        slider.press("ArrowRight")
        expect(page.locator(".kindling-plan:not([hidden])")).to_contain_text("$49 / month")
        page.get_by_role("button", name="Change to Team").click()
        expect(page.locator("#change-plan-body")).to_contain_text("It is a paid plan, billed to your card.")
        page.get_by_role("button", name="Confirm").click()
        expect(page.locator(".kindling-flash")).to_contain_text("Health Ministry is now on the Team plan.")

        page.get_by_role("button", name="Account menu").click()
        page.get_by_role("link", name="Billing").click()
        expect(page.locator("#billing-card")).to_have_text("Visa ending in 4242")
        row = page.locator("#billed-projects tbody tr")
        expect(row).to_contain_text("Team")
        expect(row).to_contain_text("0 of 10000 runs")
        # Kindling never saw the card number: only the stand-in's ids and the brand and last 4 digits.
        assert not any("4242424242424242" in str(params) for _m, _p, params in stripe_standin.requests)
