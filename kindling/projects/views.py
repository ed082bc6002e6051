from django.contrib.auth.decorators import login_required
from django.db.models import F
from django.shortcuts import render

from kindling.projects.access import projects_of


@login_required
def project_list(request):
    # The role comes from the same membership join that limits the list to the user's projects.
    projects = projects_of(request.user).annotate(role=F("memberships__role")).order_by("name", "id")
    return render(request, "projects/project_list.html", {"projects": projects})
