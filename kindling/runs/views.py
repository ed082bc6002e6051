import json
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from kindling.engine import ExitCode
from kindling.projects.access import can, project_for
from kindling.runs.filters import RUNS_PER_PAGE, ActivityFilters, keyset_page
from kindling.runs.models import IllegalTransition, Run
from kindling.runs.reprocess import CannotRun, new_request_token, reprocess_run

# Spec §6: the meaning shown next to every exit code.
EXIT_CODES = {
    ExitCode.SUCCESS: "success",
    ExitCode.FAILED: "the job failed",
    ExitCode.TIMEOUT: "timeout: the run took longer than the limit and was killed",
    ExitCode.FAILED_TO_START: "failed to start",
    ExitCode.UNRESPONSIVE: "the runtime became unresponsive and was killed",
    ExitCode.ABORTED: "aborted by a project administrator",
    ExitCode.ENGINE_ERROR: "internal error of the execution engine",
    ExitCode.NODE_EXITED: "Node.js exited with an unexpected code",
    ExitCode.OUT_OF_MEMORY: "out of memory",
}


def pretty_json(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def run_rows(runs):
    """Runs for a table: the job in the same query, without the states and code, which can be megabytes."""
    return runs.select_related("job").defer(
        "initial_state", "final_state", "job__expression", "job__saved_state"
    )


def pager_links(filters, page) -> dict[str, str | None]:
    """Links of a history page's pager: the filters stay in the URL, so every page can be bookmarked."""
    params = filters.params()
    cursored = bool(filters.before or filters.after)
    return {
        "newest": "?" + urlencode(params) if cursored else None,
        "newer": "?" + urlencode({**params, "after": page.newer}) if page.newer else None,
        "older": "?" + urlencode({**params, "before": page.older}) if page.older else None,
    }


@login_required
def activity(request, slug):
    project = project_for(request.user, slug)
    filters = ActivityFilters.from_params(request.GET)
    runs = run_rows(filters.runs(project))
    page = keyset_page(runs, "created_at", before=filters.before, after=filters.after, size=RUNS_PER_PAGE)
    context = {
        "project": project,
        "page": page,
        "runs": page.items,
        "filters": filters,
        "links": pager_links(filters, page),
        "jobs": project.jobs.order_by("name").values_list("pk", "name", "archived"),
        "statuses": Run.Status.choices,
    }
    return render(request, "runs/activity.html", context)


@login_required
def run_detail(request, slug, run_id):
    project = project_for(request.user, slug)
    run = get_object_or_404(Run.objects.select_related("job"), pk=run_id, project=project)
    context = {
        "project": project,
        "run": run,
        "exit_meaning": EXIT_CODES.get(run.exit_code, ""),
        "initial_state": pretty_json(run.initial_state),
        "final_state": None if run.final_state is None else pretty_json(run.final_state),
        "children": run_rows(run.children.all()).order_by("created_at", "id"),
        "series": attempts_of(run),
        "request_token": new_request_token(),
        "can_abort": run.status in (Run.Status.PENDING, Run.Status.RUNNING)
        and can(request.user, "abort_run", project),
        **log_context(run, run.log_lines.all()),
    }
    return render(request, "runs/run_detail.html", context)


def attempts_of(run: Run) -> list[Run]:
    """The runs of `run`'s retry series (runs/retries.py), first attempt first; [] when it has none."""
    if run.attempts <= 1:
        return []
    first = run.first_attempt_id or run.pk
    series = Run.objects.filter(Q(pk=first) | Q(first_attempt_id=first))
    return list(series.only("id", "attempt", "status", "not_before").order_by("attempt", "id"))


def log_context(run: Run, lines) -> dict:
    # Whether more may come first, the lines after: a line written in between is then read now, or
    # by the next request, never missed.
    live = run.log_may_grow()
    lines = list(lines)
    return {"log_lines": lines, "last_seq": lines[-1].seq if lines else -1, "live": live}


@login_required
def run_log(request, slug, run_id):
    """The log lines after seq `after`, and the row that asks again a second later while more may
    come (runs/_log_follow.html). When the run's status is no longer `status`, the one the page
    shows, the page reloads instead: its status, exit code and final state changed too."""
    project = project_for(request.user, slug)
    fields = ("id", "status", "project_id", "started_at", "finished_at")
    run = get_object_or_404(Run.objects.only(*fields), pk=run_id, project=project)
    if request.GET.get("status") != run.status:
        response = HttpResponse()
        response["HX-Refresh"] = "true"
        return response
    try:
        after = int(request.GET.get("after", -1))
    except ValueError:
        after = -1
    lines = run.log_lines.filter(seq__gt=after).order_by("seq")
    context = {"project": project, "run": run, **log_context(run, lines)}
    if not context["log_lines"]:
        context["last_seq"] = after
    return render(request, "runs/_log_rows.html", context)


@login_required
@require_POST
def run_reprocess(request, slug, run_id):
    project = project_for(request.user, slug, "reprocess")
    run = get_object_or_404(Run.objects.select_related("job", "message"), pk=run_id, project=project)
    try:
        new = reprocess_run(run, token=request.POST.get("request_token"))
    except CannotRun as exc:
        messages.error(request, str(exc))
        return redirect("run-detail", project.slug, run.pk)
    if new.status == Run.Status.REJECTED:
        messages.error(request, f"Run {new.pk} was not queued. {new.reason}")
    else:
        messages.success(request, f"Run {new.pk} queued: it reprocesses run {run.pk}.")
    return redirect("run-detail", project.slug, new.pk)


@login_required
@require_POST
def run_abort(request, slug, run_id):
    project = project_for(request.user, slug, "abort_run")
    run = get_object_or_404(Run, pk=run_id, project=project)
    try:
        aborted = run.abort()
    except IllegalTransition:
        aborted = False
    if aborted:
        messages.success(request, f"Run {run.pk} aborted (exit code 6).")
    else:
        messages.error(request, f"Run {run.pk} had already ended ({run.status}).")
    return redirect("run-detail", project.slug, run.pk)
