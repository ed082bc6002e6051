"""Ownership transfer: to the user with this email and user number; the former owner loses access at once,
and the projects it is shared with keep using it until the new owner revokes them."""

from django.utils import timezone

from kindling.accounts.models import User
from kindling.audit.log import record
from kindling.credentials.access import require_owner
from kindling.credentials.models import Credential
from kindling.credentials.sharing import CredentialError


class TransferError(CredentialError):
    pass


def transfer(credential: Credential, by, email, user_number) -> User:
    require_owner(credential, by, "transfer")
    email = (email or "").strip() if isinstance(email, str) else ""
    try:
        number = int(str(user_number).strip())
    except (TypeError, ValueError):
        number = None
    if not email or number is None:
        raise TransferError(
            "Enter the recipient's email and user number (both are on their Account Settings)."
        )
    recipient = User.objects.filter(email__iexact=email, user_number=number, is_active=True).first()
    # One answer for an unknown email and for a wrong number: the form must not tell a stranger which
    # emails have accounts.
    if recipient is None:
        raise TransferError(
            "No user has this email and user number. Check both on the recipient's Account Settings page."
        )
    if recipient.pk == by.pk:
        raise TransferError("You already own this credential: enter another user's email and user number.")
    # Conditional on the owner we checked, so two transfers at once cannot both succeed.
    moved = Credential.objects.filter(pk=credential.pk, owner=by, deleted_at__isnull=True).update(
        owner=recipient, updated_at=timezone.now()
    )
    if not moved:
        raise TransferError("This credential changed owner or was deleted meanwhile.")
    credential.owner = recipient
    for project in credential.projects.all():
        record(project, by, "credential.transferred", credential.name, to=recipient.email)
    return recipient
