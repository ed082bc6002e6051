"""Deleting an account. Refused while the user is the only administrator of a project that has other
members: those members would be left with a project nobody can administer."""

from django.db import transaction
from django.db.models import Count, Q

from kindling.accounts.models import User
from kindling.projects.models import Membership, Project

ADMIN_ROLES = (Membership.Role.OWNER, Membership.Role.ADMIN)


class DeletionRefused(Exception):
    pass


def blocking_projects(user: User) -> list[Project]:
    """Projects where the user is the only administrator and someone else is a member."""
    # The counts go over every membership of the project, so the user's own is matched in a subquery
    # (a filter on the same relation would restrict what the counts see).
    administered = Membership.objects.filter(user=user, role__in=ADMIN_ROLES).values("project_id")
    return list(
        Project.objects.filter(pk__in=administered)
        .annotate(
            admins=Count("memberships", filter=Q(memberships__role__in=ADMIN_ROLES), distinct=True),
            people=Count("memberships", distinct=True),
        )
        .filter(admins=1, people__gt=1)
        .order_by("name")
    )


def refusal(user: User) -> str | None:
    blocking = blocking_projects(user)
    if not blocking:
        return None
    names = ", ".join(project.name for project in blocking)
    return (
        f"You are the only administrator of {names}, which other people use. Make one of them an "
        "administrator (or remove them) first, then delete your account."
    )


def delete_account(user: User) -> None:
    """Delete the account, the projects only this user belongs to, and the credentials the user owns."""
    reason = refusal(user)
    if reason:
        raise DeletionRefused(reason)
    with transaction.atomic():
        mine = Membership.objects.filter(user=user).values("project_id")
        alone = Project.objects.filter(pk__in=mine).annotate(people=Count("memberships")).filter(people=1)
        Project.objects.filter(pk__in=list(alone.values_list("pk", flat=True))).delete()
        for credential in user.credentials.all():
            credential.delete_for_good()
        if user.credentials.exists():
            # A deleted credential that jobs still name keeps its row (and so its owner's): the runs of
            # those jobs must keep saying which credential is gone. The person's data goes all the same.
            user.memberships.all().delete()
            user.api_tokens.all().delete()
            user.email = f"deleted-{user.pk}@deleted.invalid"
            user.name, user.preferences, user.is_active = "", {}, False
            user.set_unusable_password()
            user.save()
        else:
            user.delete()
