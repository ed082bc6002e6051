"""Version control: a user's GitHub connection, a project's repository, the commits waiting to be pushed
and the pushes received from the repository."""

import secrets
import uuid

from django.db import models
from django.utils import timezone

from kindling.credentials.crypto import decrypt_json, encrypt_json


class GitHubConnection(models.Model):
    """A user's GitHub OAuth token (Account Settings > Connect to GitHub), encrypted at rest like
    credential bodies and never shown back."""

    user = models.OneToOneField("accounts.User", on_delete=models.CASCADE, related_name="github")
    login = models.CharField(max_length=200)
    token_encrypted = models.TextField()
    scopes = models.CharField(max_length=500, blank=True)
    connected_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return self.login

    @property
    def token(self) -> str:
        return decrypt_json(self.token_encrypted)

    @token.setter
    def token(self, value: str) -> None:
        self.token_encrypted = encrypt_json(value)


def new_webhook_secret() -> str:
    return secrets.token_hex(20)


class Repository(models.Model):
    """The git repository and branch a project's jobs are linked to (Project > Version Control)."""

    project = models.OneToOneField("projects.Project", on_delete=models.CASCADE, related_name="repository")
    # As the administrator typed it: owner/name (on GitHub), an http(s) URL, a local path or file:// URL.
    url = models.CharField(max_length=1000)
    branch = models.CharField(max_length=250, default="main")
    autodeploy = models.BooleanField(default=False)
    # The push webhook: its address names this token; its deliveries are signed with the secret.
    hook_token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    secret_encrypted = models.TextField()
    # For a git server other than GitHub (Gitea, GitLab...): an access token that may push, encrypted.
    access_token_encrypted = models.TextField(blank=True)
    # Whose GitHub connection pushes when the editor has none (the administrator who linked it).
    linked_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "repositories"

    def __str__(self):
        return f"{self.url}@{self.branch}"

    @property
    def webhook_secret(self) -> str:
        return decrypt_json(self.secret_encrypted)

    @webhook_secret.setter
    def webhook_secret(self, value: str) -> None:
        self.secret_encrypted = encrypt_json(value)

    @property
    def access_token(self) -> str:
        return decrypt_json(self.access_token_encrypted) if self.access_token_encrypted else ""

    @access_token.setter
    def access_token(self, value: str) -> None:
        self.access_token_encrypted = encrypt_json(value) if value else ""


class OutboundCommit(models.Model):
    """One saved change of a linked job, to become one commit on the branch. It is kept until the push
    succeeds: a rejected push or a network failure leaves it pending with the reason, and the scheduler
    tries again (the commit is rebuilt on the branch's newest head each time)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        PUSHED = "pushed"

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    job = models.ForeignKey("jobs.Job", on_delete=models.CASCADE, related_name="outbound_commits")
    path = models.CharField(max_length=500)
    content = models.TextField(blank=True)
    message = models.CharField(max_length=500)
    author_name = models.CharField(max_length=200)
    author_email = models.CharField(max_length=254)
    author = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    sha = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    tried_at = models.DateTimeField(null=True, blank=True)
    pushed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "project"], name="vcs_outbound_pending")]

    def __str__(self):
        return f"{self.path}: {self.message}"


class Delivery(models.Model):
    """A push the repository reported through the webhook (or an administrator's resend of one), and
    what it did to each linked job: applied, or why not."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    sha = models.CharField(max_length=64)
    ref = models.CharField(max_length=300, blank=True)
    resend = models.BooleanField(default=False)
    applied = models.JSONField(default=list)  # [job name, ...]
    skipped = models.JSONField(default=list)  # [{"job": id, "name": ..., "reason": ...}]
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["project", "-received_at"], name="vcs_delivery_recent")]

    def __str__(self):
        return f"{self.sha[:7]} ({self.ref})"
