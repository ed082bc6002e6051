import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractUser
from django.db import IntegrityError, models, transaction
from django.utils import timezone

TOKEN_PREFIX = "kdl_"


def new_user_number() -> int:
    return secrets.randbelow(900_000) + 100_000


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **extra):
        if not email:
            raise ValueError("An email address is required")
        email = self.normalize_email(email).lower()
        # The user number is public and random; retry on the rare collision.
        for _ in range(20):
            user = self.model(email=email, user_number=new_user_number(), **extra)
            user.set_password(password)
            try:
                with transaction.atomic():
                    user.save(using=self._db)
                return user
            except IntegrityError:
                if self.filter(email=email).exists():
                    raise ValueError(f"A user with email {email} already exists") from None
        raise RuntimeError("could not allocate a user number")

    def get_by_natural_key(self, email):
        # Emails are stored lower-cased; logging in must not depend on how the user types theirs.
        return self.get(email__iexact=email)

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractUser):
    username = None
    first_name = None
    last_name = None
    name = models.CharField(max_length=150, blank=True)
    email = models.EmailField(unique=True)
    # Public number that, with the email, identifies the recipient of a credential transfer.
    user_number = models.PositiveIntegerField(unique=True)
    preferences = models.JSONField(default=dict, blank=True)
    # Instance staff who may open the projects whose administrators granted support access.
    is_support = models.BooleanField(default=False)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []
    objects = UserManager()

    def __str__(self):
        return self.email


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenExpired(Exception):
    def __init__(self, token: "ApiToken"):
        super().__init__(
            f"This API token ({token.name or token.prefix}) expired on "
            f"{token.expires_at:%Y-%m-%d %H:%M} UTC: "
            "create a new one on Account Settings or with `kindling token create`."
        )


class ApiToken(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    # Only the SHA-256 of the token is kept: a leaked database does not leak usable tokens.
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    # A token in steady use costs a write once a minute at most, not one per API request.
    LAST_USED_EVERY = timedelta(minutes=1)

    @classmethod
    def issue(cls, user, name: str = "", expires_at=None) -> str:
        return cls.create(user, name, expires_at)[1]

    @classmethod
    def create(cls, user, name: str = "", expires_at=None) -> tuple["ApiToken", str]:
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = cls.objects.create(
            user=user, name=name, token_hash=hash_token(token), prefix=token[:12], expires_at=expires_at
        )
        return row, token

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @classmethod
    def user_for(cls, token: str):
        """The active user of this token, or None; raises TokenExpired for an expired one."""
        found = cls.objects.select_related("user").filter(token_hash=hash_token(token)).first()
        if found is None or not found.user.is_active:
            return None
        if found.expired:
            raise TokenExpired(found)
        now = timezone.now()
        if found.last_used_at is None or found.last_used_at <= now - cls.LAST_USED_EVERY:
            cls.objects.filter(pk=found.pk).update(last_used_at=now)
        return found.user


class Throttle(models.Model):
    """A counter of recent events (failed logins, recovery emails) for one key, such as the address or
    the account they came from. Kept in the database so that every web process shares it."""

    # Up to "login-known:" + a 320-character email + ":" + an IPv6 address.
    key = models.CharField(max_length=400, unique=True)
    count = models.PositiveIntegerField(default=0)
    last_at = models.DateTimeField()
    blocked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["last_at"], name="throttle_last_at")]
