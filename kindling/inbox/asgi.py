"""POST /inbox/<uuid> served straight from ASGI, around Django's middleware.

Under ASGI, Django runs each hook of each synchronous middleware in a thread hop of its own: about
5 ms of CPU per request on a 2-core machine, four times what storing the message costs. The inbox is
the one endpoint that machines call at high rates, and it uses nothing the middleware provides
(no session, no CSRF, no user, no messages), so it is answered here with one hop into a thread, by
the same `answer()` as the Django view. Every other path goes to Django unchanged.
"""

import asyncio
import json
import logging
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections, connections

from kindling.inbox.views import answer

log = logging.getLogger(__name__)

PREFIX = "/inbox/"
# What Django's SecurityMiddleware would add to a JSON answer.
SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin")]


# One thread stores every message of this process, on its own database connection: the writes are
# serialised by the database anyway, and a plain executor hop costs a fraction of asgiref's.
_storer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kindling-inbox")


async def close_connections() -> None:
    """Close the storing thread's database connections (a test database must be droppable)."""
    await asyncio.get_running_loop().run_in_executor(_storer, connections.close_all)


class Disconnected(Exception):
    pass


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


async def read_body(receive, keep: int) -> bytes:
    """The body, cut after `keep` bytes (the rest is read and dropped, so the connection stays usable)."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Disconnected
        chunk = message.get("body", b"")
        if size < keep:
            chunks.append(chunk[: keep - size])
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def respond(inbox_uuid, method, content_length, content_type, body: bytes, headers, client
            ) -> tuple[int, dict, dict]:
    # What Django does around every request: drop a connection that broke or outlived CONN_MAX_AGE.
    close_old_connections()
    try:
        return answer(inbox_uuid, method, content_length, content_type, lambda n: body[:n], headers, client)
    except Exception:
        log.exception("the inbox failed on a request to %s", inbox_uuid)
        return 500, {"error": "Internal error: the message was not stored. Send it again later."}, {}
    finally:
        close_old_connections()


async def inbox_app(scope, receive, send) -> None:
    headers = request_headers(scope)
    limit = settings.INBOX_MAX_BYTES
    declared = headers.get("content-length")
    body = b""
    try:
        too_long = declared is not None and declared.isdigit() and int(declared) > limit
        if scope["method"] == "POST" and not too_long:
            body = await read_body(receive, limit + 1)
    except Disconnected:
        return
    inbox_uuid = scope["path"][len(PREFIX) :]
    content_type = headers.get("content-type", "")
    status, payload, extra = await asyncio.get_running_loop().run_in_executor(
        _storer, respond, inbox_uuid, scope["method"], declared, content_type, body, headers,
        (scope.get("client") or (None,))[0],
    )
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
