"""Changing a user's email: a link sent to the new address confirms it; until then nothing changes.

The link is a signed token of (user, old email, new email): it works for 3 days and only while the
account still has the old email, so it cannot be replayed after a later change.
"""

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse

from kindling.accounts.models import User

SALT = "kindling.accounts.email-change"
MAX_AGE = 3 * 24 * 60 * 60


class EmailChangeError(ValueError):
    pass


def check_new_email(user: User, new_email: str) -> str:
    new_email = User.objects.normalize_email(new_email).strip().lower()
    if new_email == user.email:
        raise EmailChangeError("That is already your email.")
    if User.objects.filter(email__iexact=new_email).exists():
        raise EmailChangeError("Another account uses that email.")
    return new_email


def request_change(user: User, new_email: str) -> str:
    """Send the confirmation link to the new address; the account keeps its email until it is opened."""
    new_email = check_new_email(user, new_email)
    token = signing.dumps({"user": user.pk, "from": user.email, "to": new_email}, salt=SALT)
    link = f"{settings.BASE_URL}{reverse('account-email-confirm')}?token={token}"
    send_mail(
        "Confirm your new Kindling email",
        f"Someone (we hope you) asked to change the email of the Kindling account {user.email} to this "
        f"address. Open this link, logged in to that account, to confirm it (it works for 3 days):\n\n"
        f"{link}\n\nIf it was not you, ignore this email: nothing changes.\n",
        None,
        [new_email],
    )
    return new_email


def confirm(user: User, token: str) -> str:
    """Apply the change a token asks for; the new email, or EmailChangeError saying why not."""
    try:
        data = signing.loads(token, salt=SALT, max_age=MAX_AGE)
    except signing.SignatureExpired:
        raise EmailChangeError(
            "This link is over 3 days old: ask for a new one on Account Settings."
        ) from None
    except signing.BadSignature:
        raise EmailChangeError("This link is not valid: copy it from the email whole.") from None
    if data.get("user") != user.pk:
        raise EmailChangeError("This link is for another account: log in as that account to open it.")
    if data.get("from") != user.email:
        raise EmailChangeError("Your email changed since this link was sent: it no longer works.")
    try:
        with transaction.atomic():
            User.objects.filter(pk=user.pk).update(email=data["to"])
    except IntegrityError:
        raise EmailChangeError("Another account uses that email now.") from None
    user.email = data["to"]
    return user.email
