from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from kindling.audit.filters import AuditFilters
from kindling.audit.log import ACTIONS
from kindling.projects.access import project_for

PAGE_SIZE = 50


@login_required
def audit(request, slug):
    project = project_for(request.user, slug, "view_audit")
    filters = AuditFilters.from_params(request.GET)
    events = filters.events(project) if not filters.errors else filters.events(project).none()
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "project": project,
        "filters": filters,
        "page": page,
        "actions": sorted(ACTIONS.items(), key=lambda item: item[1]),
        "labels": ACTIONS,
    }
    return render(request, "audit/audit.html", context, status=400 if filters.errors else 200)
