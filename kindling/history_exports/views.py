from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.views.decorators.http import require_POST

from kindling.history_exports.build import request_export
from kindling.history_exports.models import Export
from kindling.projects.access import project_for
from kindling.runs.batch_views import back_to_list, history_for


@login_required
@require_POST
def bulk_export(request, slug, kind):
    history = history_for(kind)
    project = project_for(request.user, slug)
    filters = history.filters.from_params(request.POST)
    if filters.errors:
        messages.error(request, "Nothing was exported: " + " ".join(filters.errors.values()))
        return back_to_list(project, history, filters)
    export = request_export(project, request.user, kind, filters)
    messages.success(
        request,
        f"Export {export.pk} requested ({export.description}): a download link will be emailed to "
        f"{request.user.email} shortly.",
    )
    return back_to_list(project, history, filters)


def export_of(user, export_id: int) -> Export:
    """The requester's own export, else 404 (also for other members of its project)."""
    export = Export.objects.select_related("project").filter(pk=export_id, requester=user).first()
    if export is None:
        raise Http404("No such export.")
    project_for(user, export.project.slug)  # a requester who has left the project gets 404 too
    return export


@login_required
def export_download(request, export_id):
    export = export_of(request.user, export_id)
    if export.is_expired():
        return render(
            request, "history_exports/unavailable.html", {"export": export, "expired": True}, status=410
        )
    if export.status != Export.Status.READY:
        return render(
            request, "history_exports/unavailable.html", {"export": export, "expired": False}, status=409
        )
    return FileResponse(
        open(export.file_path, "rb"),
        as_attachment=True,
        filename=export.file_name,
        content_type="text/csv; charset=utf-8",
    )
