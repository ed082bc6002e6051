"""The inbox stores the messages that arrive together in one transaction (group commit), and answers
each only once that transaction has committed: one failing message costs no other, and a group that
cannot commit is refused as a whole (500: send again), never answered 202 and lost."""

import asyncio
import json
import threading

import pytest
from asgiref.sync import sync_to_async
from django.db import connection, connections

from kindling.asgi import application
from kindling.inbox import asgi
from kindling.inbox.models import Message
from kindling.runs.models import Run
from tests.conftest import make_job, make_trigger


def scope_for(project, body: bytes) -> dict:
    path = f"/inbox/{project.inbox_uuid}"
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def post(project, body: bytes) -> tuple[int, dict]:
    sent, messages = [], [{"type": "http.request", "body": body, "more_body": False}]

    async def receive():
        if messages:
            return messages.pop(0)
        await asyncio.Future()

    async def send(message):
        sent.append(message)

    await application(scope_for(project, body), receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(content)


def post_together(project, bodies: list[bytes]) -> list[tuple[int, dict]]:
    """Post every body at once while the storing thread is busy, so that they wait, and are stored,
    together; returns the answers in the order of `bodies`."""

    async def together():
        await post(project, b'{"warm": "up"}')  # the inbox is known: no lookup among the group
        busy, release = threading.Event(), threading.Event()

        def hold():
            busy.set()
            release.wait(10)

        held = asyncio.ensure_future(asgi._storer.call(hold))
        await asyncio.get_running_loop().run_in_executor(None, busy.wait, 10)
        answers = asyncio.gather(*(post(project, body) for body in bodies))
        await asyncio.sleep(0)  # every request reaches the storer's queue before it is released
        while asgi._storer._tasks.qsize() < len(bodies):
            await asyncio.sleep(0.005)
        release.set()
        await held
        results = await answers
        await sync_to_async(connections.close_all, thread_sensitive=True)()
        await asgi.close_connections()
        return results

    return asyncio.run(together())


@pytest.fixture
def job(transactional_db, project):
    return make_job(project, "job-1", make_trigger(project, "trigger-1", criteria={}))


@pytest.fixture
def groups(monkeypatch):
    """The size of every group the storing thread stored together (groups on SQLite too: Kindling
    groups messages on PostgreSQL only, where a commit waits for the disk)."""
    monkeypatch.setattr(asgi._storer, "most", asgi.GROUP_MOST)
    sizes = []
    real = asgi.Storer._store_together

    def spy(self, group):
        sizes.append(len(group))
        return real(self, group)

    monkeypatch.setattr(asgi.Storer, "_store_together", spy)
    return sizes


def test_messages_that_arrive_together_are_stored_in_one_group_and_each_is_answered(project, job, groups):
    answers = post_together(project, [json.dumps({"n": n}).encode() for n in range(10)])
    assert [status for status, _ in answers] == [202] * 10
    assert groups == [10]
    assert sorted(m.body["n"] for m in Message.objects.exclude(body={"warm": "up"})) == list(range(10))
    assert Run.objects.filter(message__isnull=False).count() == 11


def test_a_message_that_fails_in_a_group_costs_no_other(project, job, groups, monkeypatch):
    real = asgi.answer_or_wait

    def fails_after_storing_boom(
        inbox_uuid, method, length, content_type, read, headers, client=None, query=""
    ):  # noqa: E501
        answered = real(inbox_uuid, method, length, content_type, read, headers, client, query)
        if b"boom" in read(1000):
            raise RuntimeError("a bug after the message was written")
        return answered

    monkeypatch.setattr(asgi, "answer_or_wait", fails_after_storing_boom)
    bodies = [b'{"n": 1}', b'{"n": "boom"}', b'{"n": 3}']
    answers = post_together(project, bodies)
    assert [status for status, _ in answers] == [202, 500, 202]
    assert "not stored" in answers[1][1]["error"]
    assert groups == [3]
    assert sorted(str(m.body["n"]) for m in Message.objects.exclude(body={"warm": "up"})) == ["1", "3"]


def test_on_sqlite_messages_are_stored_one_at_a_time(project, job, monkeypatch):
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL stores messages in groups")
    sizes = []
    monkeypatch.setattr(asgi.Storer, "_store_together", lambda self, group: sizes.append(len(group)))
    answers = post_together(project, [b'{"n": 1}', b'{"n": 2}', b'{"n": 3}'])
    assert [status for status, _ in answers] == [202, 202, 202]
    assert sizes == []


def test_a_group_that_cannot_commit_is_answered_500_and_keeps_nothing(project, job, groups, monkeypatch):
    real = asgi.respond_in_savepoint
    stored = []

    def breaks_the_transaction_on_the_last(*args):
        stored.append(real(*args))
        if len(stored) == 3:
            raise RuntimeError("the database went away before the commit")
        return stored[-1]

    monkeypatch.setattr(asgi, "respond_in_savepoint", breaks_the_transaction_on_the_last)
    answers = post_together(project, [b'{"n": 1}', b'{"n": 2}', b'{"n": 3}'])
    assert [status for status, _ in answers] == [500, 500, 500]
    assert [answer[0] for answer in stored] == [202, 202, 202]  # each was stored, then undone
    assert not Message.objects.exclude(body={"warm": "up"}).exists()
