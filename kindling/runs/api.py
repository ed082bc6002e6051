from django.http import Http404
from ninja import Router, Status

from kindling.lib.history import Window
from kindling.lib.paging import page
from kindling.lib.websearch import EmptyQuery
from kindling.openapi import LIMIT, DateTime, Id, Limit, Offset, Page, errors, links, operation_id
from kindling.projects.access import project_for, reachable_projects, require
from kindling.runs.filters import filter_runs
from kindling.runs.models import IllegalTransition, Run
from kindling.runs.reprocess import BadToken, CannotRun, reprocess_run

router = Router(tags=["runs"])


def in_project(model, user, pk: int, action: str, what: str):
    """An object of one of the user's projects by id (else 404), if the role allows `action` (else 403).

    For endpoints addressed by an object's id (`/runs/{id}`, `/jobs/{id}`, `/messages/{id}`): like
    `project_for`, an outsider cannot tell a missing object from one of another project.
    """
    reachable = reachable_projects(user)
    found = model.objects.select_related("project").filter(pk=pk, project__in=reachable).first()
    if found is None:
        raise Http404(f"No such {what}.")
    require(user, action, found.project)
    return found


def run_links(run_id: str) -> dict:
    return {
        name: (operation_id(__name__, function), {"run_id": run_id})
        for name, function in (("get_run", "get_run"), ("reprocess", "reprocess"), ("abort", "abort"))
    }


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
        # Automatic retries: attempt n of `attempts`; a retry names its series' first run, and waits
        # in the queue until not_before.
        "attempt": run.attempt,
        "attempts": run.attempts,
        "first_attempt": run.first_attempt_id,
        "not_before": run.not_before,
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


@router.get(
    "/projects/{slug}/runs",
    response={200: Page, **errors(400)},
    openapi_extra=links(200, **run_links("$response.body#/items/0/id")),
    summary="Runs of a project, newest first; filter by log text (q, full text), time, job name, status",
)
def list_runs(
    request,
    slug: str,
    job: str | None = None,
    status: Run.Status | None = None,
    q: str = "",
    since: DateTime | None = None,
    until: DateTime | None = None,
    limit: Limit = LIMIT,
    offset: Offset = 0,
):
    project = project_for(request.user, slug)
    try:
        runs = filter_runs(
            project.runs.select_related("job"),
            text=q.strip(),
            span=Window(since, until) if since or until else None,
            job_name=job or "",
            status=status or "",
        )
    except EmptyQuery as exc:
        return Status(400, {"error": f"q: {exc}"})
    return Status(200, page(runs.order_by("-created_at", "-id"), limit, offset, run_out))


@router.get("/runs/{run_id}", summary="One run with its initial state, final state and log")
def get_run(request, run_id: Id):
    return run_detail_out(in_project(Run, request.user, run_id, "view", "run"))


@router.post(
    "/runs/{run_id}/reprocess",
    response={201: dict, **errors(400, 409)},
    summary="Run the run's job again (on its message as it is now, or from the same state)",
)
def reprocess(request, run_id: Id):
    run = in_project(Run, request.user, run_id, "reprocess", "run")
    try:
        new = reprocess_run(run, token=request.headers.get("Idempotency-Key"))
    except BadToken as exc:
        return Status(400, {"error": f"Idempotency-Key: {exc}"})
    except CannotRun as exc:
        return Status(409, {"error": str(exc)})
    return Status(201, run_out(new))


@router.post(
    "/runs/{run_id}/abort",
    response={200: dict, **errors(403, 409)},
    summary="Abort a pending or running run (project owners and admins); it ends with exit code 6",
)
def abort(request, run_id: Id):
    run = in_project(Run, request.user, run_id, "abort_run", "run")
    try:
        aborted = run.abort()
    except IllegalTransition:
        aborted = False
    if not aborted:
        run.refresh_from_db()
        return Status(409, {"error": f"Run {run.pk} has already ended ({run.status}): nothing to abort."})
    return Status(200, run_out(run))
