from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

# A project keeps its messages and runs at most this long when retention is set (10 years).
MAX_RETENTION_DAYS = 3650


class Heartbeat(models.Model):
    """The last time a worker or a scheduler process said it was alive (readiness reads these).

    One row per process, written every few seconds by the process itself: liveness that holds across
    machines, because every process writes to the one database."""

    class Role(models.TextChoices):
        WORKER = "worker"
        SCHEDULER = "scheduler"

    role = models.CharField(max_length=10, choices=Role.choices)
    name = models.CharField(max_length=150)  # host:pid
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["role", "name"], name="heartbeat_one_per_process")]

    def __str__(self):
        return f"{self.role} {self.name} seen {self.seen_at:%Y-%m-%d %H:%M:%S}"


class Retention(models.Model):
    """How long a project keeps its messages and runs. No row, or `days` empty: forever (as v1)."""

    project = models.OneToOneField("projects.Project", on_delete=models.CASCADE, related_name="retention")
    days = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(MAX_RETENTION_DAYS)]
    )
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.project_id}: {self.days or 'forever'}"
