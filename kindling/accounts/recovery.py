"""Lost password, as OpenFn v1 has it: *Recover Password* on the login page sends a recovery token to
the account's email address; the token and a new password on the *Reset Password* page set the new
password. The token is Django's password-reset token for that user (it stops working once the
password changes, and after PASSWORD_RESET_TIMEOUT) preceded by the user's id, so that one string
says it all. Whether an address has an account is never revealed."""

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.urls import reverse
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from kindling.accounts.models import User


def make_token(user: User) -> str:
    return f"{urlsafe_base64_encode(force_bytes(user.pk))}.{default_token_generator.make_token(user)}"


def user_for_token(token: str) -> User | None:
    """The active user whose valid recovery token this is, or None."""
    uid, _, secret = token.strip().partition(".")
    try:
        user = User.objects.get(pk=int(force_str(urlsafe_base64_decode(uid))), is_active=True)
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        return None
    return user if default_token_generator.check_token(user, secret) else None


def send_recovery(email: str) -> bool:
    """Email a recovery token to the active account with this address, if there is one."""
    user = User.objects.filter(email=email.strip().lower(), is_active=True).first()
    if user is None:
        return False
    token = make_token(user)
    minutes = settings.PASSWORD_RESET_TIMEOUT // 60
    link = f"{settings.BASE_URL}{reverse('password-reset')}?token={token}"
    send_mail(
        "Your Kindling recovery token",
        "Someone (we hope you) asked to reset the password of your Kindling account.\n\n"
        f"Your recovery token:\n\n    {token}\n\n"
        f"Enter it with a new password on the Reset Password page, or open {link}\n\n"
        f"The token works once, for {minutes} minutes. If you did not ask for it, ignore this email: "
        "your password stays as it is.\n",
        settings.DEFAULT_FROM_EMAIL,
        [user.email],
    )
    return True
