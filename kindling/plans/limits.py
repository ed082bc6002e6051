"""A project's plan and what it allows: runs per cycle, concurrency, run timeout.

`limits_for` is on hot paths (every run created, every run started), so it is one SQL statement:
the project, its subscription (if any) and its plan, or the default plan when it has none.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import connections, router
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from kindling.lib.cycles import cycle_containing
from kindling.plans.models import Plan, Subscription
from kindling.projects.models import Project

DEFAULT_THRESHOLD = 85  # percent of the cycle's runs (v1)

_LIMITS_SQL = """
    SELECT p.created_at, pl.name, pl.runs_per_month, pl.max_concurrency, pl.run_timeout, {threshold}
    FROM {project} p {join}
    WHERE p.id = %s
"""


@cache
def _limits_sql() -> str:
    # The notification threshold is a project setting (Project Settings page); until a project has
    # one, every project uses v1's 85%.
    try:
        threshold = "p." + Project._meta.get_field("notification_threshold").column
    except FieldDoesNotExist:
        threshold = str(DEFAULT_THRESHOLD)
    return _LIMITS_SQL.format(project=Project._meta.db_table, join=plan_join(), threshold=threshold)


def plan_join(project_alias: str = "p") -> str:
    """SQL joining a project row (alias `project_alias`) to its plan `pl` (NULL without any plan)."""
    plan = Plan._meta.db_table
    default = f"(SELECT d.id FROM {plan} d WHERE d.is_default = TRUE)"
    return (
        f"LEFT JOIN {Subscription._meta.db_table} s ON s.project_id = {project_alias}.id "
        f"LEFT JOIN {plan} pl ON pl.id = COALESCE(s.plan_id, {default})"
    )


# The concurrency the queue applies: the project's own, within its plan's maximum.
EFFECTIVE_CONCURRENCY_SQL = (
    "CASE WHEN pl.max_concurrency < p.concurrency THEN pl.max_concurrency ELSE p.concurrency END"
)


@dataclass(frozen=True)
class Limits:
    plan: str
    runs_per_month: int | None  # None: no limit
    max_concurrency: int
    run_timeout: int
    threshold: int
    started: date  # cycles start on this day of the month

    def cycle(self, today: date | None = None) -> tuple[date, date]:
        return cycle_containing(self.started, today or timezone.now().date())


# Without any plan (the operator deleted the default one): nothing is limited but the instance's
# own run timeout ceiling.
UNLIMITED = ("(none)", None, 10, None)


def limits_for(project_id: int) -> Limits:
    connection = connections[router.db_for_read(Project)]
    with connection.cursor() as cursor:
        cursor.execute(_limits_sql(), [project_id])
        row = cursor.fetchone()
    if row is None:
        raise Project.DoesNotExist(f"no project {project_id}")
    created, name, runs, concurrency, timeout, threshold = row
    if name is None:
        name, runs, concurrency, _ = UNLIMITED
    if not isinstance(created, datetime):
        created = parse_datetime(created)
    return Limits(
        plan=name,
        runs_per_month=runs,
        max_concurrency=concurrency,
        run_timeout=timeout_of(name, timeout),
        threshold=int(threshold if threshold is not None else DEFAULT_THRESHOLD),
        started=(created.astimezone(UTC) if timezone.is_aware(created) else created).date(),
    )


def timeout_of(plan_name: str | None, plan_timeout: int | None) -> int:
    """A run's timeout in seconds: its plan's (`plan_name` None: no plan at all), within the
    instance's KINDLING_RUN_TIMEOUT."""
    ceiling = settings.RUN_TIMEOUT_SECONDS
    if plan_name is None:
        return ceiling
    return min(plan_timeout or ceiling, ceiling)


def plan_of(project) -> Plan | None:
    """The project's plan (its subscription's, else the default plan)."""
    subscription = Subscription.objects.select_related("plan").filter(project=project).first()
    if subscription is not None:
        return subscription.plan
    return Plan.objects.filter(is_default=True).first()


def max_concurrency(project) -> int:
    """The most runs of the project its plan lets execute at once: the top of the concurrency slider."""
    return limits_for(project.pk).max_concurrency


def effective_concurrency(project) -> int:
    """What the queue applies: the project's own setting, within its plan's maximum."""
    return min(project.concurrency, max_concurrency(project))


def run_timeout(project) -> int:
    """Seconds a run of the project may take: its plan's timeout, within KINDLING_RUN_TIMEOUT."""
    return limits_for(project.pk).run_timeout
