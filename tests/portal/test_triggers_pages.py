"""The Triggers pages: cards, search by name or criteria, the form per kind, delete."""

import re

import pytest
from django.urls import reverse

from kindling.jobs.models import Trigger
from tests.conftest import make_job, make_trigger, post_message


@pytest.fixture
def triggers_url(project):
    return reverse("trigger-list", args=[project.slug])


def card_names(html) -> list[str]:
    return re.findall(r'id="trigger-\d+-name">([^<]+)</h2>', html)


def create(client, project, **data):
    return client.post(reverse("trigger-create", args=[project.slug]), data)


def test_cards_show_each_kind(client_for, project, alice, triggers_url):
    upstream = make_job(project, "send")
    make_trigger(project, "registrations", criteria={"formID": "v7"}, exclusion={"test": True})
    make_trigger(project, "nightly", Trigger.Kind.CRON, cron="0 2 * * *")
    make_trigger(project, "after-send", Trigger.Kind.CATCH, upstream_job=upstream)

    html = client_for(alice).get(triggers_url).content.decode()

    assert card_names(html) == ["after-send", "nightly", "registrations"]
    assert "{&quot;formID&quot;: &quot;v7&quot;}" in html and "{&quot;test&quot;: true}" in html
    assert '<code class="kindling-cron">0 2 * * *</code>' in html
    assert re.search(r"send</a>\s+fails", html)
    assert "Find messages matching this trigger" in html


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("regis", ["registrations"]),
        ('{"test": "data"}', ["tests-a", "tests-b"]),
        ('{"test":"data"}', ["tests-a", "tests-b"]),
        ('{"test": "da', ["tests-a", "tests-b"]),
        ('"formID"', ["registrations"]),
        ("nothing-like-it", []),
    ],
)
def test_search_finds_triggers_by_name_or_by_criteria(client_for, project, alice, triggers_url, query, found):
    make_trigger(project, "registrations", criteria={"formID": "v7"})
    make_trigger(project, "tests-a", criteria={"test": "data"})
    make_trigger(project, "tests-b", criteria={"other": 1, "test": "data"})
    make_trigger(project, "nightly", Trigger.Kind.CRON, cron="0 2 * * *")

    html = client_for(alice).get(triggers_url, {"q": query}, headers={"HX-Request": "true"}).content.decode()

    assert card_names(html) == found


def test_it_creates_a_message_filter_with_an_optional_exclusion(client_for, project, alice):
    response = create(
        client_for(alice),
        project,
        name="registrations",
        kind="message",
        criteria='{"formID": "v7"}',
        exclusion="",
    )

    trigger = Trigger.objects.get(name="registrations")
    assert (trigger.kind, trigger.criteria, trigger.exclusion) == ("message", {"formID": "v7"}, None)
    assert response["Location"] == reverse("trigger-edit", args=[project.slug, trigger.pk])


def test_invalid_criteria_are_refused_with_the_errors_position(client_for, project, alice):
    response = create(client_for(alice), project, name="t", kind="message", criteria='{"formID":\n  "v7",}')

    html = response.content.decode()
    assert "Inclusion criteria: invalid JSON at line 2, column 8" in html
    assert not Trigger.objects.exists()


@pytest.mark.parametrize("criteria", ['["formID"]', '"v7"', ""])
def test_criteria_must_be_a_json_object(client_for, project, alice, criteria):
    html = create(client_for(alice), project, name="t", kind="message", criteria=criteria).content.decode()

    assert "a JSON object" in html
    assert not Trigger.objects.exists()


def test_invalid_exclusion_is_refused_too(client_for, project, alice):
    html = create(
        client_for(alice), project, name="t", kind="message", criteria="{}", exclusion="{nope}"
    ).content.decode()

    assert "Exclusion criteria: invalid JSON at line 1, column 2" in html


def test_an_invalid_cron_expression_is_refused(client_for, project, alice):
    html = create(client_for(alice), project, name="t", kind="cron", cron="61 * * * *").content.decode()

    assert "is not a valid cron expression" in html
    assert not Trigger.objects.exists()


def test_a_cron_trigger_shows_its_next_five_fire_times(client_for, project, alice):
    client = client_for(alice)
    create(client, project, name="nightly", kind="cron", cron="0  2 * * *")
    trigger = Trigger.objects.get(name="nightly")

    html = client.get(reverse("trigger-edit", args=[project.slug, trigger.pk])).content.decode()

    assert trigger.cron == "0 2 * * *"
    times = re.findall(r'<time datetime="([^"]+)">', html)
    assert len(times) == 5
    assert all(t.endswith("T02:00:00+00:00") for t in times)


def test_the_cron_preview_answers_as_you_type(client_for, project, alice):
    client = client_for(alice)
    preview = reverse("trigger-cron-times", args=[project.slug])

    good = client.get(preview, {"cron": "*/15 * * * *"}).content.decode()
    bad = client.get(preview, {"cron": "every day"}).content.decode()

    assert len(re.findall(r"<time ", good)) == 5
    assert "must have 5 fields" in bad


def test_flow_and_catch_triggers_pick_a_job(client_for, project, alice):
    upstream = make_job(project, "send")

    create(
        client_for(alice),
        project,
        name="after-send",
        kind="flow",
        upstream_job=upstream.pk,
        criteria='{"ignored": true}',
        cron="* * * * *",
    )

    trigger = Trigger.objects.get(name="after-send")
    assert (trigger.kind, trigger.upstream_job, trigger.criteria, trigger.cron) == (
        "flow",
        upstream,
        None,
        "",
    )


def test_a_flow_trigger_needs_its_job(client_for, project, alice):
    html = create(client_for(alice), project, name="after", kind="catch").content.decode()

    assert "Choose the job whose end fires this trigger." in html


def test_editing_refuses_an_upstream_job_that_closes_a_cycle(client_for, project, alice):
    a = make_job(project, "a", make_trigger(project, "incoming"))
    after_a = make_trigger(project, "after-a", Trigger.Kind.FLOW, upstream_job=a)
    b = make_job(project, "b", after_a)
    c = make_job(project, "c", make_trigger(project, "after-b", Trigger.Kind.FLOW, upstream_job=b))

    # b after c, while c runs after b: one run of b would start itself forever.
    response = client_for(alice).post(
        reverse("trigger-edit", args=[project.slug, after_a.pk]),
        {"name": "after-a", "kind": "flow", "upstream_job": c.pk},
    )

    assert "start itself forever" in response.content.decode()
    after_a.refresh_from_db()
    assert after_a.upstream_job == a


def test_changing_a_trigger_changes_which_messages_start_its_jobs(client_for, project, alice):
    trigger = make_trigger(project, "t", criteria={"number": 2})
    job = make_job(project, trigger=trigger)

    client_for(alice).post(
        reverse("trigger-edit", args=[project.slug, trigger.pk]),
        {"name": "t", "kind": "message", "criteria": '{"number": 3}'},
    )

    assert post_message(project, {"number": 2})[1] == []
    assert [run.job for run in post_message(project, {"number": 3})[1]] == [job]


def test_deleting_a_trigger_leaves_its_jobs_without_one_and_they_do_not_run(client_for, project, alice):
    trigger = make_trigger(project, "t", criteria={"number": 2})
    job = make_job(project, "send", trigger)
    client = client_for(alice)

    edit = client.get(reverse("trigger-edit", args=[project.slug, trigger.pk])).content.decode()
    response = client.post(reverse("trigger-delete", args=[project.slug, trigger.pk]), follow=True)

    assert 'aria-label="Delete trigger" title="Delete trigger"' in edit and 'id="delete-dialog"' in edit
    assert not Trigger.objects.exists()
    job.refresh_from_db()
    assert job.trigger is None
    assert "will not run until they get one: send" in response.content.decode()
    assert post_message(project, {"number": 2})[1] == []
    jobs_page = client.get(reverse("job-list", args=[project.slug])).content.decode()
    assert "No trigger: this job does not run until it gets one." in jobs_page


def test_deleting_needs_post(client_for, project, alice):
    trigger = make_trigger(project)

    response = client_for(alice).get(reverse("trigger-delete", args=[project.slug, trigger.pk]))

    assert response.status_code == 405
    assert Trigger.objects.filter(pk=trigger.pk).exists()


def test_a_trigger_name_must_be_free(client_for, project, alice):
    make_trigger(project, "t")

    html = create(client_for(alice), project, name="t", kind="cron", cron="* * * * *").content.decode()

    assert "is already taken in this project" in html
