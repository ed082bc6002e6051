from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from kindling.credentials.crypto import decrypt_json, encrypt_json
from kindling.projects.access import reachable_projects

RAW = "raw"


class CredentialQuerySet(models.QuerySet):
    def live(self):
        return self.filter(deleted_at__isnull=True)

    def visible_to(self, user):
        """Credentials the user owns, or that are shared with a project the user may open."""
        if not user or not user.is_authenticated:
            return self.none()
        shared = models.Exists(
            Credential.projects.through.objects.filter(
                credential=models.OuterRef("pk"), project__in=reachable_projects(user)
            )
        )
        return self.live().filter(models.Q(owner=user) | shared)

    def shared_with(self, project):
        return self.live().filter(projects=project)


class Credential(models.Model):
    name = models.CharField(max_length=200)
    # The credential's type: "raw" for Raw JSON, otherwise the adaptor whose configuration schema
    # describes the body ("@openfn/language-http").
    schema = models.CharField(max_length=200, default=RAW)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="credentials")
    # Never the body in clear: always the Fernet token of its JSON ("" once deleted).
    body_encrypted = models.TextField()
    projects = models.ManyToManyField("projects.Project", related_name="credentials", blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # A deleted credential keeps its row, without body or shares, only while jobs point at it: their
    # runs then fail with exit 3 naming it (v1: "until they get another credential") instead of
    # silently running with no configuration, which is what SET_NULL on the job would give.
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = CredentialQuerySet.as_manager()

    def __str__(self):
        return self.name

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def body(self) -> dict:
        return decrypt_json(self.body_encrypted)

    @body.setter
    def body(self, value: dict):
        self.body_encrypted = encrypt_json(value)

    def readable_body(self) -> dict | None:
        """The body, or None when no configured key decrypts it (a lost key): pages must still open."""
        try:
            return self.body
        except ValueError:
            return None

    def is_owned_by(self, user) -> bool:
        return user is not None and user.is_authenticated and self.owner_id == user.pk

    def is_shared_with(self, project) -> bool:
        return not self.is_deleted and self.projects.filter(pk=project.pk).exists()

    def delete_for_good(self) -> None:
        """Destroy the body and the shares now; the row itself goes too unless a job still names it."""
        with transaction.atomic():
            self.projects.clear()
            if not self.jobs.exists():
                self.delete()
                return
            self.deleted_at = timezone.now()
            self.body_encrypted = ""
            self.save(update_fields=["deleted_at", "body_encrypted", "updated_at"])
