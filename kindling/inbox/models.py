from django.conf import settings
from django.db import models
from django.utils import timezone


class Message(models.Model):
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="messages")
    body = models.JSONField()
    headers = models.JSONField(default=dict)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["project", "-received_at", "-id"], name="message_project_recent")]

    def __str__(self):
        return f"message {self.pk}"


class InboxAuthMethod(models.Model):
    """One way a sender may authenticate to the project's inbox; with none, the inbox is open (v1).

    Only what verifies is stored: the SHA-256 of an API key (a 256-bit random key needs no slow hash),
    a password hash for Basic, and for HMAC the shared secret encrypted like a credential body (the
    signature cannot be checked without it)."""

    class Kind(models.TextChoices):
        API_KEY = "api_key", "API key"
        BASIC = "basic", "Basic auth"
        HMAC = "hmac", "HMAC signature"

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="inbox_auth_methods"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=100)
    username = models.CharField(max_length=150, blank=True)
    secret_hash = models.CharField(max_length=256, blank=True)
    secret_encrypted = models.TextField(blank=True)
    # The first characters of a generated key or secret, so that administrators can tell them apart.
    hint = models.CharField(max_length=16, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["project"], name="inbox_auth_project")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.name}"
