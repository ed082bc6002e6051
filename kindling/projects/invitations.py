"""Invitations: a user added by an email address without an account gets a link to set a password and
join. The link is signed, lasts INVITATION_DAYS, and stops working once the password is set (it signs
the account's unusable-password marker, which setting a password replaces)."""

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.urls import reverse

from kindling.accounts.models import User

INVITATION_DAYS = 7
SALT = "kindling.projects.invitation"


def make_token(user: User) -> str:
    return signing.dumps({"u": user.pk, "p": user.password[-16:]}, salt=SALT, compress=True)


def user_for_token(token: str) -> User | None:
    """The invited user this token is for, while it is valid and unused; otherwise None."""
    try:
        data = signing.loads(token or "", salt=SALT, max_age=INVITATION_DAYS * 24 * 3600)
    except signing.BadSignature:
        return None
    user = User.objects.filter(pk=data.get("u"), is_active=True).first()
    if user is None or user.has_usable_password() or user.password[-16:] != data.get("p"):
        return None
    return user


def send_invitation(project, user: User, by) -> None:
    link = f"{settings.BASE_URL}{reverse('join')}?token={make_token(user)}"
    inviter = f"{by.name or by.email}" if by is not None else "An administrator"
    send_mail(
        f"You are invited to the Kindling project {project.name}",
        f"{inviter} added you to the project {project.name} on Kindling.\n\n"
        f"Set a password and join:\n\n    {link}\n\n"
        f"The link works once, for {INVITATION_DAYS} days. Your login is this email address.\n",
        settings.DEFAULT_FROM_EMAIL,
        [user.email],
    )
