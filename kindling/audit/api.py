from datetime import datetime
from typing import Any

from ninja import Router, Schema, Status
from pydantic import Field

from kindling.audit.filters import AuditFilters
from kindling.audit.log import label_of
from kindling.lib.paging import page
from kindling.openapi import LIMIT, Limit, Offset, errors, page_of
from kindling.projects.access import project_for

router = Router(tags=["audit"])


class EventOut(Schema):
    id: int
    at: datetime
    actor: str | None = Field(description="The email of who did it; null: Kindling itself")
    via_support: bool
    action: str
    label: str
    target: str
    details: Any


EventPage = page_of(EventOut, "AuditEventPage")


def event_out(event) -> dict:
    return {
        "id": event.pk,
        "at": event.created_at,
        "actor": event.actor_email or None,
        "via_support": event.via_support,
        "action": event.action,
        "label": label_of(event.action),
        "target": event.target,
        "details": event.details,
    }


@router.get(
    "/projects/{slug}/audit",
    summary="The project's audit log, newest first (administrators); filter by action, actor, since, until",
    response={200: EventPage, **errors(400, 403)},
)
def list_audit(
    request,
    slug: str,
    action: str = "",
    actor: str = "",
    since: str = "",
    until: str = "",
    limit: Limit = LIMIT,
    offset: Offset = 0,
):
    project = project_for(request.user, slug, "view_audit")
    filters = AuditFilters.from_params({"action": action, "actor": actor, "since": since, "until": until})
    if filters.errors:
        return Status(400, {"error": "; ".join(filters.errors.values())})
    return Status(200, page(filters.events(project), limit, offset, event_out))
