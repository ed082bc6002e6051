"""Linking a project to a repository (Project > Version Control and PUT /projects/{slug}/version-control)."""

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from kindling.audit.log import record
from kindling.vcs import remotes
from kindling.vcs.models import GitHubConnection, Repository, new_webhook_secret

VcsError = remotes.RemoteError


def repository_of(project) -> Repository | None:
    return Repository.objects.filter(project=project).first()


MASK = "******"


def link_repository(
    project, by, repository: str, branch: str = "main", autodeploy: bool = False, access_token=None
) -> Repository:
    """Link (or re-link) the project; its webhook address and secret stay the same across changes.
    `access_token`: for a git server other than GitHub; None or the mask keeps the one set, "" removes it."""
    url = remotes.clean_repository(repository)
    branch = remotes.clean_branch(branch)
    if not isinstance(autodeploy, bool):
        raise VcsError("autodeploy is true or false.", "autodeploy")
    if access_token is not None:
        access_token = str(access_token).strip()
        if any(ord(c) < 33 or c == "\x7f" for c in access_token):
            raise VcsError(
                "The access token has spaces or control characters: paste it again.", "access_token"
            )
    with transaction.atomic():
        repo = Repository.objects.select_for_update().filter(project=project).first()
        if repo is None:
            repo = Repository(project=project)
            repo.webhook_secret = new_webhook_secret()
        changed = repo.pk is None or (repo.url, repo.branch, repo.autodeploy) != (url, branch, autodeploy)
        repo.url, repo.branch, repo.autodeploy = url, branch, autodeploy
        if access_token is not None and access_token != MASK:
            changed = changed or access_token != repo.access_token
            repo.access_token = access_token
        repo.linked_by = by if by is not None else repo.linked_by
        repo.save()
        if changed:
            record(project, by, "vcs.linked", remotes.display(url), branch=branch, autodeploy=autodeploy)
    return repo


def unlink_repository(project, by) -> bool:
    with transaction.atomic():
        deleted, _ = Repository.objects.filter(project=project).delete()
        if deleted:
            record(project, by, "vcs.unlinked", project.name)
    return bool(deleted)


def new_secret(repo: Repository, by) -> Repository:
    repo.webhook_secret = new_webhook_secret()
    repo.save(update_fields=["secret_encrypted", "updated_at"])
    record(repo.project, by, "vcs.webhook_secret_changed", remotes.display(repo.url))
    return repo


def webhook_url(repo: Repository) -> str:
    return settings.BASE_URL + reverse("vcs-webhook", args=[repo.hook_token])


def push_token(repo: Repository, user=None) -> str | None:
    """The token that pushes: to a GitHub repository, the editor's own GitHub connection if they have
    one, else that of the administrator who linked the repository; to another server (or with no
    connection), the repository's own access token, if one was given."""
    if not remotes.is_github(repo.url):
        return repo.access_token or None
    for person in (user, repo.linked_by):
        if person is None:
            continue
        connection = GitHubConnection.objects.filter(user=person).first()
        if connection is not None:
            return connection.token
    return repo.access_token or None


def repository_out(repo: Repository | None) -> dict:
    if repo is None:
        return {
            "repository": None,
            "branch": None,
            "autodeploy": False,
            "access_token": None,
            "webhook_url": None,
        }
    return {
        "repository": repo.url,
        "repository_url": remotes.display(repo.url),
        "branch": repo.branch,
        "autodeploy": repo.autodeploy,
        "access_token": MASK if repo.access_token_encrypted else None,
        "webhook_url": webhook_url(repo),
        "webhook_secret": repo.webhook_secret,
        "updated_at": repo.updated_at,
    }
