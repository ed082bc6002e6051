"""Inbound: the repository's push webhook. A delivery is accepted only with a valid HMAC signature
(`X-Hub-Signature-256`, GitHub's scheme, also Gitea's); with automatic deploys on, a push to the
project's branch sets every linked job's expression to its file at the pushed commit.

Files linked to no job are ignored. An empty file is never applied: v1 erased the job when one was
committed by mistake; the delivery keeps the reason and the job's page shows it. Resending a delivery
(from the repository's webhook settings, or from the Version Control page) applies its commit to every
linked job again: v1's way to put all of a project's jobs back to one commit.
"""

import hashlib
import hmac
import json

from kindling.jobs.editing import EditError, update_job
from kindling.vcs import git, remotes
from kindling.vcs.link import push_token
from kindling.vcs.models import Delivery, OutboundCommit, Repository


class DeliveryRefused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    if not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.strip())


def receive_push(repo: Repository, body: bytes, signature: str | None, event: str | None = None) -> dict:
    """A webhook delivery: refused (DeliveryRefused) unless signed with the project's secret; then
    a summary of what it did. Nothing is applied before the signature is checked."""
    if not signature_ok(repo.webhook_secret, body, signature):
        raise DeliveryRefused(
            401,
            "The X-Hub-Signature-256 signature does not match this project's webhook secret: copy the "
            "secret from the Version Control page into the repository's webhook settings.",
        )
    if event == "ping":
        return {"ok": True, "note": "Webhook connected."}
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        raise DeliveryRefused(
            400, "The delivery is not JSON: choose the application/json content type."
        ) from None
    if not isinstance(payload, dict):
        raise DeliveryRefused(400, "The delivery must be a JSON object.")
    ref, sha = str(payload.get("ref") or ""), str(payload.get("after") or "").lower()
    if ref != f"refs/heads/{repo.branch}":
        return {"ok": True, "note": f"Ignored: a push to {ref or 'no ref'}, not to {repo.branch}."}
    if not git.SHA.match(sha) or set(sha) == {"0"}:
        return {"ok": True, "note": "Ignored: the push deleted the branch or names no commit."}
    if not repo.autodeploy:
        return {"ok": True, "note": "Ignored: automatic deploys are off for this project."}
    delivery = apply_commit(repo, sha, ref)
    return delivery_out(delivery)


def apply_commit(repo: Repository, sha: str, ref: str = "", resend: bool = False) -> Delivery:
    """Set each linked job's expression to its file at `sha`, fetching the commit first."""
    project = repo.project
    delivery = Delivery(project=project, sha=sha, ref=ref or f"refs/heads/{repo.branch}", resend=resend)
    contents = {}
    jobs = list(project.jobs.exclude(git_path="").order_by("name"))
    with git.locked(project.pk):
        try:
            mirror = git.ensure_mirror(project.pk)
            url = remotes.fetch_url(repo.url)
            token = push_token(repo)
            git.fetch(mirror, url, repo.branch, token)
            if not git.has_commit(mirror, sha):
                # A commit no longer at the branch's head (a resend of an old delivery): ask for it.
                git.run(mirror, "fetch", "--quiet", "--no-tags", "--", url, sha, token=token)
            for job in jobs:
                contents[job.pk] = git.file_at(mirror, sha, job.git_path)
        except git.GitError as exc:
            delivery.error = f"Could not fetch commit {sha[:12]}: {exc}"
            delivery.save()
            return delivery
    waiting = set(
        OutboundCommit.objects.filter(project=project, status=OutboundCommit.Status.PENDING).values_list(
            "job_id", flat=True
        )
    )
    for job in jobs:
        content = contents[job.pk]
        if job.pk in waiting and content is not None and content != job.expression:
            # Applying it would lose the change saved here, and the retried push would then undo this
            # commit: neither side wins silently.
            delivery.skipped.append(
                skip(
                    job,
                    "refused",
                    f"{job.name} has changes saved in Kindling that are not pushed yet: not applied, so "
                    "neither is lost. Once the push went through, resend this commit to apply it.",
                )
            )
        elif content is None:
            delivery.skipped.append(skip(job, "missing", f"{job.git_path} is not in commit {sha[:7]}."))
        elif not content.strip():
            delivery.skipped.append(
                skip(
                    job,
                    "empty",
                    f"{job.git_path} is empty at commit {sha[:7]}: not applied, so the job keeps its "
                    "expression (an empty file would erase it).",
                )
            )
        elif content != job.expression:
            try:
                update_job(job, None, from_git=True, expression=content)
            except EditError as exc:
                delivery.skipped.append(skip(job, "refused", str(exc)))
            else:
                delivery.applied.append(job.name)
    delivery.save()
    return delivery


def skip(job, kind: str, reason: str) -> dict:
    return {"job": job.pk, "name": job.name, "kind": kind, "reason": reason}


def delivery_out(delivery: Delivery) -> dict:
    return {
        "ok": not delivery.error,
        "commit": delivery.sha,
        "applied": delivery.applied,
        "skipped": delivery.skipped,
        "error": delivery.error or None,
    }


def resend(repo: Repository, delivery_id: int | None = None, sha: str | None = None) -> Delivery:
    """Apply a commit (a past delivery's, or one given by SHA) to every linked job of the project, even
    with automatic deploys off: an administrator asked for it."""
    if delivery_id is not None:
        past = Delivery.objects.filter(project=repo.project, pk=delivery_id).first()
        if past is None:
            raise DeliveryRefused(404, f"There is no delivery {delivery_id} for this project.")
        sha = past.sha
    sha = str(sha or "").strip().lower()
    if not git.SHA.match(sha):
        raise DeliveryRefused(400, "Give the commit's SHA (7 to 64 hexadecimal characters).")
    return apply_commit(repo, sha, resend=True)


def last_note(job) -> dict | None:
    """What the newest delivery naming this job said about it (not applied, and why)."""
    for delivery in Delivery.objects.filter(project_id=job.project_id).order_by("-received_at", "-id")[:20]:
        for entry in delivery.skipped:
            if entry.get("job") == job.pk and entry.get("kind") in ("empty", "refused"):
                return {"sha": delivery.sha, "at": delivery.received_at, "reason": entry["reason"]}
        if job.name in delivery.applied:
            return None
    return None
