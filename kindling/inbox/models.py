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
