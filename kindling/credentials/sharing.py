"""Which projects a credential is shared with, and what that allows: selecting it for a job, and the
job's runs receiving it as `configuration`.
"""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q

from kindling.audit.log import record
from kindling.credentials.access import require_owner
from kindling.credentials.models import Credential
from kindling.jobs.editing import update_job
from kindling.projects.access import can, projects_of
from kindling.projects.models import Project


class CredentialError(ValueError):
    """A refused credential action; the message says what to do instead."""


class CredentialUnavailable(Exception):
    """A job's credential cannot be given to its run (deleted, no longer shared, undecryptable)."""


def shareable_projects(credential: Credential):
    """The Manage Access list: the owner's projects, plus those it is still shared with (which a new
    owner may not be a member of, and must still be able to revoke)."""
    return (
        Project.objects.filter(Q(memberships__user_id=credential.owner_id) | Q(credentials=credential))
        .distinct()
        .annotate(jobs_using=Count("jobs", filter=Q(jobs__credential=credential), distinct=True))
        .order_by("name", "id")
    )


def check_grantable(owner, projects, already_shared: set[int]) -> None:
    own = set(projects_of(owner).values_list("pk", flat=True))
    refused = [p.name for p in projects if p.pk not in own and p.pk not in already_shared]
    if refused:
        raise CredentialError(
            f"You can share a credential only with projects you are a member of (not {', '.join(refused)})."
        )


def set_projects(credential: Credential, by, projects) -> None:
    """Share with exactly `projects`: grants (the owner's projects only) and revokes in one step."""
    require_owner(credential, by, "share")
    projects = list(projects)
    current = set(credential.projects.values_list("pk", flat=True))
    check_grantable(by, projects, already_shared=current)
    with transaction.atomic():
        credential.projects.set(projects)
        wanted = {p.pk for p in projects}
        for project in Project.objects.filter(pk__in=wanted ^ current):
            action = "credential.shared" if project.pk in wanted else "credential.unshared"
            record(project, by, action, credential.name, owner=credential.owner.email)


def projects_by_slug(credential: Credential, slugs) -> list[Project]:
    """Resolve slugs among the projects the credential can be shared with, naming any unknown one."""
    if not isinstance(slugs, list | tuple) or not all(isinstance(slug, str) for slug in slugs):
        raise CredentialError("projects must be a list of project slugs")
    found = {p.slug: p for p in shareable_projects(credential).filter(slug__in=slugs)}
    unknown = [slug for slug in slugs if slug not in found]
    if unknown:
        raise CredentialError(f"No project {unknown[0]!r} among your projects.")
    return [found[slug] for slug in dict.fromkeys(slugs)]


def usable_in(project: Project):
    """The credentials a job of `project` may use: those shared with it (for the job form's choices)."""
    return Credential.objects.shared_with(project).select_related("owner").order_by("name", "id")


def check_usable(credential: Credential, project: Project) -> None:
    """A job of `project` may be given `credential` only if it is shared with that project."""
    if not credential.is_shared_with(project):
        raise CredentialError(
            f"The credential {credential.name!r} is not shared with project {project.name!r}: its owner "
            "can share it under Manage Access on the credential's page."
        )


def attach(job, credential: Credential | None, by) -> None:
    """Give a job its credential (or none); a credential not shared with the job's project is refused."""
    if not can(by, "edit_job", job.project):
        raise PermissionDenied("Your role in this project does not allow: edit job")
    if credential is not None:
        check_usable(credential, job.project)
    # Through the one place jobs are saved, so the change is kept in the job's history.
    update_job(job, by, credential=credential)


def configuration_for(job) -> dict | None:
    """The body of the job's credential for one run, decrypted now; None when the job has none."""
    if job.credential_id is None:
        return None
    credential = Credential.objects.filter(pk=job.credential_id).first()
    if credential is None or credential.is_deleted:
        name = credential.name if credential else f"#{job.credential_id}"
        raise CredentialUnavailable(
            f"The credential {name!r} of job {job.name!r} was deleted. Choose another credential for this "
            "job; its runs cannot start until then."
        )
    if not credential.projects.filter(pk=job.project_id).exists():
        raise CredentialUnavailable(
            f"The credential {credential.name!r} of job {job.name!r} is no longer shared with this project "
            f"(its owner revoked the project's access). Ask {credential.owner.email} to share it again, or "
            "choose another credential for this job."
        )
    try:
        return credential.body
    except ValueError:
        raise CredentialUnavailable(
            f"The credential {credential.name!r} of job {job.name!r} cannot be decrypted with the configured "
            "encryption keys (KINDLING_ENCRYPTION_KEY or the key file in the data directory)."
        ) from None
