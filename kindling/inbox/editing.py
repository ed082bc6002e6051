"""Changing stored messages by hand: edit a body, post a message from the portal.

v1: editing keeps no copy of the original body. The edited body must be what the inbox would have
accepted as JSON (so the same parser checks it), and runs read the body as it is when they start.
"""

from django.db import transaction

from kindling.inbox.models import Message
from kindling.inbox.receive import BadBody, check_depth, check_text, parse_body, receive

JSON = "application/json"


class EditError(ValueError):
    pass


def parse_json_text(text: str):
    """The body typed in a form or sent to the API, checked like the inbox checks JSON bodies."""
    if not (text or "").strip():
        raise EditError("The body is empty: write a JSON value, such as an object.")
    try:
        body = parse_body(text.encode("utf-8", "surrogatepass"), JSON)
    except BadBody as exc:
        raise EditError(str(exc)) from None
    return _storable(body)


def _storable(body):
    if body is None:
        raise EditError("A body of null cannot be stored: write an object, an array or another value.")
    try:
        check_depth(body)
        check_text(body)
    except BadBody as exc:
        raise EditError(str(exc)) from None
    return body


def edit_body(message: Message, body) -> Message:
    """Replace the message's body with a JSON value; no copy of the original is kept."""
    body = _storable(body)
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(body=body)
    message.body = body
    return message


def post_from_portal(project, text: str, user) -> tuple[Message, list]:
    """Post a message typed in the portal (JSON text) into the project's inbox."""
    return post_message(project, parse_json_text(text), user)


def post_message(project, body, user) -> tuple[Message, list]:
    """Post a message into the project's inbox as if it came over HTTP, noting who posted it (the
    portal's + and POST /api/v1/projects/{slug}/messages)."""
    return receive(project.pk, _storable(body), {"x-kindling-posted-by": user.email})
