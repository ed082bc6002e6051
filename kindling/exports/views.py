from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import render

from kindling.exports.models import Export
from kindling.exports.registry import builder
from kindling.projects.access import project_for


@login_required
def download(request, export_id: int):
    """The emailed link: the requester's own export only; anyone else gets 404, as for a missing one."""
    export = Export.objects.select_related("project").filter(pk=export_id, requester=request.user).first()
    if export is None:
        raise Http404("No such export.")
    project_for(request.user, export.project.slug)  # a requester who left the project gets 404 too
    if export.status != Export.Status.READY or not Path(export.file_path).is_file():
        return render(
            request,
            "exports/unavailable.html",
            {"export": export},
            status=410 if export.status == Export.Status.EXPIRED else 409,
        )
    kind = builder(export.kind)
    response = FileResponse(open(export.file_path, "rb"), as_attachment=True, filename=export.filename)
    response["Content-Type"] = kind.content_type
    return response
