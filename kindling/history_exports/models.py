from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

# v1: the emailed link works for 7 days; the file is deleted then.
LINK_LIFETIME = timedelta(days=7)


class Export(models.Model):
    """One requested download of a project's history: built in the background, emailed, expiring."""

    class Kind(models.TextChoices):
        RUNS = "runs"
        MESSAGES = "messages"

    class Status(models.TextChoices):
        PENDING = "pending"
        BUILDING = "building"
        READY = "ready"
        FAILED = "failed"
        EXPIRED = "expired"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="history_exports")
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="history_exports"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # The list's filters as its URL carries them (?q=&date=&job=...), read again when the file is built,
    # with relative periods counted back from created_at.
    filters = models.JSONField(default=dict)
    description = models.CharField(max_length=500, blank=True)
    file_path = models.CharField(max_length=500, blank=True)
    row_count = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "id"], name="history_export_queue"),
            models.Index(fields=["status", "expires_at"], name="history_export_expiry"),
        ]

    def __str__(self):
        return f"export {self.pk} of {self.kind}"

    @property
    def file_name(self) -> str:
        return f"{self.project.slug}-{self.kind}-{self.pk}.csv"

    def is_expired(self, now=None) -> bool:
        return self.status == self.Status.EXPIRED or (
            self.expires_at is not None and self.expires_at <= (now or timezone.now())
        )
