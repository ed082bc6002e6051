from ninja import Router

from kindling.lib.paging import DEFAULT_LIMIT, page
from kindling.plans.api import plan_and_usage
from kindling.projects.access import project_for, projects_of

router = Router(tags=["projects"])


def project_out(project) -> dict:
    return {
        "slug": project.slug,
        "name": project.name,
        "description": project.description,
        "inbox_url": project.inbox_url,
        "concurrency": project.concurrency,
        "timezone": project.timezone,
        "created_at": project.created_at,
    }


@router.get("/projects", summary="The projects you are a member of")
def list_projects(request, limit: int = DEFAULT_LIMIT, offset: int = 0):
    return page(projects_of(request.user).order_by("name", "id"), limit, offset, project_out)


@router.get("/projects/{slug}", summary="One project, with its plan and this billing cycle's usage")
def get_project(request, slug: str):
    project = project_for(request.user, slug)
    return {**project_out(project), **plan_and_usage(project)}
