import zoneinfo
from datetime import datetime
from typing import Literal

from ninja import Router, Schema, Status
from pydantic import Field, field_validator

from kindling.exports.build import request_export
from kindling.lib.paging import page
from kindling.openapi import (
    LIMIT,
    BodyIn,
    Id,
    Limit,
    Offset,
    Optional,
    email_format,
    errors,
    links,
    operation_id,
    page_of,
)
from kindling.patching import PatchIn
from kindling.plans.api import PlanOut, UsageOut, plan_and_usage
from kindling.projects.access import project_for, projects_of
from kindling.projects.configure import (
    FAILURE_ALERT_PERIODS,
    NAME_MAX,
    ConfigError,
    configure,
    create_project,
)
from kindling.projects.members import (
    AccessError,
    add_member,
    change_role,
    is_invited,
    members_of,
    remove_member,
    set_support_access,
)
from kindling.projects.models import Membership
from kindling.projects.settings_pages import PROJECT_EXPORTS

router = Router(tags=["projects"])
ProjectName = Field(min_length=1, max_length=NAME_MAX, pattern=r"\S")
Role = Literal["administrator", "collaborator"]

THIS = __name__


class ProjectIn(BodyIn):
    name: str = ProjectName
    description: str = ""


class ProjectPatch(PatchIn):
    name: str = Optional(min_length=1, max_length=NAME_MAX, pattern=r"\S")
    description: str | None = None
    # Up to the plan's maximum (400 past it: it depends on the project's plan).
    concurrency: int = Optional(ge=1)
    notification_threshold: int = Optional(ge=1, le=100)
    timezone: str = Optional(enum=sorted(zoneinfo.available_timezones()))
    # Failure alerts: minutes between two emails about one job's failed runs; 0 = off.
    failure_alert_minutes: int = Optional(enum=FAILURE_ALERT_PERIODS, strict=True)

    @field_validator("failure_alert_minutes")
    @classmethod
    def _alert_period(cls, minutes: int) -> int:
        # The document lists the periods (enum): another answers 422, as a value it refuses does.
        if minutes not in FAILURE_ALERT_PERIODS:
            raise ValueError(f"one of {', '.join(map(str, FAILURE_ALERT_PERIODS))} (minutes; 0: off)")
        return minutes


class ProjectOut(Schema):
    slug: str
    name: str
    description: str
    inbox_url: str = Field(description="Where systems post messages (no token needed)")
    concurrency: int = Field(ge=1)
    notification_threshold: int = Field(ge=1, le=100, description="% of the cycle's runs")
    timezone: str
    support_access: bool
    failure_alert_minutes: int = Field(ge=0, description="0: failure alerts are off")
    created_at: datetime


class ProjectDetailOut(ProjectOut):
    plan: PlanOut | None
    usage: UsageOut


class MemberOut(Schema):
    user_id: int
    email: str = Field(json_schema_extra=email_format)
    name: str
    role: Role
    owner: bool
    invited: bool = Field(description="Invited by email, has not set a password yet")
    since: datetime
    warning: str | None = Field(None, description="Adding: the invitation email could not be sent")


class ConfigExportOut(Schema):
    export: int
    kind: Literal[PROJECT_EXPORTS]
    emailed_to: str = Field(json_schema_extra=email_format)


ProjectPage = page_of(ProjectOut, "ProjectPage")
MemberPage = page_of(MemberOut, "MemberPage")


def project_out(project) -> dict:
    return {
        "slug": project.slug,
        "name": project.name,
        "description": project.description,
        "inbox_url": project.inbox_url,
        "concurrency": project.concurrency,
        "notification_threshold": project.notification_threshold,
        "timezone": project.timezone,
        "support_access": project.support_access,
        "failure_alert_minutes": project.failure_alert_minutes,
        "created_at": project.created_at,
    }


@router.get("/projects", response=ProjectPage, summary="The projects you are a member of")
def list_projects(request, limit: Limit = LIMIT, offset: Offset = 0):
    return page(projects_of(request.user).order_by("name", "id"), limit, offset, project_out)


@router.post(
    "/projects",
    response={201: ProjectOut, **errors(400)},
    summary="Create a project; you become its owner",
    openapi_extra=links(
        201,
        get=(operation_id(THIS, "get_project"), {"slug": "$response.body#/slug"}),
        patch=(operation_id(THIS, "patch_project"), {"slug": "$response.body#/slug"}),
        members=(operation_id(THIS, "list_members"), {"slug": "$response.body#/slug"}),
    ),
)
def post_project(request, payload: ProjectIn):
    try:
        project = create_project(request.user, payload.name, payload.description)
    except ConfigError as exc:
        return Status(400, {"error": str(exc)})
    return Status(201, project_out(project))


@router.get(
    "/projects/{slug}",
    response=ProjectDetailOut,
    summary="One project: its settings, its plan and this billing cycle's usage",
)
def get_project(request, slug: str):
    project = project_for(request.user, slug)
    return {**project_out(project), **plan_and_usage(project)}


@router.patch(
    "/projects/{slug}",
    response={200: ProjectOut, **errors(400, 403)},
    summary="Administrators: change name (the slug follows), description, concurrency, "
    "notification_threshold, timezone, failure_alert_minutes",
)
def patch_project(request, slug: str, payload: ProjectPatch):
    project = project_for(request.user, slug, "edit_settings")
    changes = payload.model_dump(exclude_unset=True)
    nulls = sorted(field for field, value in changes.items() if value is None and field != "description")
    if nulls:
        return Status(400, {"error": f"{', '.join(nulls)} cannot be null."})
    try:
        project = configure(project, **changes)
    except ConfigError as exc:
        return Status(400, {"error": str(exc)})
    return Status(200, project_out(project))


class MemberIn(BodyIn):
    email: str = Field(json_schema_extra=email_format)
    role: Role = "collaborator"


class MemberPatch(BodyIn):
    role: Role


def member_out(membership) -> dict:
    return {
        "user_id": membership.user_id,
        "email": membership.user.email,
        "name": membership.user.name,
        "role": membership.role_label,
        "owner": membership.role == Membership.Role.OWNER,
        "invited": is_invited(membership.user),
        "since": membership.created_at,
    }


def refused(exc: AccessError):
    return Status(exc.status, {"error": str(exc)})


@router.get(
    "/projects/{slug}/members",
    response={200: MemberPage, **errors(403)},
    exclude_unset=True,
    summary="The project's users and their roles (administrators)",
)
def list_members(request, slug: str, limit: Limit = LIMIT, offset: Offset = 0):
    project = project_for(request.user, slug, "manage_access")
    return page(members_of(project), limit, offset, member_out)


@router.post(
    "/projects/{slug}/members",
    summary="Add a user by email as administrator or collaborator; an address without an account is invited",
    response={201: MemberOut, **errors(400, 403, 409)},
    exclude_unset=True,
    openapi_extra=links(
        201,
        patch=(
            operation_id(THIS, "change_member"),
            {"slug": "$request.path.slug", "user_id": "$response.body#/user_id"},
        ),
        delete=(
            operation_id(THIS, "remove_member_endpoint"),
            {"slug": "$request.path.slug", "user_id": "$response.body#/user_id"},
        ),
    ),
)
def add_member_endpoint(request, slug: str, data: MemberIn):
    project = project_for(request.user, slug, "manage_access")
    try:
        membership = add_member(project, request.user, data.email, data.role)
    except AccessError as exc:
        return refused(exc)
    out = member_out(membership)
    if membership.invitation_error:
        out["warning"] = membership.invitation_error
    return Status(201, out)


@router.patch(
    "/projects/{slug}/members/{user_id}",
    summary="Change a user's role",
    response={200: MemberOut, **errors(400, 403, 409)},
    exclude_unset=True,
)
def change_member(request, slug: str, user_id: Id, data: MemberPatch):
    project = project_for(request.user, slug, "manage_access")
    try:
        membership = change_role(project, request.user, user_id, data.role)
    except AccessError as exc:
        return refused(exc)
    return Status(200, member_out(membership))


@router.delete(
    "/projects/{slug}/members/{user_id}",
    summary="Revoke a user's access",
    response={204: None, **errors(403, 409)},
)
def remove_member_endpoint(request, slug: str, user_id: Id):
    project = project_for(request.user, slug, "manage_access")
    try:
        remove_member(project, request.user, user_id)
    except AccessError as exc:
        return refused(exc)
    return Status(204, None)


class SupportAccessIn(BodyIn):
    enabled: bool


@router.put(
    "/projects/{slug}/support-access",
    response={200: ProjectOut, **errors(403)},
    summary="Grant or revoke the instance's support staff access to the project (administrators), as "
    "Access & Security's switch does",
)
def put_support_access(request, slug: str, payload: SupportAccessIn):
    project = project_for(request.user, slug, "manage_access")
    set_support_access(project, request.user, payload.enabled)
    project.refresh_from_db()
    return Status(200, project_out(project))


class ConfigExportIn(BodyIn):
    kind: Literal[PROJECT_EXPORTS]


@router.post(
    "/projects/{slug}/config-export",
    response={202: ConfigExportOut},
    summary="Export the project's configuration (project.yaml or microservice.zip), as Project Settings "
    "does: built in the background, its download link emailed to you (yours only, for 7 days)",
)
def export_config(request, slug: str, payload: ConfigExportIn):
    project = project_for(request.user, slug)
    export = request_export(project, request.user, payload.kind)
    return Status(202, {"export": export.pk, "kind": export.kind, "emailed_to": request.user.email})
