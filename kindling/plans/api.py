from datetime import date

from django.conf import settings
from ninja import Router, Schema, Status
from pydantic import Field

from kindling.lib.paging import page
from kindling.openapi import LIMIT, BodyIn, Limit, Offset, errors, page_of
from kindling.plans import billing
from kindling.plans.changes import PlanChangeError, change_plan, find_plan
from kindling.plans.limits import plan_of
from kindling.plans.models import Plan
from kindling.plans.pages import billing_rows, usage_history
from kindling.plans.usage import current_usage
from kindling.plans.views import projects_billed_to
from kindling.projects.access import project_for

router = Router(tags=["plans"])


class PlanOut(Schema):
    name: str
    runs_per_month: int | None = Field(description="null: unlimited")
    max_concurrency: int = Field(ge=1)
    run_timeout: int = Field(ge=1, description="seconds")
    price_label: str
    paid: bool


class UsageOut(Schema):
    runs_used: int = Field(ge=0)
    runs_limit: int | None = Field(description="null: unlimited")
    runs_rejected: int = Field(ge=0)
    cycle_start: date
    cycle_end: date


class PlanAndUsageOut(Schema):
    plan: PlanOut | None
    usage: UsageOut


class BilledProjectOut(Schema):
    slug: str
    name: str
    plan: PlanOut | None
    cycle_start: date
    cycle_end: date
    runs_used: int = Field(ge=0)
    runs_limit: int | None


class BillingOut(Schema):
    provider: str = Field(description='"none" (no card is ever needed) or "stripe"')
    card: str | None = Field(description="Your card, like Visa ending in 4242; null: none")
    projects: list[BilledProjectOut] = Field(description="The projects billed to you")


class CardSetupOut(Schema):
    client_secret: str = Field(description="Hand it to Stripe.js to confirm a card")
    publishable_key: str


class CardIn(BodyIn):
    setup_intent: str = Field(description="The id (seti_...) of the SetupIntent Stripe.js confirmed")


class CycleOut(Schema):
    start: date
    end: date = Field(description="Its last day")
    runs: int = Field(ge=0)
    rejected: int = Field(ge=0)
    current: bool


PlanPage = page_of(PlanOut, "PlanPage")
CyclePage = page_of(CycleOut, "CyclePage")


def plan_out(plan: Plan | None) -> dict | None:
    return plan.summary() if plan is not None else None


def plan_and_usage(project) -> dict:
    """`plan` and `usage` of GET /api/v1/projects/{slug}."""
    usage = current_usage(project)
    return {
        "plan": plan_out(plan_of(project)),
        "usage": {
            "runs_used": usage["runs_used"],
            "runs_limit": usage["runs_limit"],
            "runs_rejected": usage["runs_rejected"],
            "cycle_start": usage["cycle_start"],
            "cycle_end": usage["cycle_end"],
        },
    }


@router.get("/plans", response=PlanPage, summary="The plans a project can be on")
def list_plans(request, limit: Limit = LIMIT, offset: Offset = 0):
    return page(Plan.objects.order_by("pk"), limit, offset, plan_out)


class PlanChange(BodyIn):
    plan: str


@router.put(
    "/projects/{slug}/plan",
    response={200: PlanAndUsageOut, **errors(400, 403)},
    summary="Change the project's plan (administrators)",
)
def put_plan(request, slug: str, payload: PlanChange):
    project = project_for(request.user, slug)
    try:
        # A role that may not change it: PermissionDenied, answered 403 by the API's handler.
        change_plan(project, find_plan(payload.plan), by=request.user)
    except PlanChangeError as exc:
        return Status(400, {"error": str(exc)})
    return plan_and_usage(project)


@router.get(
    "/projects/{slug}/plan/history",
    response=CyclePage,
    summary="Runs and rejected runs of each billing cycle, newest first (the Plan & Usage history page)",
)
def plan_history(request, slug: str, limit: Limit = LIMIT, offset: Offset = 0):
    project = project_for(request.user, slug)
    return page(usage_history(project), limit, offset, lambda cycle: cycle)


def billing_out(user) -> dict:
    account = billing.account_of(user)
    return {
        "provider": settings.BILLING_PROVIDER,
        "card": (account.card_label or None) if account is not None else None,
        "projects": [
            {
                "slug": row["project"].slug,
                "name": row["project"].name,
                "plan": plan_out(row["plan"]),
                "cycle_start": row["cycle_start"],
                "cycle_end": row["cycle_end"],
                "runs_used": row["runs_used"],
                "runs_limit": row["runs_limit"],
            }
            for row in billing_rows(projects_billed_to(user))
        ],
    }


@router.get(
    "/account/billing",
    response=BillingOut,
    summary="Billing: your card and the projects billed to you with their plan and this cycle's usage",
)
def get_billing(request):
    return billing_out(request.user)


@router.post(
    "/account/billing/card-setup",
    response={200: CardSetupOut, **errors(400)},
    summary="Start adding a card (Stripe): a SetupIntent's client secret for Stripe.js; 400 when no "
    "billing provider is set up",
)
def start_card_setup(request):
    try:
        secret = billing.start_card_setup(request.user)
    except billing.BillingError as exc:
        return Status(400, {"error": str(exc)})
    return Status(200, {"client_secret": secret, "publishable_key": settings.STRIPE_PUBLISHABLE_KEY})


@router.put(
    "/account/billing/card",
    response={200: BillingOut, **errors(400)},
    summary="Keep the card a confirmed SetupIntent holds as your card (as the Add Card page does)",
)
def put_card(request, payload: CardIn):
    try:
        billing.save_card(request.user, payload.setup_intent.strip())
    except billing.BillingError as exc:
        return Status(400, {"error": str(exc)})
    return Status(200, billing_out(request.user))
