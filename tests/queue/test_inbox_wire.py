"""The inbox over real HTTP (uvicorn, as `kindling serve` runs it): every client error is a 4xx that
the client gets to read, and the bodies held in memory at once are capped."""

import asyncio
import json
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest
import uvicorn

from kindling.asgi import application
from kindling.inbox import asgi
from kindling.inbox.models import Message
from tests.conftest import make_job, make_trigger

MB = 1024 * 1024
UNKNOWN = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def job(transactional_db, project):
    return make_job(project, "job-1", make_trigger(project, "trigger-1", criteria={"number": 2}))


@pytest.fixture(params=["httptools", "h11"])
def server(request, transactional_db):
    """A uvicorn of this process (in a thread, on the test database) with the HTTP parser of
    `kindling serve` (httptools) or the pure-Python one; its address."""
    config = uvicorn.Config(
        application, host="127.0.0.1", port=0, lifespan="off", log_level="warning", http=request.param
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not running.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.01)
    port = running.servers[0].sockets[0].getsockname()[1]
    yield f"127.0.0.1:{port}"
    running.should_exit = True
    thread.join(10)
    asyncio.run(asgi.close_connections())  # the test database must be droppable


def post(server, path, body: bytes, **headers):
    """POST with urllib: (status, headers, JSON body)."""
    request = urllib.request.Request(
        f"http://{server}{path}",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, json.load(response)
    except urllib.error.HTTPError as answer:
        return answer.code, answer.headers, json.load(answer)


def raw_request(server, path, body: bytes, sent: int | None = None) -> socket.socket:
    """A raw socket that sent the request's headers and the first `sent` bytes of its body."""
    host, port = server.split(":")
    conn = socket.create_connection((host, int(port)), timeout=30)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {server}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    conn.sendall(head.encode() + body[:sent])
    return conn


def read_answer(conn: socket.socket) -> tuple[int, bytes]:
    """Read until the server closes: the status and the body."""
    data = b""
    while chunk := conn.recv(65536):
        data += chunk
    conn.close()
    head, _, content = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), content


def test_urllib_reads_the_413_of_a_body_over_8_mb(server, project, job):
    status, _, body = post(server, f"/inbox/{project.inbox_uuid}", b'{"x": "' + b"a" * (9 * MB) + b'"}')

    assert (status, body) == (413, {"error": "The body is larger than the inbox limit of 8 MB."})
    assert not Message.objects.exists()


def test_a_raw_socket_reads_the_413_after_sending_its_whole_body(server, project, job):
    conn = raw_request(server, f"/inbox/{project.inbox_uuid}", b"[" + b"1," * (5 * MB) + b"1]")

    status, content = read_answer(conn)

    assert status == 413 and b"8 MB" in content


def test_a_raw_socket_reads_the_404_of_an_unknown_inbox_after_sending_its_body(server, transactional_db):
    status, content = read_answer(
        raw_request(server, f"/inbox/{UNKNOWN}", b'{"x": "' + b"a" * (6 * MB) + b'"}')
    )

    assert (status, json.loads(content)) == (404, {"error": "No inbox at this address."})


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"null", "A body of null cannot be stored"),
        (b'{"n": 1e400}', "beyond 1.8e308"),
        (b'{"n": -1e400}', "beyond -1.8e308"),
        (b'{"n": ' + b"1" * 5000 + b"}", "more than 4,300 digits"),
    ],
)
def test_bodies_no_database_stores_get_400_saying_why_not_500(server, project, job, raw, error):
    status, _, body = post(server, f"/inbox/{project.inbox_uuid}", raw)

    assert status == 400 and error in body["error"]
    assert not Message.objects.exists()


def test_past_the_buffer_cap_it_answers_503_with_retry_after_and_never_buffers_for_an_unknown_inbox(
    server, project, job, settings
):
    settings.INBOX_MAX_BYTES = settings.INBOX_BUFFER_BYTES = MB
    path = f"/inbox/{project.inbox_uuid}"
    whole = b'{"number": 2, "x": "' + b"a" * (MB - 22) + b'"}'  # the whole limit, the whole buffer
    # A slow sender: its declared length is taken from the buffer before its first byte is read.
    slow = raw_request(server, path, whole, sent=1000)
    deadline = time.monotonic() + 10
    while asgi.buffer.held < len(whole):
        assert time.monotonic() < deadline, "the slow request never took its place in the buffer"
        time.sleep(0.01)

    status, headers, body = post(server, path, b'{"number": 2}')
    assert (status, headers["Retry-After"]) == (503, "1")
    assert "Send it again" in body["error"]
    # An unknown inbox is looked up before its body is read: no room is needed to answer it.
    assert post(server, f"/inbox/{UNKNOWN}", b'{"number": 2}')[0] == 404

    slow.sendall(whole[1000:])
    assert read_answer(slow)[0] == 202
    assert post(server, path, b'{"number": 2}')[0] == 202
    assert Message.objects.count() == 2 and asgi.buffer.held == 0
