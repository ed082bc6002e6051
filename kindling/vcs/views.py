"""Version control pages: Project > Version Control (administrators), the git section of a job's page,
Account Settings' GitHub connection, and the push webhook the repository calls."""

from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from kindling.jobs.models import Job
from kindling.projects.access import can, project_for
from kindling.vcs import deploy, github, remotes
from kindling.vcs.history import HistoryError, job_commits, revert_to_commit
from kindling.vcs.link import (
    VcsError,
    link_repository,
    new_secret,
    repository_of,
    unlink_repository,
    webhook_url,
)
from kindling.vcs.models import Delivery, GitHubConnection, OutboundCommit, Repository

RECENT_DELIVERIES = 10
SESSION_STATE = "github_oauth_state"


def page(request, project, form=None, error=None, status=200):
    repo = repository_of(project)
    form = form or {
        "repository": repo.url if repo else "",
        "branch": repo.branch if repo else "main",
        "autodeploy": repo.autodeploy if repo else False,
    }
    linked_jobs = project.jobs.exclude(git_path="").order_by("name")
    waiting = OutboundCommit.objects.filter(project=project, status=OutboundCommit.Status.PENDING)
    context = {
        "project": project,
        "repo": repo,
        "repo_url": remotes.display(repo.url) if repo else "",
        "form": form,
        "error": error,
        "webhook_url": webhook_url(repo) if repo else "",
        "linked_jobs": linked_jobs,
        "waiting": waiting.order_by("id")[:20],
        "deliveries": Delivery.objects.filter(project=project).order_by("-received_at", "-id")[
            :RECENT_DELIVERIES
        ],
        "github": GitHubConnection.objects.filter(user=request.user).first(),
        "github_configured": github.configured(),
    }
    return render(request, "vcs/version_control.html", context, status=status)


@login_required
def version_control(request, slug):
    project = project_for(request.user, slug, "manage_vcs")
    if request.method != "POST":
        return page(request, project)
    form = {
        "repository": request.POST.get("repository", ""),
        "branch": request.POST.get("branch", ""),
        "autodeploy": request.POST.get("autodeploy") == "on",
    }
    token = request.POST.get("access_token", "").strip()
    remove = request.POST.get("remove_access_token") == "on"
    try:
        link_repository(project, request.user, **form, access_token="" if remove else (token or None))
    except VcsError as exc:
        return page(request, project, form, error=exc, status=400)
    messages.success(request, "Version control saved.")
    return redirect("project-version-control", slug=project.slug)


@login_required
@require_POST
def version_control_unlink(request, slug):
    project = project_for(request.user, slug, "manage_vcs")
    if unlink_repository(project, request.user):
        messages.success(
            request, "The project is no longer linked to a repository; jobs keep their file paths."
        )
    return redirect("project-version-control", slug=project.slug)


@login_required
@require_POST
def version_control_secret(request, slug):
    project = project_for(request.user, slug, "manage_vcs")
    repo = get_object_or_404(Repository, project=project)
    new_secret(repo, request.user)
    messages.success(request, "New webhook secret: paste it into the repository's webhook settings.")
    return redirect("project-version-control", slug=project.slug)


@login_required
@require_POST
def version_control_resend(request, slug):
    """Apply a commit (a delivery's, or a SHA typed in) to every linked job: v1's resend."""
    project = project_for(request.user, slug, "manage_vcs")
    repo = repository_of(project)
    if repo is None:
        messages.error(request, "Link the project to a repository first.")
        return redirect("project-version-control", slug=project.slug)
    delivery_id = request.POST.get("delivery", "")
    try:
        delivery = deploy.resend(
            repo,
            delivery_id=int(delivery_id) if delivery_id.isdigit() else None,
            sha=request.POST.get("commit"),
        )
    except deploy.DeliveryRefused as exc:
        messages.error(request, str(exc))
    else:
        if delivery.error:
            messages.error(request, delivery.error)
        else:
            applied = ", ".join(delivery.applied) or "no job (each already matched its file, or was skipped)"
            messages.success(request, f"Commit {delivery.sha[:7]} applied to {applied}.")
    return redirect("project-version-control", slug=project.slug)


# The job's page ----------------------------------------------------------------------------------


@login_required
@require_GET
def job_git_history(request, slug, job_id):
    """The commits that touched the job's file (the job's page loads this after it shows)."""
    project = project_for(request.user, slug)
    job = get_object_or_404(Job, pk=job_id, project=project)
    context = {"project": project, "job": job, "can_revert": can(request.user, "edit_job", project)}
    try:
        commits = job_commits(job)
    except HistoryError as exc:
        context["error"] = str(exc)
    else:
        # Shown in the reader's time zone, like every date of the portal.
        context["commits"] = [{**c, "when": datetime.fromisoformat(c["date"])} for c in commits]
    return render(request, "vcs/_job_history.html", context)


@login_required
@require_POST
def job_git_revert(request, slug, job_id):
    project = project_for(request.user, slug, "edit_job")
    job = get_object_or_404(Job, pk=job_id, project=project)
    sha = request.POST.get("commit", "")
    try:
        revert_to_commit(job, sha, request.user)
    except HistoryError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Job {job.name} reverted to commit {sha[:7]}; the revert is a new commit.")
    return redirect("job-detail", project.slug, job.pk)


# Account Settings: Connect to GitHub ---------------------------------------------------------------


def callback_url(request) -> str:
    return request.build_absolute_uri(reverse("github-callback"))


@login_required
@require_POST
def github_connect(request):
    if not github.configured():
        messages.error(
            request, "This Kindling has no GitHub OAuth app: its operator sets KINDLING_GITHUB_CLIENT_ID."
        )
        return redirect("account-settings")
    state = github.new_state()
    request.session[SESSION_STATE] = state
    return redirect(github.authorize_url(callback_url(request), state))


@login_required
@require_GET
def github_callback(request):
    expected = request.session.pop(SESSION_STATE, None)
    if request.GET.get("error"):
        messages.error(
            request,
            f"GitHub did not connect: {request.GET.get('error_description') or request.GET['error']}.",
        )
        return redirect("account-settings")
    if not expected or request.GET.get("state") != expected:
        return HttpResponseBadRequest(
            "This GitHub answer does not belong to your connection attempt: start again."
        )
    try:
        connection = github.connect(request.user, request.GET.get("code", ""), callback_url(request))
    except github.GitHubError as exc:
        messages.error(request, f"{exc}. Try again.")
    else:
        messages.success(request, f"Connected to GitHub as {connection.login}.")
    return redirect("account-settings")


@login_required
@require_POST
def github_disconnect(request):
    if github.disconnect(request.user):
        messages.success(request, "Disconnected from GitHub; Kindling no longer keeps your GitHub token.")
    return redirect("account-settings")


# The webhook ---------------------------------------------------------------------------------------


@csrf_exempt
@require_POST
def webhook(request, token):
    """The repository's push webhook. 401 unless the delivery is signed with the project's secret."""
    repo = Repository.objects.select_related("project").filter(hook_token=token).first()
    if repo is None:
        return JsonResponse({"error": "No project has this webhook address."}, status=404)
    try:
        result = deploy.receive_push(
            repo,
            request.body,
            request.headers.get("X-Hub-Signature-256"),
            request.headers.get("X-GitHub-Event"),
        )
    except deploy.DeliveryRefused as exc:
        return JsonResponse({"error": str(exc)}, status=exc.status)
    return JsonResponse(result, status=200 if result.get("ok", True) else 502)
