from ninja import Router, Status

from kindling.lib.paging import page
from kindling.openapi import LIMIT, BodyIn, Limit, Offset, Page, errors
from kindling.plans.changes import PlanChangeError, change_plan, find_plan
from kindling.plans.limits import plan_of
from kindling.plans.models import Plan
from kindling.plans.pages import usage_history
from kindling.plans.usage import current_usage
from kindling.projects.access import project_for

router = Router(tags=["plans"])


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


@router.get("/plans", response=Page, summary="The plans a project can be on")
def list_plans(request, limit: Limit = LIMIT, offset: Offset = 0):
    return page(Plan.objects.order_by("pk"), limit, offset, plan_out)


class PlanChange(BodyIn):
    plan: str


@router.put(
    "/projects/{slug}/plan",
    response={200: dict, **errors(400, 403)},
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
    response=Page,
    summary="Runs and rejected runs of each billing cycle, newest first (the Plan & Usage history page)",
)
def plan_history(request, slug: str, limit: Limit = LIMIT, offset: Offset = 0):
    project = project_for(request.user, slug)
    return page(usage_history(project), limit, offset, lambda cycle: cycle)
