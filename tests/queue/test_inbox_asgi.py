"""The inbox served straight from ASGI (kindling/inbox/asgi.py) answers as the Django view does."""

import asyncio
import json
import time

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.test import Client

from kindling.asgi import application
from kindling.inbox.asgi import DISCARD_SECONDS, close_connections
from kindling.inbox.models import Message
from kindling.runs.models import Run
from tests.conftest import make_job, make_trigger

MB = 1024 * 1024


def call(path, body=b"", method="POST", headers=(), chunks=None, query="", leaves=False):
    """One request through the ASGI application: (status, headers, JSON body or raw bytes); None when
    nothing was answered. `leaves`: the client disconnects once it has sent the body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    pieces = chunks if chunks is not None else [body]
    messages = [
        {"type": "http.request", "body": piece, "more_body": i < len(pieces) - 1}
        for i, piece in enumerate(pieces)
    ]
    sent = []

    async def receive():
        if messages:
            return messages.pop(0)
        if leaves:
            return {"type": "http.disconnect"}
        await asyncio.Future()  # the client stays connected: Django listens for a disconnect meanwhile

    async def send(message):
        sent.append(message)

    async def request_then_close():
        await application(scope, receive, send)
        # The database connection of the thread that answered (the test database must be droppable).
        await sync_to_async(connections.close_all, thread_sensitive=True)()
        await close_connections()

    asyncio.run(request_then_close())
    if not sent:
        return None
    start = next(m for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    answer_headers = {name.decode(): value.decode() for name, value in start["headers"]}
    try:
        return start["status"], answer_headers, json.loads(content)
    except ValueError:
        return start["status"], answer_headers, content


def post(project, body: bytes, content_type="application/json", **kw):
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body))), *kw.pop("headers", ())]
    return call(f"/inbox/{project.inbox_uuid}", body, headers=headers, **kw)


@pytest.fixture
def job(transactional_db, project):
    return make_job(project, "job-1", make_trigger(project, "trigger-1", criteria={"number": 2}))


def test_it_accepts_a_message_stores_it_and_starts_its_run(project, job):
    status, headers, body = post(project, b'{"number": 2, "name": "Jack"}')
    assert status == 202
    assert body == {
        "meta": {"message": "Data accepted and processing has begun."},
        "data": ["job-1"],
        "errors": [],
    }
    assert headers["content-type"] == "application/json"
    assert headers["x-content-type-options"] == "nosniff"
    message = Message.objects.get()
    assert message.body == {"number": 2, "name": "Jack"}
    assert Run.objects.get().message == message


def test_it_stores_the_headers_but_not_the_secrets(project, job):
    post(
        project,
        b'{"number": 2}',
        headers=[
            ("X-Source", "kobo"),
            ("X-Api-Key", "k-1"),
            ("Authorization", "Basic eDp5"),
            ("X-Source", "again"),
        ],
    )
    stored = Message.objects.get().headers
    assert stored["x-source"] == "kobo,again"
    assert stored["content-type"] == "application/json"
    assert {"authorization", "x-api-key"}.isdisjoint(stored)


@pytest.mark.parametrize(
    ("path_of", "method", "raw", "content_type"),
    [
        (lambda p: f"/inbox/{p.inbox_uuid}", "POST", b'{"number": 2}', "application/json"),
        (lambda p: f"/inbox/{p.inbox_uuid}", "POST", b'{"number": ', "application/json"),
        (lambda p: f"/inbox/{p.inbox_uuid}", "POST", b"", "application/json"),
        (lambda p: f"/inbox/{p.inbox_uuid}", "POST", b"<a><number>2</number></a>", "application/xml"),
        (lambda p: f"/inbox/{p.inbox_uuid}", "POST", b"number=2&x=1", "application/x-www-form-urlencoded"),
        (lambda p: f"/inbox/{p.inbox_uuid}", "GET", b"", "application/json"),
        (lambda p: "/inbox/00000000-0000-0000-0000-000000000000", "POST", b"{}", "application/json"),
        (lambda p: "/inbox/not-a-uuid", "POST", b"{}", "application/json"),
    ],
)
def test_it_answers_as_the_django_view_does(project, job, path_of, method, raw, content_type):
    path = path_of(project)
    status, headers, body = call(path, raw, method=method, headers=[("Content-Type", content_type)])
    client = Client()
    view = client.generic(method, path, raw, content_type=content_type)
    assert (status, body) == (view.status_code, view.json())
    assert headers.get("allow") == view.headers.get("Allow")


def test_a_declared_length_over_8_mb_gets_413_and_its_body_is_read_and_dropped(project, job):
    # Read, so that the client is not reset before it reads the 413 (tests/queue/test_inbox_wire.py).
    chunks = [b"a" * MB] * 9
    status, _, body = call(
        f"/inbox/{project.inbox_uuid}", headers=[("Content-Length", str(9 * MB))], chunks=chunks
    )
    assert status == 413 and "8 MB" in body["error"]
    assert not Message.objects.exists()


def test_a_client_waiting_for_100_continue_gets_the_413_before_it_sends_its_body(project, job):
    headers = [("Content-Length", str(9 * MB)), ("Expect", "100-continue")]
    started = time.monotonic()
    # No body comes (the client waits): reading would wait DISCARD_SECONDS for nothing.
    status, _, body = call(f"/inbox/{project.inbox_uuid}", headers=headers, chunks=[])
    assert status == 413 and "8 MB" in body["error"]
    assert time.monotonic() - started < DISCARD_SECONDS / 2


def test_a_chunked_body_over_8_mb_gets_413(project, job):
    chunks = [b'{"x": "' + b"a" * MB] + [b"a" * MB] * 8 + [b'"}']
    status, _, body = call(
        f"/inbox/{project.inbox_uuid}", chunks=chunks, headers=[("Content-Type", "application/json")]
    )
    assert status == 413 and "8 MB" in body["error"]
    assert not Message.objects.exists()


def test_a_body_of_exactly_8_mb_in_chunks_is_accepted(project, job):
    padding = 8 * MB - len(b'{"number": 2, "x": ""}')
    whole = b'{"number": 2, "x": "' + b"a" * padding + b'"}'
    chunks = [whole[i : i + MB] for i in range(0, len(whole), MB)]
    status, _, body = call(
        f"/inbox/{project.inbox_uuid}", chunks=chunks, headers=[("Content-Type", "application/json")]
    )
    assert (status, body["data"]) == (202, ["job-1"])


def test_a_failure_answers_500_in_json_and_stores_nothing(project, job, monkeypatch):
    def broken(message, skip=None):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("kindling.runs.queue.runs_for_message", broken)
    status, _, body = post(project, b'{"number": 2}')
    assert status == 500 and "not stored" in body["error"]
    assert not Message.objects.exists()


def test_an_inbox_deleted_since_its_last_message_answers_404(project, job):
    assert post(project, b'{"number": 2}')[0] == 202  # its address is now remembered as known
    project.delete()

    status, _, body = post(project, b'{"number": 2}')

    assert (status, body) == (404, {"error": "No inbox at this address."})


def test_other_paths_are_left_to_django(project, job):
    status, headers, _ = call(f"/inbox/{project.inbox_uuid}/extra", b"{}")
    assert status == 404 and "application/json" not in headers.get("content-type", "")
    status, _, _ = call("/login", method="GET")
    assert status == 200
