from typing import Literal

from ninja import Router, Schema, Status

from kindling.lib.paging import DEFAULT_LIMIT, page
from kindling.patching import PatchIn
from kindling.plans.api import plan_and_usage
from kindling.projects.access import project_for, projects_of
from kindling.projects.configure import FAILURE_ALERT_PERIODS, ConfigError, configure, create_project
from kindling.projects.members import (
    AccessError,
    add_member,
    change_role,
    is_invited,
    members_of,
    remove_member,
)
from kindling.projects.models import Membership

router = Router(tags=["projects"])
ERRORS = {400: dict, 403: dict, 404: dict}


class ProjectIn(Schema):
    name: str
    description: str = ""


# Failure alerts' periods, declared as the enum they are.
AlertPeriod = Literal[tuple(FAILURE_ALERT_PERIODS)]


class ProjectPatch(PatchIn):
    name: str | None = None
    description: str | None = None
    concurrency: int | None = None
    notification_threshold: int | None = None
    timezone: str | None = None
    # Failure alerts: minutes between two emails about one job's failed runs; 0 = off.
    failure_alert_minutes: AlertPeriod | None = None


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


@router.get("/projects", summary="The projects you are a member of")
def list_projects(request, limit: int = DEFAULT_LIMIT, offset: int = 0):
    return page(projects_of(request.user).order_by("name", "id"), limit, offset, project_out)


@router.post("/projects", response={201: dict, **ERRORS}, summary="Create a project; you become its owner")
def post_project(request, payload: ProjectIn):
    try:
        project = create_project(request.user, payload.name, payload.description)
    except ConfigError as exc:
        return Status(400, {"error": str(exc)})
    return Status(201, project_out(project))


@router.get("/projects/{slug}", summary="One project: its settings, its plan and this billing cycle's usage")
def get_project(request, slug: str):
    project = project_for(request.user, slug)
    return {**project_out(project), **plan_and_usage(project)}


@router.patch(
    "/projects/{slug}",
    response={200: dict, **ERRORS},
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


class MemberIn(Schema):
    email: str
    role: str = "collaborator"


class MemberPatch(Schema):
    role: str


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


@router.get("/projects/{slug}/members", summary="The project's users and their roles (administrators)")
def list_members(request, slug: str):
    project = project_for(request.user, slug, "manage_access")
    return [member_out(m) for m in members_of(project)]


@router.post(
    "/projects/{slug}/members",
    summary="Add a user by email as administrator or collaborator; an address without an account is invited",
    response={201: dict, 400: dict, 409: dict},
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
    response={200: dict, 400: dict, 409: dict},
)
def change_member(request, slug: str, user_id: int, data: MemberPatch):
    project = project_for(request.user, slug, "manage_access")
    try:
        membership = change_role(project, request.user, user_id, data.role)
    except AccessError as exc:
        return refused(exc)
    return Status(200, member_out(membership))


@router.delete(
    "/projects/{slug}/members/{user_id}", summary="Revoke a user's access", response={204: None, 409: dict}
)
def remove_member_endpoint(request, slug: str, user_id: int):
    project = project_for(request.user, slug, "manage_access")
    try:
        remove_member(project, request.user, user_id)
    except AccessError as exc:
        return refused(exc)
    return Status(204, None)
