"""Changing a project's plan: one function for the portal, the REST API and `kindling plan assign`.

Spec section 10: changing to a paid plan needs a payment card on the account. Who may change plans
depends on the billing provider (settings.BILLING_PROVIDER): with `none` (self-hosted, nobody pays)
the instance's administrators do; with `stripe` the project's administrators do, with a card.
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from kindling.plans.models import BillingAccount, Plan, Subscription
from kindling.projects.access import can


class PlanChangeError(ValueError):
    pass


def may_change_plan(user, project) -> str:
    """Why `user` may not change the project's plan ("" when they may)."""
    if not can(user, "edit_settings", project):
        return "Only the project's administrators can change its plan."
    if settings.BILLING_PROVIDER == "none" and not user.is_staff:
        return (
            "Plans are assigned by this Kindling's instance administrators (no billing provider is set up): "
            "ask one of them."
        )
    return ""


def check_may_change_plan(user, project) -> None:
    reason = may_change_plan(user, project)
    if reason:
        raise PermissionDenied(reason)


def find_plan(name_or_id) -> Plan:
    value = str(name_or_id).strip()
    plan = Plan.objects.filter(name__iexact=value).first()
    if plan is None and value.isdigit():
        plan = Plan.objects.filter(pk=int(value)).first()
    if plan is None:
        names = ", ".join(Plan.objects.values_list("name", flat=True)) or "none"
        raise PlanChangeError(f"There is no plan {value!r}; the plans are: {names}.")
    return plan


def change_plan(project, plan: Plan, by=None) -> Subscription:
    """Put the project on `plan`. `by`: the user changing it in the portal or the API (their access
    is checked first); None for the operator (command line, Django admin)."""
    billed_to = None
    if by is not None:
        check_may_change_plan(by, project)
        if settings.BILLING_PROVIDER == "stripe" and plan.paid:
            account = BillingAccount.objects.filter(user=by).first()
            if account is None or not account.has_card:
                raise PlanChangeError(
                    f"{plan.name} is a paid plan: add a payment card on your Billing page (account menu) "
                    "first."
                )
            billed_to = by
    with transaction.atomic():
        subscription, _created = Subscription.objects.select_for_update().get_or_create(
            project=project, defaults={"plan": plan}
        )
        subscription.plan = plan
        subscription.changed_at = timezone.now()
        if billed_to is not None or not plan.paid:
            subscription.billed_to = billed_to
        subscription.save()
    return subscription
