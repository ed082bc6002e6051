"""REST API: a project's data retention (Project Settings > Data retention)."""

from ninja import Router, Schema, Status
from pydantic import Field

from kindling.ops.models import MAX_RETENTION_DAYS
from kindling.ops.retention import RetentionError, days_of, set_retention
from kindling.patching import PatchIn
from kindling.projects.access import project_for

router = Router(tags=["projects"])


class RetentionIn(PatchIn):
    days: int | None


class RetentionOut(Schema):
    days: int | None = Field(ge=1, le=MAX_RETENTION_DAYS, description="null: kept forever")
    forever: bool


def retention_out(days) -> dict:
    return {"days": days, "forever": days is None}


@router.get(
    "/projects/{slug}/retention",
    response={200: RetentionOut, 403: dict, 404: dict},
    summary="How long the project keeps its messages and runs (days; null: forever)",
)
def get_retention(request, slug: str):
    return retention_out(days_of(project_for(request.user, slug)))


@router.put(
    "/projects/{slug}/retention",
    response={200: RetentionOut, 400: dict, 403: dict, 404: dict},
    summary=f"Administrators: keep messages and runs `days` days (1 to {MAX_RETENTION_DAYS}), or forever",
)
def put_retention(request, slug: str, payload: RetentionIn):
    project = project_for(request.user, slug, "edit_settings")
    try:
        days = set_retention(project, payload.days, request.user)
    except RetentionError as exc:
        return Status(400, {"error": str(exc)})
    return Status(200, retention_out(days))
