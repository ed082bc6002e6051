from django.core.exceptions import PermissionDenied
from ninja import Router, Schema, Status

from kindling.lib.paging import DEFAULT_LIMIT, page
from kindling.patching import PatchIn
from kindling.projects.access import can, project_for, projects_of
from kindling.projects.configure import ConfigError, configure, create_project

router = Router(tags=["projects"])
ERRORS = {400: dict, 403: dict, 404: dict}


class ProjectIn(Schema):
    name: str
    description: str = ""


class ProjectPatch(PatchIn):
    name: str | None = None
    description: str | None = None
    concurrency: int | None = None
    notification_threshold: int | None = None
    timezone: str | None = None


def project_out(project) -> dict:
    return {
        "slug": project.slug,
        "name": project.name,
        "description": project.description,
        "inbox_url": project.inbox_url,
        "concurrency": project.concurrency,
        "notification_threshold": project.notification_threshold,
        "timezone": project.timezone,
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


@router.get("/projects/{slug}", summary="One project and its settings")
def get_project(request, slug: str):
    return project_out(project_for(request.user, slug))


@router.patch(
    "/projects/{slug}",
    response={200: dict, **ERRORS},
    summary="Administrators: change name (the slug follows), description, concurrency, "
    "notification_threshold, timezone",
)
def patch_project(request, slug: str, payload: ProjectPatch):
    project = project_for(request.user, slug)
    if not can(request.user, "edit_settings", project):
        raise PermissionDenied("Only the project's administrators can change its settings.")
    changes = payload.model_dump(exclude_unset=True)
    nulls = sorted(field for field, value in changes.items() if value is None and field != "description")
    if nulls:
        return Status(400, {"error": f"{', '.join(nulls)} cannot be null."})
    try:
        project = configure(project, **changes)
    except ConfigError as exc:
        return Status(400, {"error": str(exc)})
    return Status(200, project_out(project))
