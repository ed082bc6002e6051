from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import SetPasswordForm
from django.db.models import F
from django.shortcuts import redirect, render

from kindling.projects.access import projects_of, supported_projects
from kindling.projects.invitations import user_for_token


@login_required
def project_list(request):
    # The role comes from the same membership join that limits the list to the user's projects.
    projects = projects_of(request.user).annotate(role=F("memberships__role")).order_by("name", "id")
    supported = supported_projects(request.user).order_by("name", "id")
    return render(request, "projects/project_list.html", {"projects": projects, "supported": supported})


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
