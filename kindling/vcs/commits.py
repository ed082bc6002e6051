"""Outbound: a saved change of a linked job's expression or file path becomes one commit on the
project's branch, authored by the person who saved it.

The change is kept as an OutboundCommit in the job's own transaction, then pushed at once; a push that
fails (rejected by the server, network down, token refused) leaves the job saved and the commit
pending with git's reason, which the job's page shows; the scheduler tries again (`retry_pending`).
Each attempt fetches the branch and builds the pending commits on its newest head, so a push refused
because someone pushed meanwhile goes through on the next try.
"""

import logging
import re
from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from kindling.vcs import git, remotes
from kindling.vcs.link import push_token, repository_of
from kindling.vcs.models import OutboundCommit, Repository

log = logging.getLogger(__name__)
RETRY_AFTER = timedelta(seconds=60)
IDENT_CRUD = re.compile(r"[<>\x00-\x1f]+")


def author_of(user) -> tuple[str, str]:
    if user is None:
        return "Kindling", "kindling@localhost"
    # git refuses an identity with angle brackets or line breaks in it.
    email = IDENT_CRUD.sub("", user.email)
    name = " ".join(IDENT_CRUD.sub(" ", getattr(user, "name", "") or "").split())
    return name or email, email


def queue_commit(job, by, message: str) -> OutboundCommit | None:
    """One commit writing the job's expression to its file, to push; None when the project has no
    repository or the job no file."""
    if not job.git_path or repository_of(job.project) is None:
        return None
    name, email = author_of(by)
    return OutboundCommit.objects.create(
        project=job.project,
        job=job,
        path=job.git_path,
        content=job.expression,
        message=message,
        author_name=name,
        author_email=email,
        author=by,
    )


def record_edit(job, by, before: tuple[str, str]) -> OutboundCommit | None:
    """After a save: a commit when the expression or the file path changed (v1: editing anything else
    makes no commit). `before`: (file path, expression) as they were."""
    if (job.git_path, job.expression) == before:
        return None
    return queue_commit(job, by, f"Update job {job.name} ({job.git_path}) from Kindling")


def push_pending(project) -> list[OutboundCommit]:
    """Push every pending commit of the project, one commit each, in the order they were saved.
    Returns the commits pushed; on failure they stay pending with the reason."""
    with git.locked(project.pk):
        repo = Repository.objects.filter(project=project).select_related("linked_by").first()
        pending = list(
            OutboundCommit.objects.filter(project=project, status=OutboundCommit.Status.PENDING)
            .select_related("author")
            .order_by("id")
        )
        if repo is None or not pending:
            return []
        token = push_token(repo, pending[0].author)
        now = timezone.now()
        try:
            url = remotes.fetch_url(repo.url)
            mirror = git.ensure_mirror(project.pk)
            head = git.fetch(mirror, url, repo.branch, token)
            built = []
            for outbound in pending:
                if head and git.file_at(mirror, head, outbound.path) == outbound.content:
                    built.append((outbound, ""))  # the branch has it already: no empty commit
                    continue
                head = git.commit_file(
                    mirror,
                    head,
                    outbound.path,
                    outbound.content,
                    outbound.message,
                    (outbound.author_name, outbound.author_email),
                )
                built.append((outbound, head))
            if any(sha for _o, sha in built):
                git.push(mirror, url, head, repo.branch, token)
        except git.GitError as exc:
            reason = str(exc)
            if remotes.is_github(repo.url) and token is None:
                reason += " (no one connected to GitHub: connect your account in Account Settings)"
            OutboundCommit.objects.filter(pk__in=[o.pk for o in pending]).update(
                error=reason, attempts=F("attempts") + 1, tried_at=now
            )
            log.warning("push to %s failed for project %s: %s", remotes.display(repo.url), project.pk, reason)
            return []
        for outbound, sha in built:
            outbound.status = OutboundCommit.Status.PUSHED
            outbound.sha, outbound.error, outbound.tried_at, outbound.pushed_at = sha, "", now, now
            outbound.attempts += 1
            outbound.save(update_fields=["status", "sha", "error", "tried_at", "pushed_at", "attempts"])
        return [outbound for outbound, _sha in built]


def retry_pending(now=None) -> list[OutboundCommit]:
    """The scheduler's pass: push again for every project whose commits wait since a failed attempt."""
    now = now or timezone.now()
    waiting = OutboundCommit.objects.filter(status=OutboundCommit.Status.PENDING).filter(
        tried_at__lt=now - RETRY_AFTER
    ) | OutboundCommit.objects.filter(status=OutboundCommit.Status.PENDING, tried_at__isnull=True)
    pushed = []
    for project_id in sorted(set(waiting.values_list("project_id", flat=True))):
        repo = Repository.objects.filter(project_id=project_id).select_related("project").first()
        if repo is not None:
            pushed += push_pending(repo.project)
    return pushed


def push_problem(job) -> OutboundCommit | None:
    """The job's oldest commit still waiting after a failed push, for its page."""
    return (
        OutboundCommit.objects.filter(job=job, status=OutboundCommit.Status.PENDING)
        .exclude(error="")
        .order_by("id")
        .first()
    )
