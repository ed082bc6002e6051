"""HTTP intake of the inbox: parse the body, store the message and create its runs in one transaction."""

import json
from urllib.parse import parse_qs

from django.db import transaction

from kindling.inbox.models import Message
from kindling.lib.xmljson import XMLError, xml_to_json
from kindling.runs import queue

# Never store what authenticates the sender: these headers are dropped from the saved message.
SECRET_HEADERS = {"authorization", "cookie", "x-api-key", "proxy-authorization"}


class BadBody(ValueError):
    pass


def parse_body(raw: bytes, content_type: str):
    content_type = (content_type or "").split(";")[0].strip().lower()
    if not raw.strip():
        raise BadBody("The request body is empty: send a JSON object (or XML, or a form).")
    if content_type.endswith("xml"):
        try:
            return xml_to_json(raw)
        except XMLError as exc:
            raise BadBody(str(exc)) from None
    if content_type == "application/x-www-form-urlencoded":
        try:
            fields = parse_qs(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadBody(f"invalid form body: {exc}") from None
        return {key: values[0] if len(values) == 1 else values for key, values in fields.items()}
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise BadBody("The body is not UTF-8 text.") from None
    except json.JSONDecodeError as exc:
        raise BadBody(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None


def stored_headers(headers) -> dict:
    return {k.lower(): v for k, v in headers.items() if k.lower() not in SECRET_HEADERS}


def receive(project, body, headers=None) -> tuple[Message, list]:
    """Store a message and queue its runs; both or neither (an accepted message is never lost)."""
    with transaction.atomic():
        message = Message.objects.create(project=project, body=body, headers=stored_headers(headers or {}))
        runs = queue.runs_for_message(message)
    return message, runs
