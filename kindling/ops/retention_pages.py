"""Project Settings > Data retention: administrators choose how long the project keeps its messages
and runs (kindling/ops/retention.py deletes what is older)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from kindling.ops.models import MAX_RETENTION_DAYS
from kindling.ops.retention import PASS_SECONDS, RetentionError, days_of, set_retention
from kindling.projects.access import project_for, require


def page(request, project, days, error="", status=200):
    context = {
        "project": project,
        "days": days,
        "error": error,
        "max_days": MAX_RETENTION_DAYS,
        "pass_minutes": max(1, PASS_SECONDS // 60),
    }
    return render(request, "ops/retention.html", context, status=status)


@login_required
def retention(request, slug):
    project = project_for(request.user, slug)
    require(request.user, "edit_settings", project)
    if request.method != "POST":
        return page(request, project, days_of(project))
    keep = request.POST.get("keep", "")
    if keep not in ("forever", "days"):
        return page(
            request, project, days_of(project), "Choose to keep data forever or for a number of days.", 400
        )
    wanted = None if keep == "forever" else request.POST.get("days", "")
    if keep == "days" and not str(wanted).strip():
        return page(request, project, None, "Enter the number of days to keep data for.", 400)
    try:
        days = set_retention(project, wanted, request.user)
    except RetentionError as exc:
        return page(request, project, wanted, str(exc), 400)
    if days is None:
        messages.success(request, "Messages and runs are kept forever.")
    else:
        messages.success(
            request, f"Messages and runs older than {days} day{'s' if days != 1 else ''} will be deleted."
        )
    return redirect("project-retention", slug=project.slug)
