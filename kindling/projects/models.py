import uuid
import zoneinfo
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone as dj_timezone
from django.utils.text import slugify


def validate_timezone(value: str):
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (for example UTC or Africa/Nairobi)")


class Project(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    description = models.TextField(blank=True)
    # The inbox address never changes, whatever happens to the name.
    inbox_uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    concurrency = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    # v1: collaborators are told when this share (percent) of the cycle's runs has been used.
    notification_threshold = models.PositiveSmallIntegerField(
        default=85, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    # Granted by an administrator on the Access & Security page: instance staff marked as support may
    # then open the project as an administrator would (every request they make is audited).
    support_access = models.BooleanField(default=False)
    # Failure alerts (runs/alerts.py): every this many minutes at most, per job, collaborators who opted
    # in get an email about the runs that failed; 0 = off.
    failure_alert_minutes = models.PositiveIntegerField(default=0)
    # v1's "contribute to the job library": the project's jobs not marked private are published
    # instance-wide (expression, adaptor, dates; never messages, runs, states or credentials).
    contributes_to_library = models.BooleanField(default=False, db_index=True)
    created_at = models.DateTimeField(default=dj_timezone.now)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="projects")

    def __str__(self):
        return self.name

    @property
    def inbox_url(self) -> str:
        return f"{settings.BASE_URL}/inbox/{self.inbox_uuid}"

    @classmethod
    def create(cls, name: str, owner, description: str = "") -> "Project":
        project = cls.objects.create(name=name, slug=cls.free_slug(name), description=description)
        Membership.objects.create(project=project, user=owner, role=Membership.Role.OWNER)
        return project

    @classmethod
    def free_slug(cls, name: str, keep: "Project | None" = None) -> str:
        """A slug for `name` that no project uses, nor another project's old slug that still redirects.
        `keep`: the project being renamed, which may take back one of its own old slugs."""
        base = slugify(name)[:200] or "project"
        slug, n = base, 1
        while cls.slug_taken(slug, keep):
            n += 1
            slug = f"{base}-{n}"
        return slug

    @classmethod
    def slug_taken(cls, slug: str, keep: "Project | None" = None) -> bool:
        others = cls.objects.exclude(pk=keep.pk) if keep else cls.objects.all()
        if others.filter(slug=slug).exists():
            return True
        redirects = SlugRedirect.live().filter(old_slug=slug)
        if keep:
            redirects = redirects.exclude(project=keep)
        return redirects.exists()


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner"
        ADMIN = "admin"
        COLLABORATOR = "collaborator"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.COLLABORATOR)
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="one_membership_per_user")]

    @property
    def is_admin(self) -> bool:
        return self.role in (self.Role.OWNER, self.Role.ADMIN)

    @property
    def role_label(self) -> str:
        """The role as the portal and the API name it: owners are administrators who created the project."""
        return "collaborator" if self.role == self.Role.COLLABORATOR else "administrator"


class SlugRedirect(models.Model):
    """An old slug of a renamed project: its portal URLs answer 301 to the new slug for 60 days (v1's
    deprecation period), then 404."""

    LIFETIME = timedelta(days=60)

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="slug_redirects")
    old_slug = models.SlugField(max_length=220, db_index=True)
    created_at = models.DateTimeField(default=dj_timezone.now)

    @classmethod
    def live(cls):
        return cls.objects.filter(created_at__gt=dj_timezone.now() - cls.LIFETIME)
