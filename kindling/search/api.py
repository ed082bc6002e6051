from datetime import datetime
from zoneinfo import ZoneInfo

from ninja import Query, Router, Schema, Status
from pydantic import Field

from kindling.lib.history import BadFilter, Window, parse_bound
from kindling.openapi import errors
from kindling.projects.access import project_for
from kindling.search.console import BadSearch, search

router = Router(tags=["search"])


class MessageHitOut(Schema):
    message: int
    received_at: datetime
    excerpt: str
    match: str


class RunHitOut(Schema):
    run: int
    created_at: datetime
    excerpt: str
    match: str


class SearchOut(Schema):
    # Only the kinds asked for are in the answer.
    bodies: list[MessageHitOut] | None = Field(None, description="Messages whose body holds q")
    logs: list[RunHitOut] | None = Field(None, description="Runs whose log holds q")
    headers: list[MessageHitOut] | None = Field(None, description="Messages whose headers hold q")


def hit_out(hit) -> dict:
    key, at = ("run", "created_at") if hit.kind == "logs" else ("message", "received_at")
    return {key: hit.id, at: hit.at, "excerpt": hit.excerpt, "match": hit.match}


@router.get(
    "/projects/{slug}/search",
    response={200: SearchOut, **errors(400)},
    exclude_unset=True,
    summary="Search Console: message bodies, run logs and (if asked) headers containing q, ignoring case; "
    "at most 10 results per kind. from/to: days (YYYY-MM-DD) or ISO 8601 times",
)
def search_project(
    request,
    slug: str,
    q: str = "",
    kinds: str = "bodies,logs",
    from_: str = Query("", alias="from"),
    to: str = Query(""),
):
    project = project_for(request.user, slug)
    tz = ZoneInfo(project.timezone)
    try:
        span = Window(parse_bound(from_, "from", tz), parse_bound(to, "to", tz, end=True))
        found = search(project, q, [kind.strip() for kind in kinds.split(",")], span)
    except (BadSearch, BadFilter) as exc:
        return Status(400, {"error": str(exc)})
    return Status(200, {kind: [hit_out(hit) for hit in hits] for kind, hits in found.items()})
