"""What the plan pages show: this cycle's usage day by day with its pace, and past cycles."""

from datetime import UTC, datetime, time, timedelta

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from kindling.lib.cycles import cycle_containing, cycles_back
from kindling.plans.limits import limits_for
from kindling.plans.models import Plan, Usage
from kindling.plans.usage import current_usage
from kindling.runs.models import Run

HISTORY_CYCLES = 24


def _midnight(day) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def usage_chart(project) -> dict:
    """Cumulative runs per day of the current cycle, the limit, and the pace to the cycle's end."""
    usage = current_usage(project)
    start, end = usage["cycle_start"], usage["next_cycle"]
    per_day = dict(
        Run.objects.filter(project=project, created_at__gte=_midnight(start), created_at__lt=_midnight(end))
        .exclude(status=Run.Status.REJECTED)
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values_list("day")
        .annotate(n=Count("id"))
    )
    days = [start + timedelta(days=n) for n in range((end - start).days)]
    today = timezone.now().date()
    # The counter is what counts: runs deleted since were counted too, on the cycle's first day.
    counted, total, used = sum(per_day.values()), 0, []
    for index, day in enumerate(days):
        if day > today:
            break
        total += per_day.get(day, 0) + (max(0, usage["runs_used"] - counted) if index == 0 else 0)
        used.append(total)
    elapsed = max(1, len(used))
    rate = usage["runs_used"] / elapsed
    pace = [None] * (elapsed - 1) + [
        round(usage["runs_used"] + rate * n) for n in range(len(days) - elapsed + 1)
    ]
    projected = pace[-1] if pace else usage["runs_used"]
    return {
        **usage,
        "labels": [f"{day:%b %d}" for day in days],
        "used": used,
        "pace": pace,
        "limit": [usage["runs_limit"]] * len(days) if usage["runs_limit"] is not None else [],
        "projected": projected,
        "percent": (usage["runs_used"] * 100 // usage["runs_limit"]) if usage["runs_limit"] else None,
    }


def usage_history(project) -> list[dict]:
    """Runs (and rejected runs) of each billing cycle, newest first, since the project started."""
    limits = limits_for(project.pk)
    cycles = cycles_back(limits.started, timezone.now().date(), HISTORY_CYCLES)
    counts = {
        row["cycle_start"]: row
        for row in Usage.objects.filter(project=project, cycle_start__gte=cycles[-1][0]).values(
            "cycle_start", "runs", "rejected"
        )
    }
    return [
        {
            "start": start,
            "end": end - timedelta(days=1),
            "runs": counts.get(start, {}).get("runs", 0),
            "rejected": counts.get(start, {}).get("rejected", 0),
            "current": index == 0,
        }
        for index, (start, end) in enumerate(cycles)
    ]


def billing_rows(projects) -> list[dict]:
    """Plan and this cycle's usage of each project, in three queries whatever the number of projects."""
    projects = list(projects.select_related("subscription__plan"))
    default = Plan.objects.filter(is_default=True).first()
    today = timezone.now().date()
    rows = []
    for project in projects:
        subscription = getattr(project, "subscription", None)
        plan = subscription.plan if subscription is not None else default
        start, end = cycle_containing(project.created_at.astimezone(UTC).date(), today)
        rows.append(
            {"project": project, "plan": plan, "cycle_start": start, "cycle_end": end - timedelta(days=1)}
        )
    starts = [row["cycle_start"] for row in rows]
    counts = (
        {
            (usage["project_id"], usage["cycle_start"]): usage["runs"]
            for usage in Usage.objects.filter(
                project__in=projects, cycle_start__gte=min(starts, default=today)
            ).values("project_id", "cycle_start", "runs")
        }
        if rows
        else {}
    )
    for row in rows:
        row["runs_used"] = counts.get((row["project"].pk, row["cycle_start"]), 0)
        row["runs_limit"] = row["plan"].runs_per_month if row["plan"] is not None else None
    return rows
