"""REST API of the Job Library: searching it (any user) and a project's contribution (administrators)."""

from datetime import datetime

from django.http import Http404
from ninja import Router, Schema, Status

from kindling.jobs.models import Job, JobOperation
from kindling.library import catalogue
from kindling.openapi import LIMIT, BodyIn, Id, Limit, Offset, page_of
from kindling.patching import ErrorOut
from kindling.projects.access import project_for

router = Router(tags=["library"])


class LibraryJobOut(Schema):
    id: int
    name: str
    adaptor: str
    adaptor_version: str
    operations: list[str]
    expression: str
    created_at: datetime
    updated_at: datetime


LibraryPage = page_of(LibraryJobOut, "LibraryPage")


class ContributionIn(BodyIn):
    contribute: bool


class ContributionOut(Schema):
    contribute: bool


def library_job_out(job, operations: list[str]) -> dict:
    return {
        "id": job.pk,
        "name": job.name,
        "adaptor": job.adaptor,
        "adaptor_version": job.adaptor_version,
        "operations": operations,
        "expression": job.expression,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
    }


@router.get(
    "/library",
    response={200: LibraryPage, 401: ErrorOut, 422: ErrorOut},
    summary="Search the Job Library: text, adaptor (e.g. dhis2) and operation used (e.g. upsert)",
)
def search_library(
    request, q: str = "", adaptor: str = "", operation: str = "", limit: Limit = LIMIT, offset: Offset = 0
):
    jobs = catalogue.search(q, adaptor, operation)
    found = catalogue.page_of(jobs, offset, limit)
    # One query for the operations of the whole page.
    operations: dict[int, list[str]] = {}
    names = JobOperation.objects.filter(job_id__in=[job.pk for job in found]).order_by("id")
    for job_id, name in names.values_list("job_id", "name"):
        operations.setdefault(job_id, []).append(name)
    result = {
        "items": [library_job_out(job, operations.get(job.pk, [])) for job in found],
        "count": jobs.count(),
        "limit": limit,
        "offset": offset,
    }
    return result


@router.get(
    "/library/{job_id}",
    response={200: LibraryJobOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="One job of the Job Library (to use it, create a job in your project with its adaptor and "
    "expression)",
)
def get_library_job(request, job_id: Id):
    try:
        job = catalogue.published_job(job_id)
    except Job.DoesNotExist:
        raise Http404("No such job in the library.") from None
    return library_job_out(job, catalogue.operations_of(job))


@router.get(
    "/projects/{slug}/library",
    response={200: ContributionOut, 401: ErrorOut, 404: ErrorOut},
    summary="Whether the project contributes its non-private jobs to the Job Library",
)
def get_contribution(request, slug: str):
    project = project_for(request.user, slug)
    return {"contribute": project.contributes_to_library}


@router.put(
    "/projects/{slug}/library",
    response={
        200: ContributionOut,
        400: ErrorOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        422: ErrorOut,
    },
    summary="Contribute the project's non-private jobs to the Job Library, or stop (administrators)",
)
def put_contribution(request, slug: str, payload: ContributionIn):
    project = project_for(request.user, slug, "edit_settings")
    catalogue.set_contribution(project, request.user, payload.contribute)
    return Status(200, {"contribute": project.contributes_to_library})
