from datetime import datetime
from typing import Any, Literal

from ninja import Router, Schema, Status
from pydantic import Field

from kindling.credentials.models import Credential
from kindling.inbox.models import Message
from kindling.jobs import editing
from kindling.jobs.forms import shared_credentials
from kindling.jobs.models import Job, RetryBackoff, Trigger
from kindling.lib.paging import page
from kindling.openapi import (
    LIMIT,
    BodyId,
    BodyIn,
    Id,
    Limit,
    Offset,
    Optional,
    errors,
    links,
    operation_id,
    page_of,
)
from kindling.patching import PatchIn
from kindling.projects.access import project_for
from kindling.runs.api import RunOut, in_project, run_links, run_out
from kindling.runs.reprocess import BadToken, CannotRun, run_now

router = Router(tags=["jobs"])
THIS = __name__
# The name rule of editing._clean_name (spaces are collapsed; a taken name is a 400).
Name = {"min_length": 1, "max_length": editing.NAME_MAX, "pattern": r"\S"}
Criteria = dict[str, Any] | str | None


class JobOut(Schema):
    id: int
    name: str
    trigger: str | None = Field(description="The trigger's name; null: the job does not run")
    trigger_kind: Trigger.Kind | None
    adaptor: str
    adaptor_version: str
    credential: str | None = Field(description="The credential's name")
    credential_id: int | None
    credential_problem: Literal["deleted", "revoked"] | None = Field(
        description="The credential was deleted or is no longer shared with the project: runs fail"
    )
    expression: str
    enabled: bool
    private: bool
    archived: bool
    console_disabled: bool
    file_path: str | None = Field(description="The job's file in the project's repository")
    retry_attempts: int = Field(ge=0)
    retry_backoff: RetryBackoff
    retry_delay: int = Field(ge=0, description="seconds")
    retry_max_delay: int = Field(ge=0, description="seconds")
    reply_with_data: bool
    created_at: datetime
    updated_at: datetime


class TriggerOut(Schema):
    id: int
    name: str
    kind: Trigger.Kind
    criteria: Any = Field(description="message: the JSON object a message body must contain; else null")
    exclusion: Any = Field(description="message: a JSON object a matching body must not contain, or null")
    cron: str | None = Field(description="cron: the expression, fired in the project's time zone")
    upstream_job: str | None = Field(description="flow and catch: the job whose runs fire it")
    reply: Trigger.Reply
    jobs: list[str] = Field(description="The names of the jobs it starts")
    created_at: datetime


class TriggerDeletedOut(Schema):
    deleted: str
    jobs_without_trigger: list[str]


JobPage = page_of(JobOut, "JobPage")
TriggerPage = page_of(TriggerOut, "TriggerPage")


def job_out(job: Job) -> dict:
    return {
        "id": job.pk,
        "name": job.name,
        "trigger": job.trigger.name if job.trigger_id else None,
        "trigger_kind": job.trigger.kind if job.trigger_id else None,
        "adaptor": job.adaptor,
        "adaptor_version": job.adaptor_version,
        "credential": job.credential.name if job.credential_id else None,
        "credential_id": job.credential_id,
        # "deleted" or "revoked" (no longer shared with the project): its runs fail until it changes.
        "credential_problem": job.credential_problem,
        "expression": job.expression,
        "enabled": job.enabled,
        "private": job.private,
        "archived": job.archived,
        "console_disabled": job.console_disabled,
        # The job's file in the project's repository (kindling/vcs): saving its expression commits it.
        "file_path": job.git_path or None,
        # Automatic retries (docs/retries.md): 0 attempts = off, as in v1.
        "retry_attempts": job.retry_attempts,
        "retry_backoff": job.retry_backoff,
        "retry_delay": job.retry_delay,
        "retry_max_delay": job.retry_max_delay,
        "reply_with_data": job.reply_with_data,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
    }


def trigger_out(trigger: Trigger) -> dict:
    return {
        "id": trigger.pk,
        "name": trigger.name,
        "kind": trigger.kind,
        "criteria": trigger.criteria,
        "exclusion": trigger.exclusion,
        "cron": trigger.cron or None,
        "upstream_job": trigger.upstream_job.name if trigger.upstream_job_id else None,
        "reply": trigger.reply,
        "jobs": [job.name for job in trigger.jobs.order_by("name")],
        "created_at": trigger.created_at,
    }


class JobIn(BodyIn):
    name: str = Field(**Name)
    trigger: str | None = None
    adaptor: str = editing.DEFAULT_ADAPTOR
    adaptor_version: str = "latest"
    credential: str | None = None
    credential_id: BodyId | None = None
    expression: str = ""
    enabled: bool = False
    private: bool = False
    console_disabled: bool = False
    file_path: str = ""
    retry_attempts: int = Field(0, ge=0, le=editing.MAX_RETRY_ATTEMPTS)
    retry_backoff: RetryBackoff = RetryBackoff.EXPONENTIAL
    retry_delay: int = Field(60, ge=0, le=editing.MAX_RETRY_WAIT, description="seconds")
    retry_max_delay: int = Field(3600, ge=1, le=editing.MAX_RETRY_WAIT, description="seconds")
    reply_with_data: bool = True


class JobPatch(PatchIn):
    name: str = Optional(**Name)
    # null: no trigger, no credential (the job does not run until it has a trigger).
    trigger: str | None = None
    adaptor: str = Optional()
    adaptor_version: str | None = None
    credential: str | None = None
    credential_id: BodyId | None = None
    expression: str = Optional()
    enabled: bool = Optional()
    private: bool = Optional()
    archived: bool = Optional()
    console_disabled: bool = Optional()
    # The job's file in the project's repository (kindling/vcs); null or "" unlinks it.
    file_path: str | None = Field(None, max_length=500)
    retry_attempts: int = Optional(ge=0, le=editing.MAX_RETRY_ATTEMPTS)
    retry_backoff: RetryBackoff = Optional()
    retry_delay: int = Optional(ge=0, le=editing.MAX_RETRY_WAIT, description="seconds")
    retry_max_delay: int = Optional(ge=1, le=editing.MAX_RETRY_WAIT, description="seconds")
    reply_with_data: bool = Optional()


class RunIn(BodyIn):
    message: BodyId | None = None


class TriggerIn(BodyIn):
    name: str = Field(**Name)
    kind: Trigger.Kind
    # A JSON object, or the JSON text of one (as project.yaml writes criteria).
    criteria: Criteria = None
    exclusion: Criteria = None
    cron: str = ""
    upstream_job: str | None = None
    reply: Trigger.Reply = Trigger.Reply.ACCEPTED


class TriggerPatch(PatchIn):
    name: str = Optional(**Name)
    kind: Trigger.Kind = Optional()
    criteria: Criteria = None
    exclusion: Criteria = None
    cron: str | None = None
    upstream_job: str | None = None
    reply: Trigger.Reply | None = None


JOB_LINKS = links(
    201,
    get=(operation_id(THIS, "get_job"), {"job_id": "$response.body#/id"}),
    patch=(operation_id(THIS, "patch_job"), {"job_id": "$response.body#/id"}),
    run=(operation_id(THIS, "run_job"), {"job_id": "$response.body#/id"}),
)
TRIGGER_LINKS = links(
    201,
    get=(operation_id(THIS, "get_trigger"), {"trigger_id": "$response.body#/id"}),
    patch=(operation_id(THIS, "patch_trigger"), {"trigger_id": "$response.body#/id"}),
    delete=(operation_id(THIS, "delete_trigger"), {"trigger_id": "$response.body#/id"}),
)


class Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def resolve_trigger(project, name: str | None) -> Trigger | None:
    if name is None:
        return None
    trigger = project.triggers.filter(name=name).first()
    if trigger is None:
        raise Refused(400, f"No trigger named {name!r} in this project.")
    return trigger


def resolve_credential(project, name: str | None, pk: int | None) -> Credential | None:
    # Only credentials shared with the project can be named: anything else is "not found", so the
    # API does not tell which credential ids exist elsewhere.
    shared = shared_credentials(project)
    if pk is not None:
        credential = shared.filter(pk=pk).first()
        if credential is None:
            raise Refused(400, f"No credential {pk} is shared with this project.")
        return credential
    found = list(shared.filter(name=name)[:2])
    if not found:
        raise Refused(400, f"No credential named {name!r} is shared with this project.")
    if len(found) > 1:
        raise Refused(
            400, f"Several credentials named {name!r} are shared with this project: send credential_id."
        )
    return found[0]


def resolve_job(project, name: str | None) -> Job | None:
    if name is None:
        return None
    job = project.jobs.filter(name=name).first()
    if job is None:
        raise Refused(400, f"No job named {name!r} in this project.")
    return job


def job_changes(project, data: dict) -> dict:
    if "file_path" in data:
        data["git_path"] = data.pop("file_path") or ""  # null or "" unlinks the job from its file
    if "trigger" in data:
        data["trigger"] = resolve_trigger(project, data["trigger"])
    if "credential" in data or "credential_id" in data:
        name, pk = data.pop("credential", None), data.pop("credential_id", None)
        # Both null (or absent): the job has no credential.
        data["credential"] = None if name is None and pk is None else resolve_credential(project, name, pk)
    return data


def refused(exc: Exception):
    if isinstance(exc, Refused):
        return Status(exc.status, {"error": str(exc)})
    if isinstance(exc, BadToken):
        return Status(400, {"error": f"Idempotency-Key: {exc}"})
    if isinstance(exc, CannotRun):
        return Status(409, {"error": str(exc)})
    return Status(400, {"error": str(exc)})


@router.get(
    "/projects/{slug}/jobs", response=JobPage, summary="Jobs of a project (archived ones with archived=true)"
)
def list_jobs(request, slug: str, archived: bool = False, limit: Limit = LIMIT, offset: Offset = 0):
    project = project_for(request.user, slug)
    jobs = (
        project.jobs.filter(archived=archived)
        .select_related("trigger", "credential")
        .with_credential_access()
        .order_by("name")
    )
    return page(jobs, limit, offset, job_out)


@router.post(
    "/projects/{slug}/jobs",
    response={201: JobOut, **errors(400)},
    summary="Create a job (it starts off)",
    openapi_extra=JOB_LINKS,
)
def create_job(request, slug: str, payload: JobIn):
    project = project_for(request.user, slug, "edit_job")
    data = payload.model_dump()
    try:
        job = editing.create_job(project, request.user, **job_changes(project, data))
    except (Refused, editing.EditError) as exc:
        return refused(exc)
    return Status(201, job_out(job))


@router.get("/jobs/{job_id}", response=JobOut, summary="One job")
def get_job(request, job_id: Id):
    return job_out(in_project(Job, request.user, job_id, "view", "job"))


@router.patch(
    "/jobs/{job_id}",
    response={200: JobOut, **errors(400)},
    summary="Change a job: any of its fields, incl. enabled, private, archived, console_disabled and retries",
)
def patch_job(request, job_id: Id, payload: JobPatch):
    job = in_project(Job, request.user, job_id, "edit_job", "job")
    data = payload.model_dump(exclude_unset=True)
    not_null = ("name", "adaptor", "expression", "enabled", "private", "archived", "console_disabled")
    for flag in (*not_null, *editing.RETRY_FIELDS):
        if flag in data and data[flag] is None:
            return Status(400, {"error": f"{flag} cannot be null."})
    try:
        editing.update_job(job, request.user, **job_changes(job.project, data))
    except (Refused, editing.EditError) as exc:
        return refused(exc)
    return Status(200, job_out(Job.objects.select_related("trigger", "credential").get(pk=job.pk)))


@router.post(
    "/jobs/{job_id}/run",
    response={201: RunOut, **errors(400, 409)},
    openapi_extra=links(201, **run_links("$response.body#/id")),
    summary="Run a job now: on a message (message jobs) or from its saved state (cron jobs)",
)
def run_job(request, job_id: Id, payload: RunIn | None = None):
    job = in_project(Job, request.user, job_id, "reprocess", "job")
    message = None
    if payload is not None and payload.message is not None:
        message = Message.objects.filter(pk=payload.message, project_id=job.project_id).first()
        if message is None:
            return Status(400, {"error": f"No message {payload.message} in this project's inbox."})
    try:
        run = run_now(job, message, token=request.headers.get("Idempotency-Key"))
    except CannotRun as exc:
        return refused(exc)
    return Status(201, run_out(run))


@router.get("/projects/{slug}/triggers", response=TriggerPage, summary="Triggers of a project")
def list_triggers(request, slug: str, limit: Limit = LIMIT, offset: Offset = 0):
    project = project_for(request.user, slug)
    triggers = project.triggers.select_related("upstream_job").order_by("name")
    return page(triggers, limit, offset, trigger_out)


@router.post(
    "/projects/{slug}/triggers",
    response={201: TriggerOut, **errors(400)},
    summary="Create a trigger",
    openapi_extra=TRIGGER_LINKS,
)
def create_trigger(request, slug: str, payload: TriggerIn):
    project = project_for(request.user, slug, "edit_job")
    data = payload.model_dump()
    try:
        data["upstream_job"] = resolve_job(project, data["upstream_job"])
        trigger = editing.create_trigger(project, **data)
    except (Refused, editing.EditError) as exc:
        return refused(exc)
    return Status(201, trigger_out(trigger))


@router.get("/triggers/{trigger_id}", response=TriggerOut, summary="One trigger")
def get_trigger(request, trigger_id: Id):
    return trigger_out(in_project(Trigger, request.user, trigger_id, "view", "trigger"))


@router.patch("/triggers/{trigger_id}", response={200: TriggerOut, **errors(400)}, summary="Change a trigger")
def patch_trigger(request, trigger_id: Id, payload: TriggerPatch):
    trigger = in_project(Trigger, request.user, trigger_id, "edit_job", "trigger")
    data = payload.model_dump(exclude_unset=True)
    if data.get("name", "") is None or data.get("kind", "") is None:
        return Status(400, {"error": "name and kind cannot be null."})
    if data.get("cron", "") is None:
        data["cron"] = ""
    try:
        if "upstream_job" in data:
            data["upstream_job"] = resolve_job(trigger.project, data["upstream_job"])
        editing.update_trigger(trigger, **data)
    except (Refused, editing.EditError) as exc:
        return refused(exc)
    return Status(200, trigger_out(Trigger.objects.select_related("upstream_job").get(pk=trigger.pk)))


@router.delete(
    "/triggers/{trigger_id}",
    response={200: TriggerDeletedOut},
    summary="Delete a trigger; its jobs are left without one and do not run until they get another",
)
def delete_trigger(request, trigger_id: Id):
    trigger = in_project(Trigger, request.user, trigger_id, "edit_job", "trigger")
    name = trigger.name
    orphans = editing.delete_trigger(trigger)
    return Status(200, {"deleted": name, "jobs_without_trigger": [job.name for job in orphans]})
