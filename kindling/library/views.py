"""The Job Library pages (every logged-in user) and a project's contribution setting (administrators)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from kindling.accounts import preferences
from kindling.jobs.models import Job
from kindling.library import catalogue
from kindling.projects.access import PERMISSIONS, project_for
from kindling.projects.models import Membership

PER_PAGE = 20


def projects_for_new_jobs(user):
    """The user's projects where their role may create jobs, for "use in my project"."""
    roles = [role for role in PERMISSIONS["edit_job"] if role in Membership.Role.values]
    return [
        m.project
        for m in user.memberships.filter(role__in=roles).select_related("project").order_by("project__name")
    ]


@login_required
@require_GET
def library(request):
    q, adaptor, operation = (request.GET.get(key, "").strip() for key in ("q", "adaptor", "operation"))
    found = catalogue.search(q, adaptor, operation)
    page = Paginator(found.values_list("pk", flat=True), PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = catalogue.rows_of(page.object_list)
    query = {key: value for key, value in (("q", q), ("adaptor", adaptor), ("operation", operation)) if value}
    context = {
        "page": page,
        "q": q,
        "adaptor": adaptor,
        "operation": operation,
        "adaptors": catalogue.adaptors_in_use(),
        "query": urlencode(query),
    }
    return render(request, "library/library.html", context)


def library_job_or_404(job_id) -> Job:
    try:
        return catalogue.published_job(job_id)
    except Job.DoesNotExist:
        raise Http404("No such job in the library.") from None


@login_required
@require_GET
def library_job(request, job_id):
    job = library_job_or_404(job_id)
    context = {
        "job": job,
        "operations": catalogue.operations_of(job),
        "projects": projects_for_new_jobs(request.user),
        "highlight": {
            "monaco": static("vendor/monaco/vs"),
            "theme": preferences.get(request.user, preferences.EDITOR_THEME),
        },
    }
    return render(request, "library/library_job.html", context)


@login_required
@require_GET
def library_job_use(request, job_id):
    """ "Use in my project": Job Studio of the chosen project, its form filled from the library job."""
    job = library_job_or_404(job_id)
    project = project_for(request.user, request.GET.get("project", ""), "edit_job")
    return redirect(reverse("job-create", args=[project.slug]) + "?" + urlencode({"library": job.pk}))


@login_required
@require_POST
def project_library(request, slug):
    project = project_for(request.user, slug, "edit_settings")
    on = request.POST.get("contribute") == "on"
    catalogue.set_contribution(project, request.user, on)
    if on:
        messages.success(
            request, "This project now contributes its jobs not marked private to the job library."
        )
    else:
        messages.success(request, "This project's jobs have left the job library.")
    return redirect("project-settings", slug=project.slug)
