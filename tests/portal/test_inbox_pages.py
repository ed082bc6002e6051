import re
from datetime import timedelta
from html import unescape

import pytest
from django.db import connection
from django.urls import reverse

from kindling.inbox.pages import LIST_BODY_CHARS
from kindling.runs.models import Run
from tests.conftest import make_job, make_trigger, post_message
from tests.portal.conftest import make_run


@pytest.fixture
def inbox(project):
    return reverse("project-inbox", args=[project.slug])


def message_ids(html) -> list[int]:
    return [int(n) for n in re.findall(r'<article class="[^"]*kindling-message" id="message-(\d+)"', html)]


def job_states(card) -> list[tuple[str, str]]:
    """(job name, status) of each job-state badge of a message card."""
    return re.findall(r'#runs-title">(\S+)\s+<span class="badge[^"]*">(\w+)<', card)


def card_of(html, message) -> str:
    start = html.index(f'id="message-{message.pk}"')
    return html[start : html.index("</article>", start)]


def test_it_lists_the_messages_newest_first(client_for, project, alice, inbox):
    first, _ = post_message(project, {"n": 1})
    second, _ = post_message(project, {"n": 2})

    html = client_for(alice).get(inbox).content.decode()

    assert message_ids(html) == [second.pk, first.pk]


def test_it_shows_the_body_as_formatted_json_and_when_it_came(client_for, project, alice, inbox):
    # One key per object: PostgreSQL's jsonb does not keep the order of keys.
    message, _ = post_message(project, {"form": {"tags": ["a", "b"]}})

    card = unescape(card_of(client_for(alice).get(inbox).content.decode(), message))

    pretty = '{\n  "form": {\n    "tags": [\n      "a",\n      "b"\n    ]\n  }\n}'
    assert f'kindling-json">{pretty}</pre>' in card
    assert f'datetime="{message.received_at.isoformat()}"' in card


def test_it_shows_the_runs_a_message_started_with_job_and_status(client_for, project, alice, inbox):
    trigger = make_trigger(project, criteria={"number": 2})
    make_job(project, name="job-1", trigger=trigger)
    make_job(project, name="job-2", trigger=trigger)
    message, runs = post_message(project, {"number": 2})
    Run.objects.filter(pk=runs[0].pk).update(status=Run.Status.FAILED)

    card = card_of(client_for(alice).get(inbox).content.decode(), message)

    assert job_states(card) == [("job-1", "failed"), ("job-2", "pending")]


def test_the_last_finished_run_gives_the_job_state(client_for, project, alice, inbox):
    job = make_job(project)
    message, _ = post_message(project, {"number": 2})
    later = make_run(job, message=message, status=Run.Status.SUCCESS)
    earlier = make_run(job, message=message, status=Run.Status.FAILED, exit_code=1)
    Run.objects.filter(pk=earlier.pk).update(finished_at=later.finished_at - timedelta(seconds=30))
    make_run(job, message=message, status=Run.Status.PENDING)  # a reprocess still waiting

    card = card_of(client_for(alice).get(inbox).content.decode(), message)

    assert job_states(card) == [("job-1", "success")]


def test_a_message_that_started_nothing_says_so(client_for, project, alice, inbox):
    message, _ = post_message(project, {"unmatched": True})

    card = card_of(client_for(alice).get(inbox).content.decode(), message)

    assert "no runs: it matched no trigger of a switched-on job" in card


def test_a_long_body_is_shortened_with_a_link_to_the_whole_message(client_for, project, alice, inbox):
    message, _ = post_message(project, {"text": "x" * (LIST_BODY_CHARS + 10)})

    card = card_of(client_for(alice).get(inbox).content.decode(), message)
    whole = client_for(alice).get(reverse("message-detail", args=[project.slug, message.pk])).content.decode()

    assert "x" * (LIST_BODY_CHARS + 10) not in card
    assert "see all of message" in card
    assert "x" * (LIST_BODY_CHARS + 10) in whole


def test_the_number_of_queries_does_not_grow_with_the_messages(
    client_for, project, alice, inbox, django_assert_max_num_queries
):
    trigger = make_trigger(project, criteria={})
    make_job(project, name="job-1", trigger=trigger)
    make_job(project, name="job-2", trigger=trigger)
    client = client_for(alice)
    post_message(project, {"n": 0})
    client.get(inbox)
    # PostgreSQL: one more, `SET LOCAL jit = off` before the page's query (see runs/filters.py); and
    # one for the project menu's queue indicator (pending and running runs).
    with django_assert_max_num_queries(10 if connection.vendor == "postgresql" else 9) as few:
        client.get(inbox)
    for n in range(1, 20):
        post_message(project, {"n": n})

    with django_assert_max_num_queries(len(few.captured_queries)):
        html = client.get(inbox).content.decode()
    assert len(message_ids(html)) == 20


def test_it_pages_the_messages(client_for, project, alice, inbox):
    oldest, _ = post_message(project, {"n": 0})
    for n in range(1, 21):
        post_message(project, {"n": n})

    first = client_for(alice).get(inbox).content.decode()
    older = unescape(re.search(r'href="(\?[^"]*before=[^"]+)" rel="next"', first).group(1))
    html = client_for(alice).get(inbox + older).content.decode()

    assert oldest.pk not in message_ids(first)
    assert message_ids(html) == [oldest.pk]


def test_the_message_page_shows_every_run_body_and_headers(client_for, project, alice):
    job = make_job(project)
    message, _ = post_message(project, {"number": 2}, {"User-Agent": "curl/8"})
    first = make_run(job, message=message, status=Run.Status.FAILED, exit_code=1)
    second = make_run(job, message=message)

    html = client_for(alice).get(reverse("message-detail", args=[project.slug, message.pk])).content.decode()

    assert re.findall(r'<tr id="run-(\d+)"', html) == [str(second.pk), str(first.pk)]
    assert '{\n  "number": 2\n}' in unescape(html)
    assert '"user-agent": "curl/8"' in unescape(html)


def test_the_inbox_entry_of_the_menu_is_current(client_for, project, alice, inbox):
    html = client_for(alice).get(inbox).content.decode()

    assert f'class="nav-link active" aria-current="page" href="{inbox}"' in html
    assert f'value="{project.inbox_url}"' in html
