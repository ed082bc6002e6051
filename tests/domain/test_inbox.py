"""POST /inbox/<uuid>: parse, store the message and start its runs (spec sections 2, 3 and 7)."""

import io
import json
import uuid

import pytest
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.test import Client

from kindling.inbox.models import Message
from kindling.inbox.receive import receive
from kindling.inbox.views import inbox as inbox_view
from kindling.runs.models import Run
from tests.conftest import make_job, make_project, make_trigger

ACCEPTED = {"meta": {"message": "Data accepted and processing has begun."}, "data": [], "errors": []}


def inbox(project) -> str:
    return f"/inbox/{project.inbox_uuid}"


def post_json(client, project, body, **kw):
    return client.post(inbox(project), data=json.dumps(body), content_type="application/json", **kw)


def accepted(*job_names) -> dict:
    return {**ACCEPTED, "data": list(job_names)}


@pytest.fixture
def job(project):
    return make_job(project, "job-1", make_trigger(project, "trigger-1", criteria={"number": 2}))


def test_it_accepts_a_json_message_and_starts_the_matching_run(client, project, job):
    response = post_json(client, project, {"number": 2, "name": "Jack"})
    assert response.status_code == 202
    assert response.json() == accepted("job-1")
    message = Message.objects.get()
    assert (message.project, message.body) == (project, {"number": 2, "name": "Jack"})
    run = Run.objects.get()
    assert (run.job, run.message, run.status, run.cause) == (job, message, "pending", "message")


def test_the_run_starts_from_the_body_as_data_without_configuration(client, project, job):
    post_json(client, project, {"number": 2})
    assert Run.objects.get().initial_state == {"data": {"number": 2}}


def test_it_stores_the_headers_but_not_the_secrets(client, project, job):
    headers = {
        "X-Source": "kobo",
        "Authorization": "Basic dXNlcjpwYXNz",
        "Cookie": "sessionid=abc",
        "X-Api-Key": "k-123",
        "Proxy-Authorization": "Basic eDp5",
    }
    post_json(client, project, {"number": 2}, headers=headers)
    stored = Message.objects.get().headers
    assert stored["x-source"] == "kobo"
    assert stored["content-type"] == "application/json"
    assert {"authorization", "cookie", "x-api-key", "proxy-authorization"}.isdisjoint(stored)
    assert "dXNlcjpwYXNz" not in json.dumps(stored) and "k-123" not in json.dumps(stored)


def test_it_stores_a_message_that_matches_nothing_without_runs(client, project, job):
    response = post_json(client, project, {"number": 3})
    assert (response.status_code, response.json()) == (202, ACCEPTED)
    assert Message.objects.get().body == {"number": 3}
    assert not Run.objects.exists()


def test_it_starts_no_run_for_a_switched_off_job(client, project, job):
    job.enabled = False
    job.save()
    response = post_json(client, project, {"number": 2})
    assert response.json() == ACCEPTED
    assert Message.objects.count() == 1 and not Run.objects.exists()


def test_it_starts_no_run_for_an_archived_job(client, project, job):
    job.archived = True
    job.save()
    response = post_json(client, project, {"number": 2})
    assert response.json() == ACCEPTED
    assert Message.objects.count() == 1 and not Run.objects.exists()


def test_it_ignores_cron_flow_and_catch_triggers(client, project, job):
    make_job(project, "cron-job", make_trigger(project, "every-minute", kind="cron", cron="* * * * *"))
    make_job(project, "flow-job", make_trigger(project, "after-j1", kind="flow", upstream_job=job))
    make_job(project, "catch-job", make_trigger(project, "fail-j1", kind="catch", upstream_job=job))
    response = post_json(client, project, {"number": 2})
    assert response.json() == accepted("job-1")
    assert list(Run.objects.values_list("job__name", flat=True)) == ["job-1"]


def test_one_message_can_start_runs_of_several_triggers_and_jobs(client, project, job):
    make_job(project, "job-2", job.trigger)
    everything = make_trigger(project, "everything", criteria={})
    make_job(project, "audit", everything)
    make_job(project, "audit-off", everything, enabled=False)
    make_job(project, "audit-archived", everything, archived=True)
    make_job(project, "other", make_trigger(project, "other", criteria={"number": 5}))
    response = post_json(client, project, {"number": 2})
    assert response.status_code == 202
    assert sorted(response.json()["data"]) == ["audit", "job-1", "job-2"]
    message = Message.objects.get()
    assert sorted(Run.objects.filter(message=message).values_list("job__name", flat=True)) == [
        "audit",
        "job-1",
        "job-2",
    ]


def test_it_respects_exclusion_criteria(client, project):
    trigger = make_trigger(
        project, "consenting", criteria={"name": "john doe"}, exclusion={"allowedToShare": False}
    )
    make_job(project, "share", trigger)
    excluded = post_json(client, project, {"name": "john doe", "allowedToShare": False})
    included = post_json(client, project, {"name": "john doe", "dob": "1986-05-16"})
    assert (excluded.json(), included.json()) == (ACCEPTED, accepted("share"))
    assert Message.objects.count() == 2
    assert Run.objects.get().message.body == {"name": "john doe", "dob": "1986-05-16"}


def test_it_only_starts_jobs_of_its_own_project(client, project, job, charlie):
    other = make_project(charlie, "Other")
    make_job(other, "job-1", make_trigger(other, "trigger-1", criteria={}))
    response = post_json(client, project, {"number": 2})
    assert response.json() == accepted("job-1")
    assert Run.objects.get().project == project
    assert not Message.objects.filter(project=other).exists()


@pytest.mark.parametrize("content_type", ["text/xml", "application/xml", "application/xml; charset=utf-8"])
def test_it_stores_an_xml_body_converted_to_json(client, project, content_type):
    make_job(
        project,
        "odk",
        make_trigger(project, "form-x", criteria={"data": {"@xmlns": "http://openrosa.org/formdesigner/X"}}),
    )
    xml = '<?xml version="1.0"?><data xmlns="http://openrosa.org/formdesigner/X"><q1>a</q1><q1>b</q1></data>'
    response = client.post(inbox(project), data=xml, content_type=content_type)
    assert (response.status_code, response.json()) == (202, accepted("odk"))
    body = {"data": {"@xmlns": "http://openrosa.org/formdesigner/X", "q1": ["a", "b"]}}
    assert Message.objects.get().body == body
    assert Run.objects.get().initial_state == {"data": body}


def test_it_stores_a_form_encoded_body_as_an_object(client, project):
    make_job(project, "form", make_trigger(project, "from-form", criteria={"name": "Jack"}))
    response = client.post(
        inbox(project),
        data="name=Jack&tags=a&tags=b&empty=&city=S%C3%A3o+Paulo",
        content_type="application/x-www-form-urlencoded",
    )
    assert (response.status_code, response.json()) == (202, accepted("form"))
    assert Message.objects.get().body == {
        "name": "Jack",
        "tags": ["a", "b"],
        "empty": "",
        "city": "São Paulo",
    }


def test_it_rejects_malformed_json_naming_line_and_column(client, project, job):
    raw = '{\n  "number": 2,\n  oops\n}'
    response = client.post(inbox(project), data=raw, content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "invalid JSON at line 3, column 3" in response.json()["error"]
    assert not Message.objects.exists() and not Run.objects.exists()


def test_it_rejects_malformed_xml_naming_line_and_column(client, project, job):
    response = client.post(inbox(project), data="<a>\n<b></a>", content_type="text/xml")
    assert response.status_code == 400
    assert "line 2, column 6" in response.json()["error"]
    assert not Message.objects.exists()


def test_it_rejects_xml_with_a_doctype(client, project, job):
    xml = '<!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>'
    response = client.post(inbox(project), data=xml, content_type="application/xml")
    assert response.status_code == 400
    assert "not accepted" in response.json()["error"]
    assert not Message.objects.exists()


@pytest.mark.parametrize("raw", ["", "  \n "], ids=["empty", "blank"])
def test_it_rejects_an_empty_body(client, project, job, raw):
    response = client.post(inbox(project), data=raw, content_type="application/json")
    assert response.status_code == 400
    assert "empty" in response.json()["error"]
    assert not Message.objects.exists() and not Run.objects.exists()


def test_it_rejects_a_body_over_8_mb_with_413(client, project, job):
    raw = '{"x":"' + "a" * settings.INBOX_MAX_BYTES + '"}'
    response = client.post(inbox(project), data=raw, content_type="application/json")
    assert response.status_code == 413
    assert "8 MB" in response.json()["error"]
    assert not Message.objects.exists() and not Run.objects.exists()


def test_it_rejects_a_declared_length_over_8_mb_before_reading_the_body(client, project, job):
    response = client.post(
        inbox(project),
        data='{"number": 2}',
        content_type="application/json",
        CONTENT_LENGTH=str(settings.INBOX_MAX_BYTES + 1),
    )
    assert response.status_code == 413
    assert not Message.objects.exists() and not Run.objects.exists()


def test_it_rejects_an_invalid_content_length(client, project, job):
    response = client.post(
        inbox(project), data='{"number": 2}', content_type="application/json", CONTENT_LENGTH="twelve"
    )
    assert (response.status_code, response.json()) == (400, {"error": "Invalid Content-Length header."})
    assert not Message.objects.exists()


def test_it_rejects_a_chunked_body_over_8_mb_that_declares_no_length(project, job):
    raw = b'{"x":"' + b"a" * settings.INBOX_MAX_BYTES + b'"}'
    scope = {
        "type": "http",
        "method": "POST",
        "path": inbox(project),
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")],
    }
    response = inbox_view(ASGIRequest(scope, io.BytesIO(raw)), project.inbox_uuid)
    assert response.status_code == 413
    assert not Message.objects.exists() and not Run.objects.exists()


def test_it_accepts_a_body_of_exactly_8_mb(client, project):
    make_job(project, "big", make_trigger(project, "all", criteria={}))
    raw = '{"x":"' + "a" * (settings.INBOX_MAX_BYTES - len('{"x":""}')) + '"}'
    response = client.post(inbox(project), data=raw, content_type="application/json")
    assert (response.status_code, response.json()) == (202, accepted("big"))
    assert len(Message.objects.get().body["x"]) == settings.INBOX_MAX_BYTES - 8


def test_it_answers_404_in_json_for_an_unknown_inbox(client, project, job):
    response = client.post(f"/inbox/{uuid.uuid4()}", data='{"number": 2}', content_type="application/json")
    assert response.status_code == 404
    assert response.json() == {"error": "No inbox at this address."}
    assert not Message.objects.exists()


def test_it_answers_404_in_json_for_an_address_that_is_not_a_uuid(client, project, job):
    response = client.post("/inbox/not-a-uuid", data='{"number": 2}', content_type="application/json")
    assert response.status_code == 404
    assert response.json() == {"error": "No inbox at this address."}


# WHATWG's urlencoded parser never fails: an empty field is skipped and a bare name has an empty value.
def test_it_parses_form_bodies_as_browsers_do(client, project):
    response = client.post(
        inbox(project), data="name=Jack&&flag", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 202
    assert Message.objects.get().body == {"name": "Jack", "flag": ""}


def test_it_answers_405_to_get(client, project, job):
    response = client.get(inbox(project))
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert "error" in response.json()
    assert not Message.objects.exists()


def test_it_needs_no_csrf_token(project, job):
    response = post_json(Client(enforce_csrf_checks=True), project, {"number": 2})
    assert response.status_code == 202
    assert Run.objects.count() == 1


def test_the_inbox_address_survives_a_rename(client, project, job):
    address = inbox(project)
    project.name = "Renamed"
    project.save()
    response = client.post(address, data='{"number": 2}', content_type="application/json")
    assert response.json() == accepted("job-1")


def test_a_message_is_not_stored_when_its_runs_cannot_be_created(project, job, monkeypatch):
    def broken(message):
        raise RuntimeError("database went away")

    monkeypatch.setattr("kindling.runs.queue.runs_for_message", broken)
    with pytest.raises(RuntimeError):
        receive(project.pk, {"number": 2}, {})
    assert not Message.objects.exists() and not Run.objects.exists()


# Bodies that parse but that no database would store: refused with a 400, never a 500.
UNSTORABLE = [
    pytest.param('{"a": NaN}', "application/json", "NaN is not a JSON value", id="nan"),
    pytest.param('{"a": -Infinity}', "application/json", "-Infinity is not a JSON value", id="infinity"),
    pytest.param('{"a": "x\\u0000y"}', "application/json", "NUL character", id="nul-in-value"),
    pytest.param('{"a\\u0000": 1}', "application/json", "NUL character", id="nul-in-key"),
    pytest.param('{"a": "\\ud800"}', "application/json", "unpaired UTF-16 surrogate", id="lone-surrogate"),
    pytest.param("[" * 100_000 + "]" * 100_000, "application/json", "nested more than 500", id="deep-json"),
    pytest.param(
        '{"a":' * 600 + "1" + "}" * 600, "application/json", "nested more than 500", id="deep-json-objects"
    ),
    pytest.param("<a>" * 50_000 + "</a>" * 50_000, "text/xml", "nested more than 500", id="deep-xml"),
    pytest.param("a=x%00y", "application/x-www-form-urlencoded", "NUL character", id="nul-in-form"),
    pytest.param(b'{"a": "\xe9"}', "application/json", "not UTF-8", id="latin-1"),
    pytest.param("null", "application/json", "A body of null cannot be stored", id="top-level-null"),
    pytest.param(" null\n", "application/json", "A body of null cannot be stored", id="null-spaced"),
    pytest.param('{"a": 1e400}', "application/json", "beyond 1.8e308", id="1e400"),
    pytest.param('{"a": [-1e400]}', "application/json", "beyond -1.8e308", id="minus-1e400"),
    pytest.param("1" * 310 + ".5", "application/json", "beyond 1.8e308", id="310-digits-and-a-fraction"),
    pytest.param('{"a": ' + "9" * 4301 + "}", "application/json", "more than 4,300 digits", id="4301-digits"),
]


@pytest.mark.parametrize(("raw", "content_type", "error"), UNSTORABLE)
def test_it_refuses_a_body_it_cannot_store_with_400(client, project, job, raw, content_type, error):
    response = client.post(inbox(project), data=raw, content_type=content_type)
    assert response.status_code == 400
    assert error in response.json()["error"]
    assert not Message.objects.exists() and not Run.objects.exists()


def test_it_accepts_the_largest_numbers_a_float_holds(client, project, job):
    # PostgreSQL's jsonb gives 1e308 back as the integer it is (309 digits): compared as numbers.
    raw = '{"big": 1e308, "small": -1.7e308}'
    response = client.post(inbox(project), data=raw, content_type="application/json")
    assert response.status_code == 202
    assert {key: float(value) for key, value in Message.objects.get().body.items()} == json.loads(raw)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param('{"emoji": "\\ud83d\\ude00", "nul": "\\\\u0000"}', id="escapes-that-are-fine"),
        pytest.param('{"a":' * 400 + '"[[[[{{{{"' + "}" * 400, id="400-levels"),
        pytest.param(json.dumps({"rows": [[i] for i in range(2000)]}), id="many-brackets-shallow"),
        pytest.param('{"tiny": 1e-400, "digits": ' + "9" * 4300 + "}", id="numbers-that-fit"),
        pytest.param('{"text": "1e400 and ' + "1" * 400 + '"}', id="huge-numbers-in-text"),
    ],
)
def test_it_stores_bodies_close_to_those_limits(client, project, job, raw):
    response = client.post(inbox(project), data=raw, content_type="application/json")
    assert response.status_code == 202
    assert Message.objects.get().body == json.loads(raw)
