"""Project Settings: Project Configuration (administrators change it, collaborators read it) and the
exports of the project config."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from kindling.exports.build import request_export
from kindling.exports.registry import BUILDERS
from kindling.ops.retention import days_of
from kindling.projects.access import can, project_for
from kindling.projects.configure import SETTINGS_FIELDS, ConfigError, configure, max_concurrency
from kindling.projects.forms import SettingsForm

PROJECT_EXPORTS = ("project.yaml", "microservice.zip")


def settings_page(request, project, form, status=200):
    can_edit = can(request.user, "edit_settings", project)
    if not can_edit:
        # Collaborators read the settings; the inbox URL's eye and copy buttons still work for them.
        for field in form.fields.values():
            field.disabled = True
    context = {
        "project": project,
        "form": form,
        "can_edit": can_edit,
        "max_concurrency": max_concurrency(project),
        "exports": [BUILDERS[kind] for kind in PROJECT_EXPORTS],
        "retention_days": days_of(project),
    }
    return render(request, "projects/settings.html", context, status=status)


@login_required
def project_settings(request, slug):
    project = project_for(request.user, slug)
    top = max_concurrency(project)
    if request.method != "POST":
        initial = {field: getattr(project, field) for field in SETTINGS_FIELDS}
        return settings_page(request, project, SettingsForm(initial=initial, max_concurrency=top))
    if not can(request.user, "edit_settings", project):
        raise PermissionDenied("Only the project's administrators can change its settings.")
    form = SettingsForm(request.POST, max_concurrency=top)
    if form.is_valid():
        try:
            old_name = project.name
            project = configure(project, **form.changes())
        except ConfigError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            note = "Project updated."
            if project.name != old_name:
                note += f" Its address is now /projects/{project.slug}/; old links redirect for 60 days."
            messages.success(request, note)
            return redirect("project-settings", slug=project.slug)
    return settings_page(request, project, form, status=400)


@login_required
@require_POST
def project_export(request, slug):
    """Exporting Project Config: built in the background, its link emailed to the one who asked."""
    project = project_for(request.user, slug)
    kind = request.POST.get("kind", "")
    if kind not in PROJECT_EXPORTS:
        messages.error(request, f"Choose project.yaml or microservice.zip, not {kind!r}.")
        return redirect("project-settings", slug=project.slug)
    request_export(project, request.user, kind)
    messages.success(
        request,
        f"Building {kind}: a download link will be emailed to {request.user.email} when it is ready "
        "(it works for you only, for 7 days).",
    )
    return redirect("project-settings", slug=project.slug)
