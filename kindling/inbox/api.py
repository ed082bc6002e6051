from datetime import datetime
from typing import Any, Literal

from ninja import Router, Schema, Status
from pydantic import Field

from kindling.inbox import editing
from kindling.inbox.filters import RUN_STATES, filter_messages
from kindling.inbox.models import Message
from kindling.lib.history import Window
from kindling.lib.paging import page
from kindling.lib.websearch import EmptyQuery
from kindling.openapi import (
    LIMIT,
    BodyIn,
    DateTime,
    Id,
    Limit,
    Offset,
    errors,
    links,
    operation_id,
    page_of,
)
from kindling.patching import PatchIn
from kindling.projects.access import project_for
from kindling.runs.api import RunOut, in_project, run_out
from kindling.runs.reprocess import reprocess_message

router = Router(tags=["messages"])
RunState = Literal[tuple(RUN_STATES)]  # the states of filters.py, spelled there once


class MessageOut(Schema):
    id: int
    body: Any = Field(description="The message's JSON, any value but null")
    headers: dict[str, Any] = Field(description="The HTTP headers it came with")
    received_at: datetime


class PostedOut(MessageOut):
    runs: list[RunOut] = Field(description="The runs it started")


class ProcessedOut(Schema):
    runs: list[RunOut]


MessagePage = page_of(MessageOut, "MessagePage")


def message_out(message) -> dict:
    return {
        "id": message.pk,
        "body": message.body,
        "headers": message.headers,
        "received_at": message.received_at,
    }


class MessagePatch(PatchIn):
    body: Any


class MessageIn(BodyIn):
    # Any JSON value but null, as the inbox takes it.
    body: Any


def message_links(message_id: str) -> dict:
    return {
        name: (operation_id(__name__, function), {"message_id": message_id})
        for name, function in (
            ("get", "get_message"),
            ("patch", "patch_message"),
            ("process", "process_message"),
        )
    }


@router.post(
    "/projects/{slug}/messages",
    response={201: PostedOut, **errors(400)},
    openapi_extra=links(201, **message_links("$response.body#/id")),
    summary="Post a message into the project's inbox, as the portal's + does (the inbox URL takes "
    "messages without a token); answers the message and the runs it started",
)
def post_message(request, slug: str, payload: MessageIn):
    project = project_for(request.user, slug, "post_message")
    try:
        message, runs = editing.post_message(project, payload.body, request.user)
    except editing.EditError as exc:
        return Status(400, {"error": str(exc)})
    return Status(201, {**message_out(message), "runs": [run_out(run) for run in runs]})


@router.get(
    "/projects/{slug}/messages",
    response={200: MessagePage, **errors(400)},
    # Messages arrive at the inbox, not through this API: the list leads to them.
    openapi_extra=links(200, **message_links("$response.body#/items/0/id")),
    summary="Messages of a project's inbox, newest first; filter by body text, time, trigger, run state",
)
def list_messages(
    request,
    slug: str,
    q: str = "",
    since: DateTime | None = None,
    until: DateTime | None = None,
    trigger: str = "",
    state: RunState | None = None,
    limit: Limit = LIMIT,
    offset: Offset = 0,
):
    project = project_for(request.user, slug)
    matching = None
    if trigger:
        matching = project.triggers.filter(name=trigger).first()
        if matching is None:
            return Status(400, {"error": f"No trigger named {trigger!r} in this project."})
    try:
        messages = filter_messages(
            project.messages.all(),
            text=q.strip(),
            span=Window(since, until) if since or until else None,
            trigger=matching,
            state=state or "",
        )
    except EmptyQuery as exc:
        return Status(400, {"error": f"q: {exc}"})
    return Status(200, page(messages.order_by("-received_at", "-id"), limit, offset, message_out))


@router.get("/messages/{message_id}", response=MessageOut, summary="One message")
def get_message(request, message_id: Id):
    return message_out(in_project(Message, request.user, message_id, "view", "message"))


@router.patch(
    "/messages/{message_id}",
    response={200: MessageOut, **errors(400)},
    summary="Replace a message's body (no copy of the original is kept)",
)
def patch_message(request, message_id: Id, payload: MessagePatch):
    message = in_project(Message, request.user, message_id, "post_message", "message")
    try:
        editing.edit_body(message, payload.body)
    except editing.EditError as exc:
        return Status(400, {"error": str(exc)})
    return Status(200, message_out(message))


@router.post(
    "/messages/{message_id}/process",
    response=ProcessedOut,
    summary="Match the message against the current triggers and start the switched-on jobs",
)
def process_message(request, message_id: Id):
    message = in_project(Message, request.user, message_id, "reprocess", "message")
    runs = reprocess_message(message)
    return {"runs": [run_out(run) for run in runs]}
