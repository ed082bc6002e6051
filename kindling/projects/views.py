from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import F
from django.shortcuts import redirect, render

from kindling.projects.access import can, project_for, projects_of
from kindling.projects.configure import ConfigError, create_project
from kindling.projects.forms import NewProjectForm
from kindling.projects.summary import summary


@login_required
def project_list(request):
    # The role comes from the same membership join that limits the list to the user's projects.
    projects = projects_of(request.user).annotate(role=F("memberships__role")).order_by("name", "id")
    return render(request, "projects/project_list.html", {"projects": projects})


@login_required
def project_new(request):
    """New project: a name and a description; the creator becomes its owner (an administrator)."""
    form = NewProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = create_project(request.user, **form.cleaned_data)
        except ConfigError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            messages.success(request, f"Created {project.name}. Its inbox is ready at {project.inbox_url}")
            return redirect("project-dashboard", slug=project.slug)
    status = 400 if form.errors else 200
    return render(request, "projects/project_new.html", {"form": form}, status=status)


@login_required
def project_dashboard(request, slug):
    project = project_for(request.user, slug)
    context = {
        "project": project,
        "summary": summary(project),
        "can_edit_settings": can(request.user, "edit_settings", project),
    }
    return render(request, "projects/dashboard.html", context)
