"""Job versions: each save of a job's expression, adaptor, trigger or credential is kept, with who and
when, so a job is never lost to an overwrite. jobs/editing.py records them (every way of saving a job
goes through it); the job page lists them with a diff, and restoring one saves it again as a new
version.

`job_history(job)` builds the history answer of the API and the job page in one place, so that
another source (the commits of a linked git repository) joins it there.
"""

import difflib

from django.db.models import Max

from kindling.jobs.models import Job, JobOperation, JobVersion
from kindling.lib.operations import top_level_operations

# What a version keeps; a save changing none of these (a name, a switch, a flag) adds none.
KEPT = ("expression", "adaptor", "adaptor_version", "trigger", "credential")


class NoSuchVersion(LookupError):
    pass


class NothingToRestore(ValueError):
    pass


def record_version(job: Job, by=None, restored_from: int | None = None, at=None) -> JobVersion:
    """Keep the job as it is now as its next version. Called inside the saving transaction, which
    holds the project's row (jobs/editing.py's _lock_graph): numbers are handed out one at a time."""
    last = JobVersion.objects.filter(job=job).aggregate(top=Max("number"))["top"] or 0
    version = JobVersion(
        job=job,
        number=last + 1,
        expression=job.expression,
        adaptor=job.adaptor,
        adaptor_version=job.adaptor_version,
        trigger_id=job.trigger_id,
        credential_id=job.credential_id,
        trigger_name=job.trigger.name if job.trigger_id else "",
        credential_name=job.credential.name if job.credential_id else "",
        author=by if by is not None and getattr(by, "is_authenticated", False) else None,
        restored_from=restored_from,
    )
    if at is not None:
        version.created_at = at
    version.save()
    return version


def keep_baseline(job: Job) -> None:
    """A job saved before versions existed (or made without jobs/editing.py) gets its content as it
    was before the first change as version 1, so that change can be undone too."""
    if not JobVersion.objects.filter(job=job).exists():
        record_version(job, None, at=job.updated_at)


def index_operations(job: Job) -> None:
    """The operations the expression calls at its top level, for the Job Library's search."""
    names = top_level_operations(job.expression)
    JobOperation.objects.filter(job=job).exclude(name__in=names).delete()
    have = set(JobOperation.objects.filter(job=job).values_list("name", flat=True))
    JobOperation.objects.bulk_create(
        [JobOperation(job=job, name=name[:100]) for name in names if name not in have]
    )


def version_of(job: Job, number) -> JobVersion:
    try:
        number = int(number)
    except (TypeError, ValueError):
        raise NoSuchVersion(f"{number!r} is not a version number: send a whole number.") from None
    version = JobVersion.objects.filter(job=job, number=number).select_related("author").first()
    if version is None:
        raise NoSuchVersion(f"Job {job.name} has no version {number}: its history lists the versions it has.")
    return version


def restore_changes(job: Job, version: JobVersion) -> tuple[dict, list[str]]:
    """The changes that bring `job` back to `version`, and notes on what could not come back (a trigger
    deleted since, a credential deleted or no longer shared with the project)."""
    changes = {"expression": version.expression, "adaptor": version.adaptor}
    changes["adaptor_version"] = version.adaptor_version
    notes = []
    if version.trigger_id or not version.trigger_name:
        changes["trigger"] = version.trigger
    else:
        notes.append(
            f"Trigger {version.trigger_name} of version {version.number} was deleted: "
            "the job keeps its trigger."
        )
    credential = version.credential
    if version.credential_id == job.credential_id or (credential is None and not version.credential_name):
        changes["credential"] = credential
    elif credential is not None and credential.projects.filter(pk=job.project_id).exists():
        changes["credential"] = credential
    else:
        notes.append(
            f"Credential {version.credential_name} of version {version.number} is deleted or no longer "
            "shared with this project: the job keeps its credential."
        )
    return changes, notes


def changed_fields(version: JobVersion, before: JobVersion | None) -> list[str]:
    if before is None:
        return []
    fields = []
    if version.expression != before.expression:
        fields.append("expression")
    if (version.adaptor, version.adaptor_version) != (before.adaptor, before.adaptor_version):
        fields.append("adaptor")
    if (version.trigger_id, version.trigger_name) != (before.trigger_id, before.trigger_name):
        fields.append("trigger")
    if (version.credential_id, version.credential_name) != (before.credential_id, before.credential_name):
        fields.append("credential")
    return fields


def unified_diff(before: str, after: str, before_label: str, after_label: str) -> list[tuple[str, str]]:
    """The unified diff of two expressions as (kind, line) pairs, kind being one of "file", "hunk",
    "add", "remove" or "same", for the page to give each line its CSS class."""
    lines = difflib.unified_diff(
        (before or "").splitlines(), (after or "").splitlines(), before_label, after_label, lineterm=""
    )
    rows = []
    for line in lines:
        if line.startswith(("---", "+++")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "remove"
        else:
            kind = "same"
        rows.append((kind, line))
    return rows


def author_label(user) -> str | None:
    return None if user is None else (user.name or user.email)


def version_out(version: JobVersion, before: JobVersion | None) -> dict:
    return {
        "version": version.number,
        "created_at": version.created_at,
        "author": author_label(version.author),
        "author_email": version.author.email if version.author_id else None,
        "changed": changed_fields(version, before),
        "restored_from": version.restored_from,
        "expression": version.expression,
        "adaptor": version.adaptor,
        "adaptor_version": version.adaptor_version,
        "trigger": version.trigger_name or None,
        "credential": version.credential_name or None,
    }


def versions_with_previous(job: Job):
    """The job's versions, newest first, each with the one before it."""
    versions = list(JobVersion.objects.filter(job=job).select_related("author").order_by("-number"))
    return [(v, versions[i + 1] if i + 1 < len(versions) else None) for i, v in enumerate(versions)]


def job_history(job: Job) -> dict:
    """The job's history as the API answers it and the job page shows it."""
    return {"versions": [version_out(v, before) for v, before in versions_with_previous(job)]}
