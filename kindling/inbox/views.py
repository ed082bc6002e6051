import uuid

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from kindling.inbox.receive import BadBody, parse_body, receive
from kindling.projects.models import Project


def error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@csrf_exempt
def inbox(request, inbox_uuid):
    if request.method != "POST":
        response = error(405, "The inbox accepts POST requests only.")
        response["Allow"] = "POST"
        return response
    try:
        project = Project.objects.filter(inbox_uuid=uuid.UUID(str(inbox_uuid))).first()
    except ValueError:
        project = None
    if project is None:
        return error(404, "No inbox at this address.")
    limit = settings.INBOX_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return error(400, "Invalid Content-Length header.")
    if declared > limit:
        return error(413, f"The body is larger than the inbox limit of {limit // (1024 * 1024)} MB.")
    raw = request.read(limit + 1)
    if len(raw) > limit:
        return error(413, f"The body is larger than the inbox limit of {limit // (1024 * 1024)} MB.")
    try:
        body = parse_body(raw, request.content_type)
    except BadBody as exc:
        return error(400, str(exc))
    _message, runs = receive(project, body, request.headers)
    return JsonResponse(
        {
            "meta": {"message": "Data accepted and processing has begun."},
            "data": [run.job.name for run in runs],
            "errors": [],
        },
        status=202,
    )
