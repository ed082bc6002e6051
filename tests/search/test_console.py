"""The Search Console's substring search, on SQLite and PostgreSQL alike (run this file on both)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from kindling.inbox.models import Message
from kindling.lib.history import Window
from kindling.search.console import MAX_RESULTS, BadSearch, search
from tests.conftest import make_job, make_project, post_message
from tests.portal.conftest import make_run


def ids(found, kind):
    return [hit.id for hit in found[kind]]


@pytest.fixture
def history(project):
    job = make_job(project)
    patient, _ = post_message(project, {"patient": {"id": "798123", "city": "Zürich"}}, {"X-Source": "kobo"})
    other, _ = post_message(project, {"patient": {"id": "111"}, "note": "50% done_ok"})
    loaded = make_run(job, message=patient, logs=[("JOB", "info", "Loaded patient 798123 into DHIS2")])
    failed = make_run(job, logs=[("R/T", "error", "Error: 100% of_rows failed")])
    return {"patient": patient, "other": other, "loaded": loaded, "failed": failed}


def test_it_finds_a_substring_in_bodies_and_logs_by_default(project, history):
    found = search(project, "98123")

    assert set(found) == {"bodies", "logs"}
    assert ids(found, "bodies") == [history["patient"].pk]
    assert ids(found, "logs") == [history["loaded"].pk]
    hit = found["bodies"][0]
    assert hit.match == "98123" and "798123" in hit.excerpt


def test_it_ignores_case_also_outside_ascii(project, history):
    assert ids(search(project, "ZÜRICH", ["bodies"]), "bodies") == [history["patient"].pk]
    assert ids(search(project, "zür", ["bodies"]), "bodies") == [history["patient"].pk]
    assert ids(search(project, "dhis2", ["logs"]), "logs") == [history["loaded"].pk]


def test_percent_and_underscore_are_plain_characters(project, history):
    assert ids(search(project, "50% done", ["bodies"]), "bodies") == [history["other"].pk]
    assert ids(search(project, "e_o", ["bodies"]), "bodies") == [history["other"].pk]
    assert ids(search(project, "0%_", ["bodies"]), "bodies") == []
    assert ids(search(project, "% of_r", ["logs"]), "logs") == [history["failed"].pk]
    assert ids(search(project, "%_%", ["bodies", "logs"]), "logs") == []


def test_headers_are_searched_only_when_asked(project, history):
    assert "headers" not in search(project, "kobo")
    assert ids(search(project, "KOBO", ["headers"]), "headers") == [history["patient"].pk]


def test_it_keeps_to_the_date_range_and_the_project(project, history, alice):
    Message.objects.filter(pk=history["patient"].pk).update(received_at=timezone.now() - timedelta(days=40))
    elsewhere = make_project(alice, "Elsewhere")
    post_message(elsewhere, {"patient": {"id": "798123"}})
    recent = Window(timezone.now() - timedelta(days=30), None)

    assert ids(search(project, "798123", ["bodies"], recent), "bodies") == []
    assert ids(search(project, "798123", ["bodies"]), "bodies") == [history["patient"].pk]


def test_it_answers_ten_results_per_kind_at_most_newest_first(project):
    job = make_job(project)
    messages = [post_message(project, {"n": i, "form": "registration"})[0] for i in range(12)]
    run = make_run(job, logs=[("JOB", "info", "registration") for _ in range(60)])
    runs = [make_run(job, logs=[("JOB", "info", "registration")]) for _ in range(11)]

    found = search(project, "registration")

    assert ids(found, "bodies") == [m.pk for m in reversed(messages)][:MAX_RESULTS]
    assert ids(found, "logs") == [r.pk for r in reversed(runs)][:MAX_RESULTS]
    assert run.pk not in ids(found, "logs")


@pytest.mark.parametrize(("text", "kinds"), [("ab", ["bodies"]), ("  ", ["logs"]), ("abc", ["files"])])
def test_bad_searches_are_refused_with_a_reason(project, text, kinds):
    with pytest.raises(BadSearch):
        search(project, text, kinds)
