"""REST API of version control: a project's repository (administrators) and resending a commit."""

from datetime import datetime

from ninja import Router, Schema, Status
from pydantic import Field

from kindling.openapi import BodyIn
from kindling.projects.access import project_for
from kindling.vcs import deploy
from kindling.vcs.link import (
    VcsError,
    link_repository,
    new_secret,
    repository_of,
    repository_out,
    unlink_repository,
)

router = Router(tags=["version control"])


class VcsErrorOut(Schema):
    error: str


ERRORS = {400: VcsErrorOut, 401: VcsErrorOut, 403: VcsErrorOut, 404: VcsErrorOut, 422: VcsErrorOut}


class RepositoryOut(Schema):
    repository: str | None = Field(description="null: the project is linked to no repository")
    repository_url: str | None = Field(None, description="The repository as people read it")
    branch: str | None
    autodeploy: bool
    access_token: str | None = Field(description="****** when one is set")
    webhook_url: str | None = Field(description="Where the git server sends its push events")
    webhook_secret: str | None = Field(None, description="The secret that signs them")
    updated_at: datetime | None = None


class UnlinkedOut(Schema):
    unlinked: bool


class SkippedOut(Schema):
    job: int
    name: str
    kind: str = Field(description="Why, in a word: missing, refused...")
    reason: str


class DeliveryOut(Schema):
    ok: bool
    commit: str
    applied: list[str] = Field(description="The jobs it changed")
    skipped: list[SkippedOut]
    error: str | None


class RepositoryIn(BodyIn):
    repository: str = Field(
        description="owner/name on GitHub, an http(s) git URL, a local path or file:// URL"
    )
    branch: str = "main"
    autodeploy: bool = False
    access_token: str | None = Field(
        None,
        description="for a git server other than GitHub: a token that may push; omitted or ****** keeps "
        'the one set, "" removes it',
    )


class ResendIn(BodyIn):
    commit: str = Field(description="the SHA of a commit of the project's branch")


@router.get(
    "/projects/{slug}/version-control",
    response={200: RepositoryOut, **ERRORS},
    exclude_unset=True,
    summary="The project's repository, branch, automatic deploys, webhook URL and secret",
)
def get_version_control(request, slug: str):
    project = project_for(request.user, slug, "manage_vcs")
    return repository_out(repository_of(project))


@router.put(
    "/projects/{slug}/version-control",
    response={200: RepositoryOut, **ERRORS},
    exclude_unset=True,
    summary="Link the project to a git repository and branch (automatic deploys on or off)",
)
def put_version_control(request, slug: str, payload: RepositoryIn):
    project = project_for(request.user, slug, "manage_vcs")
    try:
        repo = link_repository(project, request.user, **payload.model_dump())
    except VcsError as exc:
        return Status(400, {"error": str(exc)})
    return Status(200, repository_out(repo))


@router.delete(
    "/projects/{slug}/version-control",
    response={200: UnlinkedOut, **ERRORS},
    summary="Unlink the project from its repository (jobs keep their file paths)",
)
def delete_version_control(request, slug: str):
    project = project_for(request.user, slug, "manage_vcs")
    return Status(200, {"unlinked": unlink_repository(project, request.user)})


@router.post(
    "/projects/{slug}/version-control/resend",
    response={200: DeliveryOut, **ERRORS, 409: VcsErrorOut, 502: VcsErrorOut},
    summary="Apply a commit of the branch to every linked job of the project (v1's resend of the webhook)",
)
def resend_commit(request, slug: str, payload: ResendIn):
    project = project_for(request.user, slug, "manage_vcs")
    repo = repository_of(project)
    if repo is None:
        return Status(409, {"error": "This project is not linked to a repository."})
    try:
        delivery = deploy.resend(repo, sha=payload.commit)
    except deploy.DeliveryRefused as exc:
        return Status(exc.status, {"error": str(exc)})
    if delivery.error:
        return Status(502, {"error": delivery.error})
    return Status(200, deploy.delivery_out(delivery))


@router.post(
    "/projects/{slug}/version-control/secret",
    response={200: RepositoryOut, **ERRORS, 409: VcsErrorOut},
    exclude_unset=True,
    summary="A new webhook secret (the old one stops working): paste it into the repository's webhook",
)
def renew_secret(request, slug: str):
    project = project_for(request.user, slug, "manage_vcs")
    repo = repository_of(project)
    if repo is None:
        return Status(409, {"error": "This project is not linked to a repository."})
    return Status(200, repository_out(new_secret(repo, request.user)))
