"""Personal API tokens: what Account Settings and `kindling token` do with them. A token's secret is
shown once, when it is created; the database keeps its SHA-256 and its first characters (the prefix
that lists show so that a person can tell tokens apart)."""

from datetime import timedelta

from django.utils import timezone

from kindling.accounts.models import ApiToken

# The lifetimes Account Settings offers; the CLI takes any number of days.
LIFETIMES = {"": "Never expires", "7": "7 days", "30": "30 days", "90": "90 days", "365": "1 year"}
MAX_NAME = ApiToken._meta.get_field("name").max_length


class TokenError(ValueError):
    pass


def create_token(user, name: str, days: int | None = None) -> tuple[ApiToken, str]:
    """A new token for this user: its row and its secret (to show once, never stored)."""
    name = (name or "").strip()
    if not name:
        raise TokenError("Give the token a name, such as the script or machine that will use it.")
    if len(name) > MAX_NAME:
        raise TokenError(f"A token's name has at most {MAX_NAME} characters.")
    if days is not None and not 1 <= days <= 3650:
        raise TokenError("A token expires after 1 to 3650 days, or never.")
    expires_at = timezone.now() + timedelta(days=days) if days else None
    return ApiToken.create(user, name, expires_at)


def list_tokens(user):
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-pk")


def revoke_token(user, token_id: int) -> ApiToken:
    """Delete one of this user's tokens; it stops working at once."""
    token = ApiToken.objects.filter(user=user, pk=token_id).first()
    if token is None:
        raise TokenError(f"You have no API token with id {token_id}.")
    token.delete()
    return token
