from datetime import datetime
from typing import Literal

from ninja import Router, Schema, Status
from pydantic import Field

from kindling.exports.build import download_url
from kindling.exports.history_csv import request_csv
from kindling.exports.models import Export
from kindling.exports.views import export_of
from kindling.openapi import Id, errors
from kindling.projects.access import project_for
from kindling.runs.batch_api import BadQuery, HistoryQuery, filters_from

router = Router(tags=["exports"])


class QueuedOut(Schema):
    export: int = Field(description="Its id: GET /exports/{export_id} follows it")


class ExportOut(Schema):
    id: int
    kind: str = Field(description="runs, messages, project.yaml or microservice.zip")
    # A Literal, not Export.Status: that enum's name would take the place of Run.Status's in the document.
    status: Literal[tuple(Export.Status.values)]
    description: str
    row_count: int | None = Field(description="The rows of a CSV, once built")
    created_at: datetime
    expires_at: datetime | None
    error: str | None
    download_url: str | None = Field(description="Once ready: the link (yours only, logged in)")


def _export(request, slug: str, kind: str, query: HistoryQuery):
    project = project_for(request.user, slug)
    try:
        filters = filters_from(project, kind, query)
    except BadQuery as exc:
        return Status(400, {"error": str(exc)})
    return Status(202, {"export": request_csv(project, request.user, kind, filters).pk})


@router.post(
    "/projects/{slug}/runs/export",
    response={202: QueuedOut, **errors(400)},
    summary="Export the runs a filter selects as CSV; the link is emailed to you",
)
def export_runs(request, slug: str, query: HistoryQuery):
    return _export(request, slug, "runs", query)


@router.post(
    "/projects/{slug}/messages/export",
    response={202: QueuedOut, **errors(400)},
    summary="Export the messages a filter selects as CSV; the link is emailed to you",
)
def export_messages(request, slug: str, query: HistoryQuery):
    return _export(request, slug, "messages", query)


@router.get(
    "/exports/{export_id}",
    response=ExportOut,
    summary="One of your exports: its status and, once ready, download_url",
)
def get_export(request, export_id: Id):
    export = export_of(request.user, export_id)
    ready = export.status == Export.Status.READY and not export.is_expired()
    return {
        "id": export.pk,
        "kind": export.kind,
        "status": Export.Status.EXPIRED if export.is_expired() else export.status,
        "description": export.description,
        "row_count": export.row_count,
        "created_at": export.created_at,
        "expires_at": export.expires_at,
        "error": export.error or None,
        "download_url": download_url(export) if ready else None,
    }
