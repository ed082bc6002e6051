from django.conf import settings
from django.db import models
from django.utils import timezone


class AppendOnly(Exception):
    pass


class AuditQuerySet(models.QuerySet):
    # The log is append-only: nothing in Kindling changes or deletes an event. (Deleting a project or a
    # user still removes or detaches its events: Django's collector does not go through these methods.)
    def update(self, **kwargs):
        raise AppendOnly("audit events cannot be changed")

    def delete(self):
        raise AppendOnly("audit events cannot be deleted")


class AuditEvent(models.Model):
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="audit_events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept as text too: the log must still say who it was once the account is gone. Empty: the CLI.
    actor_email = models.CharField(max_length=254, blank=True)
    # Done by instance staff through the support access the project's administrators granted.
    via_support = models.BooleanField(default=False)
    action = models.CharField(max_length=64)
    target = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = AuditQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["project", "-created_at", "-id"], name="audit_project_recent"),
            models.Index(fields=["project", "action", "-created_at"], name="audit_project_action"),
        ]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnly("audit events cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly("audit events cannot be deleted")

    @property
    def actor_label(self) -> str:
        return self.actor_email or "command line"
