"""Who is in a project, and in which role: adding (or inviting) a user, changing a role, revoking access,
granting support access. The portal, the REST API and `kindling project members` all call these.

Roles are named as v1 names them: "administrator" (Membership roles owner and admin: the owner is the
administrator who created the project) and "collaborator". A project always keeps one administrator.
"""

import logging
import smtplib

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import Http404

from kindling.accounts.models import User
from kindling.audit.log import record
from kindling.projects.access import forget_roles, require
from kindling.projects.invitations import send_invitation
from kindling.projects.models import Membership, Project

log = logging.getLogger(__name__)
ROLES = {"administrator": Membership.Role.ADMIN, "collaborator": Membership.Role.COLLABORATOR}
ADMIN_ROLES = (Membership.Role.OWNER, Membership.Role.ADMIN)


class AccessError(ValueError):
    """A refused change of access; the message says what to do instead."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def members_of(project: Project):
    return Membership.objects.filter(project=project).select_related("user").order_by("user__email", "id")


def is_invited(user: User) -> bool:
    """Invited by email and not joined yet: the account has no password and was never used."""
    return not user.has_usable_password() and user.last_login is None


def role_for(name) -> str:
    if name not in ROLES:
        raise AccessError(f"role must be one of: {', '.join(ROLES)} (got {name!r})")
    return ROLES[name]


def _check_allowed(project: Project, by) -> None:
    # None is the command line, run by whoever operates the instance.
    if by is not None:
        require(by, "manage_access", project)


def add_member(project: Project, by, email, role_name) -> Membership:
    """Give the user with this email a role; an address without an account is sent an invitation."""
    _check_allowed(project, by)
    role = role_for(role_name)
    email = email.strip().lower() if isinstance(email, str) else ""
    try:
        validate_email(email)
    except ValidationError:
        raise AccessError(f"{email or 'An empty address'} is not an email address.") from None
    with transaction.atomic():
        user = User.objects.filter(email__iexact=email).first()
        invited = user is None
        if invited:
            user = User.objects.create_user(email, None)
        if Membership.objects.filter(project=project, user=user).exists():
            raise AccessError(f"{email} is already a member of this project: change their role instead.", 409)
        membership = Membership.objects.create(project=project, user=user, role=role)
        record(
            project, by, "member.invited" if invited else "member.added", email, role=membership.role_label
        )
    membership.invitation_error = None
    if invited:
        try:
            send_invitation(project, user, by)
        except (OSError, smtplib.SMTPException) as exc:
            # The user is added all the same (that was accepted); they can get in through Recover Password.
            log.warning("the invitation to %s could not be sent: %s", email, exc)
            membership.invitation_error = (
                f"The invitation email could not be sent ({exc}). {email} is added: they can set a "
                "password with Recover Password on the login page once mail works."
            )
    return membership


def _membership(project: Project, user_id) -> Membership:
    membership = (
        Membership.objects.select_for_update()
        .select_related("user")
        .filter(project=project, user_id=user_id)
        .first()
    )
    if membership is None:
        raise Http404(f"No user {user_id} in this project.")
    return membership


def _keep_an_administrator(project: Project, membership: Membership, what: str) -> None:
    # Lock every administrator's row: two administrators demoting each other at once must not both win.
    admins = list(
        Membership.objects.select_for_update()
        .filter(project=project, role__in=ADMIN_ROLES)
        .values_list("pk", flat=True)
    )
    if membership.is_admin and admins == [membership.pk]:
        raise AccessError(
            f"{membership.user.email} is the last administrator of this project and cannot be {what}: "
            "make another user an administrator first.",
            409,
        )


def change_role(project: Project, by, user_id, role_name) -> Membership:
    _check_allowed(project, by)
    role = role_for(role_name)
    with transaction.atomic():
        membership = _membership(project, user_id)
        before = membership.role_label
        if before == ("administrator" if role == Membership.Role.ADMIN else "collaborator"):
            return membership
        if role == Membership.Role.COLLABORATOR:
            _keep_an_administrator(project, membership, "demoted")
        membership.role = role
        membership.save(update_fields=["role"])
        forget_roles(project)
        record(
            project,
            by,
            "member.role_changed",
            membership.user.email,
            before=before,
            after=membership.role_label,
        )
    return membership


def remove_member(project: Project, by, user_id) -> None:
    _check_allowed(project, by)
    with transaction.atomic():
        membership = _membership(project, user_id)
        _keep_an_administrator(project, membership, "removed")
        membership.delete()
        forget_roles(project)
        record(project, by, "member.removed", membership.user.email, role=membership.role_label)


def set_support_access(project: Project, by, on: bool) -> Project:
    _check_allowed(project, by)
    with transaction.atomic():
        changed = Project.objects.filter(pk=project.pk).exclude(support_access=on).update(support_access=on)
        project.support_access = on
        forget_roles(project)
        if changed:
            record(project, by, "support_access.granted" if on else "support_access.revoked")
    return project
