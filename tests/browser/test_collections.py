"""Collections and the inbox reply setting in Debian's chromium: a collaborator creates a collection,
finds items by key pattern, reads one, deletes it and then the collection; an administrator sets a
message trigger to reply after its runs finish."""

import pytest
from playwright.sync_api import expect

from kindling.collections import store
from kindling.collections.models import Collection, Item
from kindling.jobs.models import Trigger
from kindling.projects.models import Membership
from tests.browser.chromium import open_chromium
from tests.browser.test_portal import log_in
from tests.conftest import make_project, make_user

WIDE = {"width": 1280, "height": 900}


@pytest.fixture
def project(transactional_db, settings, live_server):
    settings.BASE_URL = live_server.url
    alice, bob = make_user("alice@example.com"), make_user("bob@example.com")
    project = make_project(alice)
    Membership.objects.create(project=project, user=bob, role=Membership.Role.COLLABORATOR)
    return project


@pytest.mark.browser
def test_a_collaborator_creates_browses_and_deletes_a_collection(project, live_server):
    with open_chromium() as browser:
        page = browser.new_page(viewport=WIDE)
        log_in(page, live_server.url, "bob@example.com")
        page.goto(f"{live_server.url}/projects/{project.slug}/")
        page.get_by_role("navigation", name="Project menu").get_by_role("link", name="Collections").click()
        page.get_by_label("New collection").fill("bad name!")
        page.get_by_role("button", name="Create collection").click()
        expect(page.get_by_role("alert").filter(has_text="A collection name is 1 to 100")).to_be_visible()

        page.get_by_label("New collection").fill("patients")
        page.get_by_role("button", name="Create collection").click()
        expect(page.get_by_role("heading", name="patients")).to_be_visible()
        collection = Collection.objects.get(project=project, name="patients")
        store.upsert(collection, [{"key": k, "value": f'{{"name": "{k}"}}'} for k in ("p-1", "p-2", "x-1")])

        page.reload()
        page.get_by_label("Key", exact=True).fill("p-*")
        page.get_by_role("button", name="Search").click()
        rows = page.locator("table.kindling-collection-items tbody tr")
        expect(rows).to_have_count(2)
        page.get_by_role("link", name="p-2").click()
        expect(page.locator(".kindling-collection-value")).to_contain_text('"name": "p-2"')
        page.get_by_role("button", name="Delete this item").click()
        expect(page.get_by_text("Item p-2 deleted from patients.")).to_be_visible()
        assert sorted(Item.objects.values_list("key", flat=True)) == ["p-1", "x-1"]

        page.get_by_label("Yes, delete patients and its 2 items").check()
        page.get_by_role("button", name="Delete collection").click()
        expect(page.get_by_text("Collection patients deleted with its items.")).to_be_visible()
        assert not Collection.objects.exists() and not Item.objects.exists()


@pytest.mark.browser
def test_a_message_trigger_is_set_to_reply_after_its_runs_finish(project, live_server):
    with open_chromium() as browser:
        page = browser.new_page(viewport=WIDE)
        log_in(page, live_server.url, "alice@example.com")
        page.goto(f"{live_server.url}/projects/{project.slug}/triggers/new")
        page.get_by_label("Name", exact=True).fill("registrations")
        page.get_by_label("Inclusion criteria").fill('{"form": "registration"}')
        page.get_by_label("Inbox reply").select_option(label="After the runs finish, with their results")
        page.get_by_role("button", name="Create trigger").click()
        expect(page.get_by_text("registrations").first).to_be_visible()
        assert Trigger.objects.get(name="registrations").reply == Trigger.Reply.AFTER_COMPLETION
