from datetime import datetime
from typing import Any

from django.http import Http404
from ninja import Query, Router, Schema, Status
from pydantic import Field

from kindling.lib.history import Window
from kindling.lib.paging import page
from kindling.lib.websearch import EmptyQuery
from kindling.openapi import LIMIT, DateTime, Id, Limit, Offset, errors, links, operation_id, page_of
from kindling.projects.access import project_for, reachable_projects, require
from kindling.runs.filters import filter_runs
from kindling.runs.models import IllegalTransition, Run
from kindling.runs.reprocess import BadToken, CannotRun, reprocess_run
from kindling.runs.stream import log_after
from kindling.runs.templatetags.queue import queue_counts

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


class RunOut(Schema):
    id: int
    job: str = Field(description="The job's name")
    cause: Run.Cause
    status: Run.Status
    exit_code: int | None = Field(description="null until the run ends")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    message: int | None = Field(description="The id of the message it ran on")
    parent: int | None = Field(description="The run it was started from (flow, catch, reprocess)")
    attempt: int = Field(ge=1)
    attempts: int = Field(ge=1)
    first_attempt: int | None = Field(description="A retry: the first run of its series")
    not_before: datetime | None = Field(description="A retry waits in the queue until then")
    final_state: Any = Field(description="The final state (any JSON), null until the run ends")


class LogLineOut(Schema):
    time: datetime
    source: str = Field(description="Where the line came from: the job's console, the runtime, Kindling")
    level: str
    message: str


class RunDetailOut(RunOut):
    initial_state: Any = Field(description="The state the run started from, without its credential")
    adaptor_version: str
    log: list[LogLineOut]


class SeqLogLineOut(LogLineOut):
    seq: int = Field(ge=0, description="The line's place in the run's log: pass the last one as `after`")


class LogOut(Schema):
    run: int
    status: Run.Status
    complete: bool = Field(description="The run has ended and every line of its log is here")
    lines: list[SeqLogLineOut] = Field(description="At most 500 lines after `after`, in order")
    after: int = Field(description="The seq of the last line so far: the `after` of the next call")


class QueuePage(page_of(RunOut, "RunsInQueue")):
    pending: int = Field(ge=0)
    running: int = Field(ge=0)
    concurrency: int = Field(ge=1, description="How many of the project's runs may run at once")


RunPage = page_of(RunOut, "RunPage")


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
    response={200: RunPage, **errors(400)},
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


@router.get(
    "/runs/{run_id}", response=RunDetailOut, summary="One run with its initial state, final state and log"
)
def get_run(request, run_id: Id):
    return run_detail_out(in_project(Run, request.user, run_id, "view", "run"))


@router.post(
    "/runs/{run_id}/reprocess",
    response={201: RunOut, **errors(400, 409)},
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
    response={200: RunOut, **errors(403, 409)},
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


@router.get(
    "/runs/{run_id}/log",
    response=LogOut,
    summary="A run's log as it is written, from the line after `after`: call again with the answer's "
    "`after` until `complete` (the portal's live log)",
)
def run_log(
    request,
    run_id: Id,
    after: int = Query(-1, ge=-1, le=2**31, description="The seq of the last line you have; -1: all"),
):
    run = in_project(Run, request.user, run_id, "view", "run")
    status, complete, lines = log_after(run.pk, after)
    return {
        "run": run.pk,
        "status": status,
        "complete": complete,
        "lines": lines,
        "after": lines[-1]["seq"] if lines else after,
    }


@router.get(
    "/projects/{slug}/queue",
    response=QueuePage,
    summary="The project's queue: its pending and running runs, oldest first, with how "
    "many of each and the project's concurrency",
)
def list_queue(request, slug: str, limit: Limit = LIMIT, offset: Offset = 0):
    project = project_for(request.user, slug)
    counts = queue_counts(project)
    waiting = project.runs.filter(status__in=[Run.Status.PENDING, Run.Status.RUNNING]).select_related("job")
    return {
        **page(waiting.order_by("created_at", "id"), limit, offset, run_out),
        "pending": counts["pending"],
        "running": counts["running"],
        "concurrency": project.concurrency,
    }
