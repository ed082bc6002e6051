from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone


class Export(models.Model):
    """One emailed download: asked for by a user, built in the background by the scheduler process
    (kindling/exports/build.py), downloadable by that user only, deleted after 7 days."""

    LIFETIME = timedelta(days=7)

    class Status(models.TextChoices):
        PENDING = "pending"
        BUILDING = "building"
        READY = "ready"
        FAILED = "failed"
        EXPIRED = "expired"

    kind = models.CharField(max_length=50)  # a key of kindling.exports.registry.BUILDERS
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="exports")
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="exports")
    # What the builder needs beyond the project (a CSV export's filters, for example).
    params = models.JSONField(default=dict, blank=True)
    # What was asked for, in words ("failed runs of send-to-dhis2 in the last 30 days"), when a kind says.
    description = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    file_path = models.CharField(max_length=500, blank=True)
    filename = models.CharField(max_length=200, blank=True)
    row_count = models.PositiveIntegerField(null=True, blank=True)  # the rows of a CSV, once built
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The builder takes the oldest pending export; the clean-up finds the ready ones past expiry.
            models.Index(fields=["status", "id"], name="export_queue"),
            models.Index(fields=["status", "expires_at"], name="export_expiry"),
        ]

    def __str__(self):
        return f"{self.kind} of {self.project_id} ({self.status})"

    @property
    def download_path(self) -> str:
        return f"/exports/{self.pk}/download"

    def is_expired(self, now=None) -> bool:
        return self.status == self.Status.EXPIRED or (
            self.expires_at is not None and self.expires_at <= (now or timezone.now())
        )
