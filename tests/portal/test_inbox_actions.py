"""Inbox filters (body text, date, matching trigger, run state), and a message's edit, process, post."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from kindling.inbox.models import Message
from kindling.lib.jsonmatch import matches
from kindling.runs.models import Run
from kindling.runs.states import job_states
from tests.conftest import make_job, make_trigger, post_message
from tests.domain.test_jsonmatch import WORKED_CASES
from tests.portal.conftest import make_run


@pytest.fixture
def inbox(project):
    return reverse("project-inbox", args=[project.slug])


def message_ids(html) -> list[int]:
    return [int(n) for n in re.findall(r'<article class="[^"]*kindling-message" id="message-(\d+)"', html)]


def received(message, **ago):
    Message.objects.filter(pk=message.pk).update(received_at=timezone.now() - timedelta(**ago))


def test_it_shows_the_last_30_days_by_default_and_more_on_request(client_for, project, alice, inbox):
    recent, _ = post_message(project, {"n": 1})
    old, _ = post_message(project, {"n": 2})
    received(old, days=45)
    client = client_for(alice)

    assert message_ids(client.get(inbox).content.decode()) == [recent.pk]
    assert message_ids(client.get(inbox, {"date": "90d"}).content.decode()) == [recent.pk, old.pk]


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("india", ["india"]),
        ("Jack", ["jack"]),
        ("München", ["munich"]),
        ('"district": "Kisumu"', ["kisumu"]),
        ("Kis", []),  # full text (issue 15): whole words; the Search Console finds substrings
        ("zzz", []),
    ],
)
def test_body_text_search(client_for, project, alice, inbox, query, found):
    bodies = {
        "india": {"country": "India", "n": 1},
        "jack": {"name": "jack"},
        "munich": {"city": "München"},
        "kisumu": {"district": "Kisumu"},
    }
    ids = {post_message(project, body)[0].pk: name for name, body in bodies.items()}

    html = client_for(alice).get(inbox, {"q": query}).content.decode()

    assert sorted(ids[pk] for pk in message_ids(html)) == sorted(found)


@pytest.mark.parametrize(("body", "inclusion", "exclusion", "expected"), WORKED_CASES)
def test_the_trigger_filter_decides_every_worked_case_like_the_inbox(
    client_for, project, alice, inbox, body, inclusion, exclusion, expected
):
    trigger = make_trigger(project, "t", criteria=inclusion, exclusion=exclusion)
    message, _ = post_message(project, body)
    post_message(project, {"unrelated": True})

    html = client_for(alice).get(inbox, {"trigger": trigger.pk}).content.decode()

    assert matches(body, inclusion, exclusion) is expected
    assert message_ids(html) == ([message.pk] if expected else [])


def test_find_messages_matching_a_trigger_from_its_card(client_for, project, alice, inbox):
    trigger = make_trigger(project, "registrations", criteria={"formID": "v7"})
    wanted, _ = post_message(project, {"formID": "v7", "name": "a"})
    post_message(project, {"formID": "v8"})
    client = client_for(alice)

    cards = client.get(reverse("trigger-list", args=[project.slug])).content.decode()
    link = re.search(r'href="([^"]+)">Find messages matching this trigger', cards).group(1)
    html = client.get(link).content.decode()

    assert link == f"{inbox}?trigger={trigger.pk}"
    assert message_ids(html) == [wanted.pk]
    assert f'<option value="{trigger.pk}" selected>registrations</option>' in html


def test_a_trigger_of_another_project_finds_nothing(client_for, project, alice, inbox):
    from tests.conftest import make_project

    other = make_trigger(make_project(alice, "Other"), criteria={})
    post_message(project, {"n": 1})

    html = client_for(alice).get(inbox, {"trigger": other.pk}).content.decode()

    assert message_ids(html) == []
    assert "No such trigger in this project." in html


@pytest.fixture
def states(project):
    """Messages in each run state (spec section 8: the last finished run decides)."""
    job, other = make_job(project, "a"), make_job(project, "b")
    failed, _ = post_message(project, {"m": "failed"})
    make_run(job, message=failed, status=Run.Status.SUCCESS)
    make_run(job, message=failed, status=Run.Status.FAILED, exit_code=1)
    Run.objects.filter(message=failed, status=Run.Status.SUCCESS).update(
        finished_at=timezone.now() - timedelta(hours=1)
    )
    fixed, _ = post_message(project, {"m": "fixed"})
    make_run(job, message=fixed, status=Run.Status.FAILED, exit_code=1)
    make_run(job, message=fixed, status=Run.Status.SUCCESS)
    Run.objects.filter(message=fixed, status=Run.Status.FAILED).update(
        finished_at=timezone.now() - timedelta(hours=1)
    )
    waiting, _ = post_message(project, {"m": "waiting"})
    make_run(other, message=waiting, status=Run.Status.PENDING)
    aborted, _ = post_message(project, {"m": "aborted"})
    make_run(job, message=aborted, status=Run.Status.ABORTED, exit_code=6)
    nothing, _ = post_message(project, {"m": "nothing"})
    return {"failed": failed, "success": fixed, "pending": waiting, "aborted": aborted, "none": nothing}


@pytest.mark.parametrize("state", ["failed", "success", "pending", "aborted", "none"])
def test_the_run_state_filter(client_for, project, alice, inbox, states, state):
    html = client_for(alice).get(inbox, {"state": state}).content.decode()

    assert message_ids(html) == [states[state].pk]


def test_the_run_state_filter_agrees_with_the_job_states_shown(states):
    assert set(job_states(states["failed"]).values()) == {"failed"}
    assert set(job_states(states["success"]).values()) == {"success"}


def test_filters_combine_and_stay_in_the_pager_links(client_for, project, alice, inbox):
    trigger = make_trigger(project, "t", criteria={"kind": "x"})
    for n in range(25):
        post_message(project, {"kind": "x", "n": n, "tag": "keep"})
    post_message(project, {"kind": "y", "tag": "keep"})

    html = client_for(alice).get(inbox, {"trigger": trigger.pk, "q": "keep", "date": "7d"}).content.decode()

    assert len(message_ids(html)) == 20
    older = re.search(r'href="\?([^"]*)" rel="next"', html).group(1)
    assert f"trigger={trigger.pk}" in older and "q=keep" in older and "date=7d" in older


def test_editing_a_message_warns_that_no_copy_is_kept_and_saves_the_body(client_for, project, alice):
    message, _ = post_message(project, {"name": "Jak"})
    edit = reverse("message-edit", args=[project.slug, message.pk])
    client = client_for(alice)

    page = client.get(edit).content.decode()
    response = client.post(edit, {"body": '{"name": "Jack"}'})

    assert "no original copy is kept" in page
    assert (
        'aria-label="Edit message body"'
        in client.get(reverse("message-detail", args=[project.slug, message.pk])).content.decode()
    )
    message.refresh_from_db()
    assert message.body == {"name": "Jack"}
    assert response["Location"] == reverse("message-detail", args=[project.slug, message.pk])


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('{"name": "Jack",\n "age": }', "invalid JSON at line 2, column 9"),
        ("", "The body is empty"),
        ("null", "A body of null cannot be stored"),
        ('{"a": NaN}', "NaN is not a JSON value"),
    ],
)
def test_an_invalid_body_is_refused_with_its_position(client_for, project, alice, text, error):
    message, _ = post_message(project, {"name": "Jak"})

    response = client_for(alice).post(
        reverse("message-edit", args=[project.slug, message.pk]), {"body": text}
    )

    assert response.status_code == 400
    assert error in response.content.decode()
    message.refresh_from_db()
    assert message.body == {"name": "Jak"}


def test_the_inbox_has_a_pencil_and_paper_icon_for_each_message(client_for, project, alice, inbox):
    message, _ = post_message(project, {"n": 1})

    html = client_for(alice).get(inbox).content.decode()

    edit = reverse("message-edit", args=[project.slug, message.pk])
    assert f'href="{edit}"\n         aria-label="Edit message {message.pk}"' in html
    assert "bi-pencil-square" in html


def test_processing_matches_the_message_against_the_current_triggers(client_for, project, alice):
    message, runs = post_message(project, {"number": 2})
    assert runs == []
    job = make_job(project, "double", make_trigger(project, criteria={"number": 2}))

    response = client_for(alice).post(
        reverse("message-process", args=[project.slug, message.pk]), follow=True
    )

    run = Run.objects.get(message=message)
    assert (run.job, run.initial_state) == (job, {"data": {"number": 2}})
    assert "Runs started for: double." in response.content.decode()


def test_processing_an_edited_message_runs_on_the_new_body(client_for, project, alice):
    make_job(project, "double", make_trigger(project, criteria={"number": 2}))
    message, _ = post_message(project, {"number": 1})
    client = client_for(alice)

    client.post(reverse("message-edit", args=[project.slug, message.pk]), {"body": '{"number": 2}'})
    client.post(reverse("message-process", args=[project.slug, message.pk]))

    assert Run.objects.get(message=message).initial_state == {"data": {"number": 2}}


def test_processing_twice_within_10_seconds_starts_nothing_new(client_for, project, alice):
    make_job(project, "double", make_trigger(project, criteria={"number": 2}))
    message, _ = post_message(project, {"number": 2})

    response = client_for(alice).post(
        reverse("message-process", args=[project.slug, message.pk]), follow=True
    )

    assert Run.objects.filter(message=message).count() == 1
    assert "less than 10 seconds ago" in response.content.decode()


def test_posting_a_message_from_the_portal(client_for, project, alice, inbox):
    job = make_job(project, "double", make_trigger(project, criteria={"number": 2}))
    client = client_for(alice)

    page = client.get(inbox).content.decode()
    response = client.post(
        reverse("message-create", args=[project.slug]), {"body": '{"number": 2}'}, follow=True
    )

    assert 'aria-label="Post a message to the inbox"' in page
    message = Message.objects.get()
    assert message.body == {"number": 2}
    assert message.headers == {"x-kindling-posted-by": "alice@example.com"}
    assert Run.objects.get(message=message).job == job
    assert "Runs started for: double." in response.content.decode()


def test_posting_invalid_json_keeps_the_text_and_says_where(client_for, project, alice):
    response = client_for(alice).post(reverse("message-create", args=[project.slug]), {"body": '{"a": 1'})

    html = response.content.decode()
    assert response.status_code == 400
    assert "invalid JSON at line 1, column 8" in html
    assert "{&quot;a&quot;: 1</textarea>" in html
    assert not Message.objects.exists()


def test_the_trigger_filter_finds_text_with_accents_quotes_and_nested_arrays(
    client_for, project, alice, inbox
):
    trigger = make_trigger(project, "t", criteria={"city": "München", "tags": [{"q": 'say "hi"'}]})
    wanted, _ = post_message(project, {"city": "München", "tags": [{"q": 'say "hi"', "n": 1}, {"x": 2}]})
    post_message(project, {"city": "Munchen", "tags": [{"q": 'say "hi"'}]})
    post_message(project, {"city": "München", "tags": [{"q": "say hi"}]})

    html = client_for(alice).get(inbox, {"trigger": trigger.pk}).content.decode()

    assert message_ids(html) == [wanted.pk]
