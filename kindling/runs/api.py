from django.http import Http404
from ninja import Router

from kindling.lib.paging import DEFAULT_LIMIT, page
from kindling.projects.access import project_for, projects_of
from kindling.runs.models import Run

router = Router(tags=["runs"])


def run_out(run: Run) -> dict:
    return {
        "id": run.pk,
        "job": run.job.name,
        "cause": run.cause,
        "status": run.status,
        "exit_code": run.exit_code,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "message": run.message_id,
        "parent": run.parent_id,
        "final_state": run.final_state,
    }


def run_detail_out(run: Run) -> dict:
    return {
        **run_out(run),
        "initial_state": run.initial_state,
        "adaptor_version": run.adaptor_version,
        "log": [
            {"time": line.time, "source": line.source, "level": line.level, "message": line.message}
            for line in run.log_lines.order_by("seq")
        ],
    }


@router.get("/projects/{slug}/runs", summary="Runs of a project, newest first; filter by job name and status")
def list_runs(
    request, slug: str, job: str | None = None, status: Run.Status | None = None,
    limit: int = DEFAULT_LIMIT, offset: int = 0,
):
    project = project_for(request.user, slug)
    runs = project.runs.select_related("job").order_by("-created_at", "-id")
    if job:
        runs = runs.filter(job__name=job)
    if status:
        runs = runs.filter(status=status)
    return page(runs, limit, offset, run_out)


@router.get("/runs/{run_id}", summary="One run with its initial state, final state and log")
def get_run(request, run_id: int):
    run = Run.objects.select_related("job", "project").filter(pk=run_id).first()
    if run is None or not projects_of(request.user).filter(pk=run.project_id).exists():
        raise Http404("No such run.")
    return run_detail_out(run)
