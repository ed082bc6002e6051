"""REST API of a job's history: its versions (kindling/jobs/versions.py) and, for a job linked to a
file of the project's repository, the commits that touched it (kindling/vcs/history.py); restoring a
version or reverting to a commit."""

from datetime import datetime

from ninja import Router, Schema, Status
from pydantic import Field

from kindling.jobs import editing, versions
from kindling.jobs.api import JobOut, job_out
from kindling.jobs.models import Job
from kindling.openapi import BodyIn, Id
from kindling.patching import ErrorOut
from kindling.runs.api import in_project
from kindling.vcs.history import HistoryError, job_commits, revert_to_commit
from kindling.vcs.link import repository_of

router = Router(tags=["jobs"])


class VersionOut(Schema):
    version: int = Field(ge=1)
    created_at: datetime
    author: str | None = Field(description="Its author's name or email; null: Kindling (an import, a deploy)")
    author_email: str | None
    changed: list[str] = Field(description="What this save changed from the version before")
    restored_from: int | None
    expression: str
    adaptor: str
    adaptor_version: str
    trigger: str | None
    credential: str | None


class CommitOut(Schema):
    sha: str
    date: str = Field(description="ISO 8601, as git gives it")
    author: str
    email: str
    message: str


class HistoryOut(Schema):
    versions: list[VersionOut]
    commits: list[CommitOut] = Field(description="A job linked to a file: the commits that touched it")
    commits_error: str | None = Field(None, description="Why the commits could not be read")


class RevertedOut(Schema):
    job: JobOut
    commit: str | None = Field(None, description="Reverting to a commit: its SHA")
    version: int | None = Field(None, description="Restoring a version: the new version's number")
    restored_from: int | None = Field(None, description="The version restored")
    notes: list[str] | None = Field(None, description="What could not be restored as it was")


class RevertIn(BodyIn):
    """One of the two: a version of the job, or a commit of its file."""

    version: int | None = None
    commit: str | None = None


def git_history(job: Job) -> dict:
    """The commits that touched a linked job's file; none for a job linked to no file (the fetch
    failing is said, the versions still answer)."""
    if not job.git_path or repository_of(job.project) is None:
        return {"commits": []}
    try:
        return {"commits": job_commits(job)}
    except HistoryError as exc:
        return {"commits": [], "commits_error": str(exc)}


@router.get(
    "/jobs/{job_id}/history",
    response={200: HistoryOut, 401: ErrorOut, 404: ErrorOut},
    exclude_unset=True,
    summary="A job's history: its versions, newest first (each save of code, adaptor, trigger, credential)",
)
def job_history(request, job_id: Id):
    job = in_project(Job, request.user, job_id, "view", "job")
    return {**versions.job_history(job), **git_history(job)}


@router.post(
    "/jobs/{job_id}/revert",
    response={
        200: RevertedOut,
        400: ErrorOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
        502: ErrorOut,
    },
    exclude_unset=True,
    summary="Bring a job back to one of its versions (saved again as a new version), or its file to a commit "
    "(a new commit)",
)
def revert_job(request, job_id: Id, payload: RevertIn):
    job = in_project(Job, request.user, job_id, "edit_job", "job")
    if (payload.version is None) == (payload.commit is None):
        return Status(400, {"error": 'Give either "version" (a version number) or "commit" (a SHA).'})
    if payload.commit is not None:
        try:
            job = revert_to_commit(job, payload.commit, request.user)
        except HistoryError as exc:
            return Status(exc.status, {"error": str(exc)})
        fresh = Job.objects.select_related("trigger", "credential").get(pk=job.pk)
        return Status(200, {"job": job_out(fresh), "commit": payload.commit})
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
