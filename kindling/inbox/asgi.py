"""POST /inbox/<uuid> served straight from ASGI, around Django's middleware.

Under ASGI, Django runs each hook of each synchronous middleware in a thread hop of its own: about
5 ms of CPU per request on a 2-core machine, four times what storing the message costs. The inbox is
the one endpoint that machines call at high rates, and it uses nothing the middleware provides
(no session, no CSRF, no user, no messages), so it is answered here with one hop into a thread, by
the same `answer()` as the Django view. Every other path goes to Django unchanged.

Before a body is read, the inbox is looked up (an unknown one gets its 404 without a byte buffered),
its declared length is checked against the limit, and room is taken in `buffer`, the cap on the body
bytes all requests hold at once (a 503 with Retry-After past it). A body that is not kept is still
read and dropped, so that the client reads the answer (docs/queue.md, "The inbox on the wire").
"""

import asyncio
import json
import logging
import queue
import threading
import time
from concurrent.futures import Future

from django.conf import settings
from django.db import close_old_connections, connections, transaction

from kindling.inbox import reply
from kindling.inbox.views import NO_INBOX, answer_or_wait, error, inbox_project_id, too_large
from kindling.ops import metrics

log = logging.getLogger(__name__)

PREFIX = "/inbox/"
# What Django's SecurityMiddleware would add to a JSON answer.
SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin")]


# The most messages one transaction stores on PostgreSQL: each waits for the whole group's commit.
# On SQLite a group would hold the database's one write lock while the workers wait to claim and
# finish runs, and a commit costs no disk flush (WAL, synchronous=NORMAL): one message at a time.
GROUP_MOST = 32
NOT_STORED = (500, {"error": "Internal error: the message was not stored. Send it again later."}, {}, None)


class Storer:
    """The one thread that stores every message of this process, on its own database connection
    (the writes are serialised by the database anyway, and a plain thread hop costs a fraction of
    asgiref's).

    Group commit (PostgreSQL): the messages that arrive while it stores others are stored together, in one
    transaction (each in a savepoint of its own, so that one message's failure costs no other), and
    every request of the group is answered once that transaction has committed, never before: an
    accepted message is never lost, and a commit (PostgreSQL waits for its log to reach the disk;
    SQLite takes its write lock) is paid once per group instead of once per message."""

    def __init__(self, most: int | None = None):
        self.most = most  # None: GROUP_MOST on PostgreSQL, 1 on SQLite
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()

    async def call(self, function, *args):
        """`function(*args)` on the storing thread, alone (no transaction of its own)."""
        return await self._submit(False, function, args)

    async def store(self, *args) -> tuple[int, dict, dict, "reply.Wait | None"]:
        """respond(*args) on the storing thread, grouped with the messages that wait with it."""
        return await self._submit(True, respond, args)

    async def _submit(self, grouped: bool, function, args):
        future: Future = Future()
        self._start()
        self._tasks.put((grouped, function, args, future))
        return await asyncio.wrap_future(future)

    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._starting:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="kindling-inbox", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while True:
            tasks = [self._tasks.get()]
            most = self.most or (GROUP_MOST if connections["default"].vendor == "postgresql" else 1)
            while len(tasks) < most:
                try:
                    tasks.append(self._tasks.get_nowait())
                except queue.Empty:
                    break
            group = [task for task in tasks if task[0]]
            for _grouped, function, args, future in (task for task in tasks if not task[0]):
                settle(future, function, args)
            if len(group) == 1:
                _grouped, function, args, future = group[0]
                settle(future, function, args)
            elif group:
                self._store_together(group)

    def _store_together(self, group) -> None:
        # In the order of their inbox addresses (one per project), so that two processes storing
        # messages of the same projects lock each project's plan counter in the same order.
        group.sort(key=lambda task: str(task[2][0]))
        answers = []
        close_old_connections()
        try:
            with transaction.atomic():
                for _grouped, _function, args, _future in group:
                    answers.append(respond_in_savepoint(*args))
        except Exception:
            log.exception("storing a group of %d inbox messages failed", len(group))
            answers = [NOT_STORED] * len(group)
        finally:
            close_old_connections()
        for (_grouped, _function, _args, future), result in zip(group, answers, strict=True):
            future.set_result(result)


def settle(future: Future, function, args) -> None:
    try:
        future.set_result(function(*args))
    except BaseException as exc:
        future.set_exception(exc)


_storer = Storer()


def forget_connections() -> None:
    connections.close_all()
    for alias in connections:
        try:
            del connections[alias]  # the next one is opened from the settings as they are then
        except AttributeError:
            pass


async def close_connections() -> None:
    """Close the storing thread's database connections (a test database must be droppable, and the
    next test may use another one)."""
    await _storer.call(forget_connections)


class Disconnected(Exception):
    pass


# A request whose body the inbox will not keep (unknown inbox, over the limit, no room) is answered
# only once its body has been read and dropped: answering while the client still sends, then closing
# (uvicorn closes after the answer when the client sent `Connection: close`, as urllib does), makes
# the server's kernel reset the connection, and the client reads "connection reset", not the answer.
# Dropping costs no memory; it is bounded all the same, in bytes and in time.
DISCARD_BYTES = 64 * 1024 * 1024
DISCARD_SECONDS = 10.0
# Inbox addresses known to exist are remembered this long, so that looking the inbox up before its
# body is read costs no thread hop per message. `answer()` looks again as it stores: a project
# deleted meanwhile still gets its 404.
KNOWN_SECONDS = 10.0
KNOWN_MAX = 10_000
_known: dict[str, float] = {}
# What a 503 for want of room asks the sender to wait: bodies in flight take milliseconds to store.
RETRY_AFTER_SECONDS = 1


class Buffer:
    """The body bytes that the requests in flight may hold in memory at once (settings:
    INBOX_BUFFER_BYTES), counted on the event loop's thread only, so no lock. A request takes its
    declared length before it reads a byte (one without Content-Length takes the whole limit), so
    that slow senders cannot each hold a promise of 8 MB."""

    def __init__(self):
        self.held = 0

    def take(self, size: int) -> bool:
        if self.held + size > settings.INBOX_BUFFER_BYTES:
            return False
        self.held += size
        return True

    def give_back(self, size: int) -> None:
        self.held -= size


buffer = Buffer()


def is_inbox(scope) -> bool:
    path = scope.get("path", "")
    rest = path[len(PREFIX) :]
    return scope["type"] == "http" and path.startswith(PREFIX) and rest != "" and "/" not in rest


def request_headers(scope) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]},{value}" if name in headers else value  # as Django joins them
    return headers


async def read_body(receive, limit: int) -> bytes | None:
    """The body; None when it is longer than `limit` (the rest is then dropped, as `discard` does)."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            chunks.clear()
            if message.get("more_body", False):
                await discard(receive, {}, None)
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def discard(receive, headers, length: int | None) -> None:
    """Read the rest of the body and drop it, so that the answer reaches the client (see
    DISCARD_BYTES). Nothing is read from a client that waits for `100 Continue` before it sends the
    body: it gets the answer instead, and sends nothing."""
    if headers.get("expect", "").lower() == "100-continue" or (length is not None and length > DISCARD_BYTES):
        return
    size = 0
    try:
        async with asyncio.timeout(DISCARD_SECONDS):
            while size <= DISCARD_BYTES:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise Disconnected
                size += len(message.get("body", b""))
                if not message.get("more_body", False):
                    return
    except TimeoutError:
        return


def inbox_exists(inbox_uuid) -> bool:
    close_old_connections()
    try:
        return inbox_project_id(inbox_uuid) is not None
    except Exception:
        # The database is away: read the body, and let answer() say what happened (a 500 to retry).
        log.exception("looking up the inbox %s failed", inbox_uuid)
        return True
    finally:
        close_old_connections()


async def known(inbox_uuid: str) -> bool:
    now = time.monotonic()
    if _known.get(inbox_uuid, 0.0) > now:
        return True
    if not await _storer.call(inbox_exists, inbox_uuid):
        return False
    if len(_known) >= KNOWN_MAX:
        _known.clear()
    _known[inbox_uuid] = now + KNOWN_SECONDS
    return True


def respond(
    inbox_uuid, method, content_length, content_type, body: bytes, headers, client=None, query=""
) -> tuple[int, dict, dict, reply.Wait | None]:
    # What Django does around every request: drop a connection that broke or outlived CONN_MAX_AGE.
    close_old_connections()
    try:
        return answer_or_wait(
            inbox_uuid, method, content_length, content_type, lambda n: body[:n], headers, client, query
        )
    except Exception:
        log.exception("the inbox failed on a request to %s", inbox_uuid)
        return NOT_STORED
    finally:
        close_old_connections()


def respond_in_savepoint(
    inbox_uuid, method, content_length, content_type, body: bytes, headers, client=None, query=""
) -> tuple[int, dict, dict, reply.Wait | None]:
    """respond() within a group's transaction: what it wrote is undone if it fails, and only that."""
    try:
        with transaction.atomic():
            return answer_or_wait(
                inbox_uuid, method, content_length, content_type, lambda n: body[:n], headers, client, query
            )
    except Exception:
        log.exception("the inbox failed on a request to %s", inbox_uuid)
        return NOT_STORED


def busy() -> tuple[int, dict, dict]:
    status, body, _ = error(
        503, "The inbox is receiving too many large messages at once; this one was not stored. Send it again."
    )
    return status, body, {"Retry-After": str(RETRY_AFTER_SECONDS)}


async def answer_post(
    receive, inbox_uuid: str, headers, declared, length: int | None, client=None, query: str = ""
):
    """The answer to a POST: the inbox is looked up first, and the body is buffered only for an inbox
    that exists, within the limit and within the room left in `buffer`. A request that asks for its
    runs' results (inbox/reply.py) then waits for them here, holding no thread and no connection."""
    limit = settings.INBOX_MAX_BYTES
    if not await known(inbox_uuid):
        await discard(receive, headers, length)
        return error(404, NO_INBOX)
    if length is not None and length > limit:
        await discard(receive, headers, length)
        return too_large()
    size = limit + 1 if length is None else length
    if not buffer.take(size):
        await discard(receive, headers, length)
        return busy()
    try:
        body = await read_body(receive, limit)
        if body is None:
            return too_large()
        content_type = headers.get("content-type", "")
        status, payload, extra, waiting = await _storer.store(
            inbox_uuid, "POST", declared, content_type, body, headers, client, query
        )
    finally:
        buffer.give_back(size)
    if waiting is not None:
        ended = await wait_unless_gone(receive, waiting)
        if ended is not None:
            return 200, waiting.finished(ended, payload["errors"]), extra
    return status, payload, extra


async def wait_unless_gone(receive, waiting: reply.Wait) -> dict | None:
    """The runs' ends (None when the wait runs out); Disconnected as soon as the sender leaves: its
    message and runs are stored, and nobody is left to answer."""
    ends = asyncio.ensure_future(reply.ends.wait(waiting.run_ids(), waiting.seconds))
    gone = asyncio.ensure_future(disconnected(receive))
    try:
        await asyncio.wait({ends, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    if not ends.done():
        ends.cancel()
        raise Disconnected
    return ends.result()


async def disconnected(receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def inbox_app(scope, receive, send) -> None:
    headers = request_headers(scope)
    declared = headers.get("content-length")
    length = int(declared) if declared is not None and declared.isdigit() else None
    inbox_uuid = scope["path"][len(PREFIX) :]
    started = time.perf_counter()
    try:
        if scope["method"] == "POST":
            client = (scope.get("client") or (None,))[0]  # inbox/auth.py's brute-force limit is per address
            query = scope.get("query_string", b"").decode("latin-1")
            status, payload, extra = await answer_post(
                receive, inbox_uuid, headers, declared, length, client, query
            )
        else:
            await discard(receive, headers, length)
            status, payload, extra, _ = await _storer.call(
                respond, inbox_uuid, scope["method"], declared, "", b"", headers
            )
    except Disconnected:
        return
    metrics.inbox_answered(status, started)
    content = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(content)).encode()),
                *SECURITY_HEADERS,
                *((name.lower().encode(), value.encode()) for name, value in extra.items()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": content})


def with_fast_inbox(django_app):
    """The ASGI application: the inbox answered here, everything else by `django_app`."""

    async def application(scope, receive, send):
        if is_inbox(scope):
            return await inbox_app(scope, receive, send)
        return await django_app(scope, receive, send)

    return application
