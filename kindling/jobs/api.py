from ninja import Router

from kindling.jobs.models import Job
from kindling.lib.paging import DEFAULT_LIMIT, page
from kindling.projects.access import project_for

router = Router(tags=["jobs"])


def job_out(job: Job) -> dict:
    return {
        "id": job.pk,
        "name": job.name,
        "trigger": job.trigger.name if job.trigger_id else None,
        "trigger_kind": job.trigger.kind if job.trigger_id else None,
        "adaptor": job.adaptor,
        "adaptor_version": job.adaptor_version,
        "credential": job.credential.name if job.credential_id else None,
        "expression": job.expression,
        "enabled": job.enabled,
        "private": job.private,
        "archived": job.archived,
        "console_disabled": job.console_disabled,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
    }


@router.get("/projects/{slug}/jobs", summary="Jobs of a project (archived ones with archived=true)")
def list_jobs(request, slug: str, archived: bool = False, limit: int = DEFAULT_LIMIT, offset: int = 0):
    project = project_for(request.user, slug)
    jobs = project.jobs.filter(archived=archived).select_related("trigger", "credential").order_by("name")
    return page(jobs, limit, offset, job_out)
