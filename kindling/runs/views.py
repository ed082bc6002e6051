import json

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from kindling.engine import ExitCode
from kindling.projects.access import project_for
from kindling.runs.models import Run

RUNS_PER_PAGE = 50

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


@login_required
def activity(request, slug):
    project = project_for(request.user, slug)
    runs = run_rows(Run.objects.filter(project=project)).order_by("-created_at", "-id")
    page = Paginator(runs, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "runs/activity.html", {"project": project, "page": page})


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
        "log_lines": run.log_lines.all(),
    }
    return render(request, "runs/run_detail.html", context)
