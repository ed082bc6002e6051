import time
import uuid

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import connections, router
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from kindling.inbox import auth as inbox_auth
from kindling.inbox import reply
from kindling.inbox.receive import BadBody, parse_body, receive
from kindling.ops import metrics
from kindling.projects.models import Project


def inbox_project_id(inbox_uuid) -> int | None:
    """The id of the project whose inbox address this is. In SQL of its own: every message needs it,
    and the ORM spends longer building this one-row query than the database spends answering it."""
    try:
        value = uuid.UUID(str(inbox_uuid))
    except ValueError:
        return None
    connection = connections[router.db_for_read(Project)]
    meta, field = Project._meta, Project._meta.get_field("inbox_uuid")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {meta.pk.column} FROM {meta.db_table} WHERE {field.column} = %s",
            [field.get_db_prep_value(value, connection)],
        )
        row = cursor.fetchone()
    return row[0] if row else None


NO_INBOX = "No inbox at this address."


def error(status: int, message: str) -> tuple[int, dict, dict]:
    return status, {"error": message}, {}


def too_large() -> tuple[int, dict, dict]:
    limit = settings.INBOX_MAX_BYTES
    return error(413, f"The body is larger than the inbox limit of {limit // (1024 * 1024)} MB.")


def answer(
    inbox_uuid, method: str, content_length, content_type: str, read, headers, client=None
) -> tuple[int, dict, dict]:
    """The inbox's answer to one request at once: (status, JSON body, extra headers), as v1 gives it."""
    return answer_or_wait(inbox_uuid, method, content_length, content_type, read, headers, client)[:3]


def answer_or_wait(
    inbox_uuid, method: str, content_length, content_type: str, read, headers, client=None, query: str = ""
) -> tuple[int, dict, dict, reply.Wait | None]:
    """The inbox's answer to one request: (status, JSON body, extra headers, what to wait for).

    `read(n)` returns at most n bytes of the request body; `client` is the sender's address (for the
    brute-force limit of inbox/auth.py); `query` the URL's query string (`?wait=<seconds>`). Both the
    Django view below and the ASGI fast path (inbox/asgi.py) answer through here, so they answer alike.
    The last item is not None when the sender (`?wait=`) or a matching trigger (reply after
    completion) asked for the runs' results: the caller then waits for them (inbox/reply.py) and
    answers with `reply.finished()`, or with the 202 given here when the wait runs out.
    """
    if method != "POST":
        status, body, _ = error(405, "The inbox accepts POST requests only.")
        return status, body, {"Allow": "POST"}, None
    try:
        wait = reply.wait_asked(query)
    except reply.BadWait as exc:
        return *error(400, str(exc)), None
    project_id = inbox_project_id(inbox_uuid)
    if project_id is None:
        return *error(404, NO_INBOX), None
    limit = settings.INBOX_MAX_BYTES
    try:
        declared = int(content_length or 0)
    except ValueError:
        return *error(400, "Invalid Content-Length header."), None
    if declared > limit:
        return *too_large(), None
    raw = read(limit + 1)
    if len(raw) > limit:
        return *too_large(), None
    refused = inbox_auth.refusal(project_id, headers, raw, client)
    if refused is not None:
        return *refused, None
    try:
        body = parse_body(raw, content_type)
    except BadBody as exc:
        return *error(400, str(exc)), None
    _message, runs = receive(project_id, body, headers)
    accepted = {
        "meta": {"message": "Data accepted and processing has begun."},
        "data": [run.job.name for run in runs if run.status != run.Status.REJECTED],
        # Over the plan's runs per month (spec section 10): the message is stored and its runs are
        # recorded as rejected, to be reprocessed later.
        "errors": [f"{run.job.name}: {run.reason}" for run in runs if run.status == run.Status.REJECTED],
    }
    waiting = reply.wait_for(runs, wait)
    if waiting is not None:
        accepted["runs"] = waiting.pending()
    return 202, accepted, {}, waiting


@csrf_exempt
def inbox(request, inbox_uuid):
    started = time.perf_counter()
    status, body, headers, waiting = answer_or_wait(
        inbox_uuid,
        request.method,
        request.META.get("CONTENT_LENGTH"),
        request.content_type,
        request.read,
        request.headers,
        request.META.get("REMOTE_ADDR"),
        request.META.get("QUERY_STRING", ""),
    )
    if waiting is not None:
        # Served by uvicorn, the inbox never comes here (inbox/asgi.py waits without a thread); this
        # is the test client's and a WSGI server's path.
        ended = async_to_sync(reply.ends.wait)(waiting.run_ids(), waiting.seconds)
        if ended is not None:
            status, body = 200, waiting.finished(ended, body["errors"])
    metrics.inbox_answered(status, started)
    response = JsonResponse(body, status=status)
    for name, value in headers.items():
        response[name] = value
    return response
