from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import SetPasswordForm
from django.db.models import F
from django.shortcuts import redirect, render

from kindling.projects.access import can, project_for, projects_of, supported_projects
from kindling.projects.configure import ConfigError, create_project
from kindling.projects.forms import NewProjectForm
from kindling.projects.invitations import user_for_token
from kindling.projects.summary import summary


@login_required
def project_list(request):
    # The role comes from the same membership join that limits the list to the user's projects.
    projects = projects_of(request.user).annotate(role=F("memberships__role")).order_by("name", "id")
    supported = supported_projects(request.user).order_by("name", "id")
    return render(request, "projects/project_list.html", {"projects": projects, "supported": supported})


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


def join(request):
    """An invitation's link: the invited user sets a password, is logged in, and sees their projects."""
    token = request.GET.get("token") or request.POST.get("token") or ""
    user = user_for_token(token)
    if user is None:
        return render(request, "projects/join.html", {"invalid": True}, status=400)
    form = SetPasswordForm(user, request.POST or None)
    for field in form.fields.values():
        field.widget.attrs["class"] = "form-control"
    if request.method == "POST" and form.is_valid():
        form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome to Kindling: your password is set.")
        return redirect("project-list")
    return render(
        request,
        "projects/join.html",
        {"form": form, "token": token, "invited": user},
        status=400 if form.errors else 200,
    )
