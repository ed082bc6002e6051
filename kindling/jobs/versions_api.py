"""REST API of a job's history: its versions, and restoring one (kindling/jobs/versions.py)."""

from ninja import Router, Schema, Status
from pydantic import ConfigDict

from kindling.jobs import editing, versions
from kindling.jobs.api import job_out
from kindling.jobs.models import Job
from kindling.patching import ErrorOut
from kindling.runs.api import in_project

router = Router(tags=["jobs"])


class HistoryOut(Schema):
    versions: list[dict]


class RevertIn(Schema):
    model_config = ConfigDict(extra="forbid")
    version: int


@router.get(
    "/jobs/{job_id}/history",
    response={200: HistoryOut, 401: ErrorOut, 404: ErrorOut},
    summary="A job's history: its versions, newest first (each save of code, adaptor, trigger, credential)",
)
def job_history(request, job_id: int):
    job = in_project(Job, request.user, job_id, "view", "job")
    return versions.job_history(job)


@router.post(
    "/jobs/{job_id}/revert",
    response={
        200: dict,
        400: ErrorOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
    },
    summary="Bring a job back to one of its versions; this saves it again as a new version",
)
def revert_job(request, job_id: int, payload: RevertIn):
    job = in_project(Job, request.user, job_id, "edit_job", "job")
    try:
        job, number, notes = editing.restore_version(job, payload.version, request.user)
    except versions.NoSuchVersion as exc:
        return Status(404, {"error": str(exc)})
    except versions.NothingToRestore as exc:
        return Status(409, {"error": str(exc)})
    except editing.EditError as exc:
        return Status(400, {"error": str(exc)})
    fresh = Job.objects.select_related("trigger", "credential").get(pk=job.pk)
    return Status(
        200, {"job": job_out(fresh), "version": number, "restored_from": payload.version, "notes": notes}
    )
