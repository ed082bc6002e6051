import time
import uuid

from django.conf import settings
from django.db import connections, router
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from kindling.inbox import auth as inbox_auth
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


def answer(inbox_uuid, method: str, content_length, content_type: str, read, headers, client=None
           ) -> tuple[int, dict, dict]:
    """The inbox's answer to one request: (status, JSON body, extra headers).

    `read(n)` returns at most n bytes of the request body; `client` is the sender's address (for the
    brute-force limit of inbox/auth.py). Both the Django view below and the ASGI fast path
    (inbox/asgi.py) answer through here, so they answer alike.
    """
    if method != "POST":
        status, body, _ = error(405, "The inbox accepts POST requests only.")
        return status, body, {"Allow": "POST"}
    project_id = inbox_project_id(inbox_uuid)
    if project_id is None:
        return error(404, NO_INBOX)
    limit = settings.INBOX_MAX_BYTES
    try:
        declared = int(content_length or 0)
    except ValueError:
        return error(400, "Invalid Content-Length header.")
    if declared > limit:
        return too_large()
    raw = read(limit + 1)
    if len(raw) > limit:
        return too_large()
    refused = inbox_auth.refusal(project_id, headers, raw, client)
    if refused is not None:
        return refused
    try:
        body = parse_body(raw, content_type)
    except BadBody as exc:
        return error(400, str(exc))
    _message, runs = receive(project_id, body, headers)
    accepted = {
        "meta": {"message": "Data accepted and processing has begun."},
        "data": [run.job.name for run in runs if run.status != run.Status.REJECTED],
        # Over the plan's runs per month (spec section 10): the message is stored and its runs are
        # recorded as rejected, to be reprocessed later.
        "errors": [f"{run.job.name}: {run.reason}" for run in runs if run.status == run.Status.REJECTED],
    }
    return 202, accepted, {}


@csrf_exempt
def inbox(request, inbox_uuid):
    started = time.perf_counter()
    status, body, headers = answer(inbox_uuid, request.method, request.META.get("CONTENT_LENGTH"),
                                   request.content_type, request.read, request.headers,
                                   request.META.get("REMOTE_ADDR"))
    metrics.inbox_answered(status, started)
    response = JsonResponse(body, status=status)
    for name, value in headers.items():
        response[name] = value
    return response
