"""The Job Library: the jobs that contributing projects publish instance-wide, and joining or leaving it.

Nothing is copied: every search reads the jobs as they are now, so a job made private, archived or
deleted, or a project that stops contributing, leaves the library at once. What the library shows of
a job is its name, expression, adaptor and version, and its dates; never its project's messages,
runs, states or credentials.
"""

from django.db import transaction

from kindling.audit.log import record
from kindling.jobs.models import Job, JobOperation
from kindling.projects.access import require
from kindling.projects.models import Project

# The fields the library reads: nothing else of a job leaves its project.
PUBLISHED_FIELDS = ("id", "name", "expression", "adaptor", "adaptor_version", "created_at", "updated_at")


def published_jobs():
    return Job.objects.filter(private=False, archived=False, project__contributes_to_library=True).only(
        *PUBLISHED_FIELDS
    )


def adaptor_name(value: str) -> str:
    """`dhis2`, `language-dhis2` and `@openfn/language-dhis2` all name the same adaptor."""
    value = (value or "").strip()
    if value and not value.startswith("@") and "/" not in value:
        value = "@openfn/" + (value if value.startswith("language-") else f"language-{value}")
    return value


def search(q: str = "", adaptor: str = "", operation: str = ""):
    """Published jobs matching all that is given: text in the name, adaptor or expression; the adaptor;
    an operation called at the top level of the expression. Newest change first."""
    jobs = published_jobs()
    for word in (q or "").split():
        jobs = jobs.filter(library_text__icontains=word)  # the name, adaptor and expression
    if (adaptor or "").strip():
        jobs = jobs.filter(adaptor=adaptor_name(adaptor))
    if (operation or "").strip():
        # From the (name, job) index to the jobs, rather than a lookup per published job.
        jobs = jobs.filter(pk__in=JobOperation.objects.filter(name=operation.strip()).values("job_id"))
    return jobs.order_by("-updated_at", "-id")


def page_of(jobs, offset: int, limit: int) -> list[Job]:
    """One page of a search, in its order. The ids are sorted first and the rows read after: sorting
    whole rows would carry every matching job's expression through the sort (SQLite reads each one's
    overflow pages), which made a page of 50 among 10,000 jobs several times slower."""
    return rows_of(jobs.values_list("pk", flat=True)[offset : offset + limit])


def rows_of(ids) -> list[Job]:
    ids = list(ids)
    rows = published_jobs().in_bulk(ids)
    return [rows[pk] for pk in ids if pk in rows]


def published_job(job_id) -> Job:
    """One published job, or Job.DoesNotExist (a private job is as missing as one that never was)."""
    return published_jobs().get(pk=job_id)


def studio_initial(job_id) -> dict | None:
    """Job Studio's form for a new job made from a library job (`?library=<id>`): its name, adaptor and
    expression; None if it is not (or no longer) in the library."""
    try:
        job = published_job(int(job_id))
    except (Job.DoesNotExist, ValueError, TypeError):
        return None
    return {
        "name": job.name,
        "adaptor": job.adaptor,
        "adaptor_version": job.adaptor_version,
        "expression": job.expression,
    }


def operations_of(job: Job) -> list[str]:
    return list(JobOperation.objects.filter(job=job).order_by("id").values_list("name", flat=True))


def adaptors_in_use() -> list[str]:
    return list(published_jobs().order_by("adaptor").values_list("adaptor", flat=True).distinct())


def set_contribution(project: Project, by, on: bool) -> Project:
    """Join or leave the library (administrators): the project's non-private jobs are published or
    withdrawn from the next search on."""
    require(by, "edit_settings", project)
    with transaction.atomic():
        changed = (
            Project.objects.filter(pk=project.pk)
            .exclude(contributes_to_library=on)
            .update(contributes_to_library=on)
        )
        project.contributes_to_library = on
        if changed:
            record(project, by, "library.joined" if on else "library.left")
    return project
