from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from kindling.plans import billing
from kindling.plans.changes import PlanChangeError, change_plan, find_plan, may_change_plan
from kindling.plans.limits import plan_of
from kindling.plans.models import Plan
from kindling.plans.pages import billing_rows, usage_chart, usage_history
from kindling.projects.access import project_for, projects_of
from kindling.projects.models import Membership


@login_required
def plan_usage(request, slug):
    project = project_for(request.user, slug)
    plans = list(Plan.objects.all())
    current = plan_of(project)
    account = billing.account_of(request.user)
    return render(
        request,
        "plans/plan_usage.html",
        {
            "project": project,
            "chart": usage_chart(project),
            "plans": plans,
            "current_plan": current,
            "current_index": next((i for i, plan in enumerate(plans) if plan == current), 0),
            "cannot_change": may_change_plan(request.user, project),
            "provider": settings.BILLING_PROVIDER,
            "has_card": bool(account and account.has_card),
        },
    )


@login_required
def plan_history(request, slug):
    project = project_for(request.user, slug)
    return render(
        request,
        "plans/plan_history.html",
        {
            "project": project,
            "cycles": usage_history(project),
            "plan": plan_of(project),
        },
    )


@login_required
@require_POST
def plan_change(request, slug):
    project = project_for(request.user, slug, "manage_plan")
    try:
        plan = find_plan(request.POST.get("plan", ""))
        change_plan(project, plan, by=request.user)  # checks the role: 403 for collaborators
    except PlanChangeError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{project.name} is now on the {plan.name} plan.")
    return redirect("plan-usage", project.slug)


def projects_billed_to(user):
    """The projects billed to the user: those whose plan they pay for, and those they own that nobody
    else pays for."""
    return (
        projects_of(user)
        .filter(
            Q(subscription__billed_to=user)
            | Q(memberships__user=user, memberships__role=Membership.Role.OWNER, subscription__billed_to=None)
        )
        .distinct()
        .order_by("name", "id")
    )


@login_required
def billing_page(request):
    rows = billing_rows(projects_billed_to(request.user))
    return render(
        request,
        "plans/billing.html",
        {
            "rows": rows,
            "account": billing.account_of(request.user),
            "provider": settings.BILLING_PROVIDER,
        },
    )


def safe_next(request, url) -> str:
    """A page of this site to go back to after saving a card, or ""."""
    if url and url_has_allowed_host_and_scheme(url, {request.get_host()}, request.is_secure()):
        return url
    return ""


@login_required
def billing_card(request):
    """Add Card: a Stripe Elements form (GET), and keeping the card it confirmed (POST)."""
    if request.method == "POST":
        try:
            account = billing.save_card(request.user, request.POST.get("setup_intent", "").strip())
        except billing.BillingError as exc:
            messages.error(request, str(exc))
            return redirect("billing-card")
        messages.success(request, f"Card saved: {account.card_label}.")
        return redirect(safe_next(request, request.POST.get("next")) or "billing")
    try:
        client_secret = billing.start_card_setup(request.user)
    except billing.BillingError as exc:
        messages.error(request, str(exc))
        return redirect("billing")
    return render(
        request,
        "plans/card.html",
        {
            "client_secret": client_secret,
            "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
            "stripe_js_url": settings.STRIPE_JS_URL,
            "next": safe_next(request, request.GET.get("next")),
        },
    )
