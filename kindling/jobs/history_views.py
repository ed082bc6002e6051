"""A job's History on its page: one version with its diff, and restoring it (kindling/jobs/versions.py)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from kindling.jobs import editing, versions
from kindling.jobs.models import JobVersion
from kindling.jobs.views import project_job
from kindling.projects.access import can


@login_required
def job_version(request, slug, job_id, number):
    project, job = project_job(request, slug, job_id)
    try:
        version = versions.version_of(job, number)
    except versions.NoSuchVersion as exc:
        raise Http404(str(exc)) from None
    before = JobVersion.objects.filter(job=job, number__lt=version.number).order_by("-number").first()
    # Against the version before it by default; `?against=current` compares it with the job as it is.
    against_current = request.GET.get("against") == "current"
    if against_current:
        old_text, old_label = version.expression, f"version {version.number}"
        new_text, new_label = job.expression, "now"
    else:
        old_text = before.expression if before else ""
        old_label = f"version {before.number}" if before else "(nothing)"
        new_text, new_label = version.expression, f"version {version.number}"
    context = {
        "project": project,
        "job": job,
        "version": versions.version_out(version, before),
        "before": before,
        "against_current": against_current,
        "diff": versions.unified_diff(old_text, new_text, old_label, new_label),
        "is_latest": not JobVersion.objects.filter(job=job, number__gt=version.number).exists(),
        "can_restore": can(request.user, "edit_job", project),
    }
    return render(request, "jobs/job_version.html", context)


@login_required
@require_POST
def job_version_restore(request, slug, job_id, number):
    project, job = project_job(request, slug, job_id, "edit_job")
    try:
        _job, new_number, notes = editing.restore_version(job, number, request.user)
    except versions.NoSuchVersion as exc:
        raise Http404(str(exc)) from None
    except (versions.NothingToRestore, editing.EditError) as exc:
        messages.error(request, str(exc))
        return redirect("job-version", project.slug, job.pk, number)
    messages.success(request, f"Job {job.name} restored to version {number}, saved as version {new_number}.")
    for note in notes:
        messages.warning(request, note)
    return redirect("job-detail", project.slug, job.pk)
