from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.views.decorators.http import require_POST

from kindling.exports.history_csv import request_csv
from kindling.exports.models import Export
from kindling.exports.registry import builder
from kindling.projects.access import project_for
from kindling.runs.batch_views import back_to_list, history_for


def export_of(user, export_id: int) -> Export:
    """The requester's own export, else 404 (also for other members of its project, as for a missing
    one)."""
    export = Export.objects.select_related("project").filter(pk=export_id, requester=user).first()
    if export is None:
        raise Http404("No such export.")
    project_for(user, export.project.slug)  # a requester who has left the project gets 404 too
    return export


@login_required
def download(request, export_id: int):
    """The emailed link: 410 once expired (the file is deleted), 409 while it is being built."""
    export = export_of(request.user, export_id)
    expired = export.is_expired()
    if expired or export.status != Export.Status.READY or not Path(export.file_path).is_file():
        return render(
            request,
            "exports/unavailable.html",
            {"export": export, "expired": expired, "label": builder(export.kind).label},
            status=410 if expired else 409,
        )
    response = FileResponse(open(export.file_path, "rb"), as_attachment=True, filename=export.filename)
    response["Content-Type"] = builder(export.kind).content_type
    return response


@login_required
@require_POST
def bulk_export(request, slug, kind):
    """Export as CSV on Activity and Inbox: the list's current filters."""
    history = history_for(kind)
    project = project_for(request.user, slug)
    filters = history.filters.from_params(request.POST)
    if filters.errors:
        messages.error(request, "Nothing was exported: " + " ".join(filters.errors.values()))
        return back_to_list(project, history, filters)
    export = request_csv(project, request.user, kind, filters)
    messages.success(
        request,
        f"Export {export.pk} requested ({export.description}): a download link will be emailed to "
        f"{request.user.email} shortly.",
    )
    return back_to_list(project, history, filters)
