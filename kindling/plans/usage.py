"""Counting runs against the plan (spec section 10), in the transaction that creates them.

`admit(project_id, wanted)` is called once per batch of runs (the runs of one message, one cron
run, the flow/catch runs of one finished run): one statement reads the plan, one upsert bumps the
cycle's counter and returns it. The counter row is locked until the transaction commits (PostgreSQL;
on SQLite every writer is serialised anyway), so two messages arriving together cannot both take the
last run of a cycle. Over the limit, the runs are still recorded (status `rejected`, with the
reason) and counted as rejected; nothing is lost and they can be reprocessed later.
"""

import logging
import math
import threading
from dataclasses import dataclass
from datetime import date
from functools import cache

from django.db import connections, router, transaction

from kindling.plans.limits import Limits, limits_for
from kindling.plans.models import Usage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Admission:
    allowed: int  # how many of the wanted runs may run; the others are rejected
    reason: str = ""  # why the others are rejected


_BUMP_SQL = """
    INSERT INTO {usage} (project_id, cycle_start, runs, rejected, notified) VALUES (%s, %s, %s, 0, %s)
    ON CONFLICT (project_id, cycle_start) DO UPDATE SET runs = {usage}.runs + excluded.runs
    RETURNING runs, notified
"""
_REJECT_SQL = (
    "UPDATE {usage} SET runs = runs - %s, rejected = rejected + %s WHERE project_id = %s AND cycle_start = %s"
)
_NOTIFIED_SQL = (
    "UPDATE {usage} SET notified = %s WHERE project_id = %s AND cycle_start = %s AND notified = %s"
)


@cache
def _sql(name: str) -> str:
    return {"bump": _BUMP_SQL, "reject": _REJECT_SQL, "notified": _NOTIFIED_SQL}[name].format(
        usage=Usage._meta.db_table
    )


def rejection_reason(limits: Limits, cycle: tuple[date, date]) -> str:
    start, end = cycle
    return (
        f"Rejected: the project has used all {limits.runs_per_month:,} runs of its {limits.plan} plan "
        f"for the billing cycle {start:%Y-%m-%d} to {end:%Y-%m-%d}. Change to a larger plan, or "
        f"reprocess this run from {end:%Y-%m-%d} on."
    )


def admit(project_id: int, wanted: int) -> Admission:
    """Count `wanted` new runs of the project in its current cycle; how many of them may run."""
    if wanted <= 0:
        return Admission(0)
    limits = limits_for(project_id)
    cycle = limits.cycle()
    connection = connections[router.db_for_write(Usage)]
    with transaction.atomic(using=connection.alias, savepoint=False), connection.cursor() as cursor:
        cursor.execute(_sql("bump"), [project_id, cycle[0], wanted, False])
        total, notified = cursor.fetchone()
        if limits.runs_per_month is None:
            return Admission(wanted)
        before = total - wanted
        allowed = max(0, min(wanted, limits.runs_per_month - before))
        if allowed < wanted:
            refused = wanted - allowed
            cursor.execute(_sql("reject"), [refused, refused, project_id, cycle[0]])
        used = before + allowed
        if not notified and limits.runs_per_month and used >= threshold_runs(limits):
            cursor.execute(_sql("notified"), [True, project_id, cycle[0], False])
            if cursor.rowcount == 1:
                notice = (project_id, limits, cycle, used)
                transaction.on_commit(lambda: send_in_background(*notice), using=connection.alias)
    if allowed < wanted:
        return Admission(allowed, rejection_reason(limits, cycle))
    return Admission(allowed)


def threshold_runs(limits: Limits) -> int:
    return max(1, math.ceil(limits.runs_per_month * limits.threshold / 100))


def send_in_background(project_id: int, limits: Limits, cycle, used: int) -> None:
    # Once per cycle and after the commit; the SMTP conversation happens in a thread of its own so
    # that the inbox's answer (or the worker's next run) does not wait for the mail server.
    from kindling.plans.notices import threshold_notice

    mail = threshold_notice(project_id, limits, cycle, used)

    def send():
        try:
            mail.send()
        except Exception:
            log.exception("the usage threshold notice of project %s could not be sent", project_id)

    threading.Thread(target=send, name="kindling-usage-notice", daemon=True).start()


def current_usage(project) -> dict:
    """`runs_used`, `runs_limit`, `runs_rejected`, `cycle_start`, `cycle_end` (the last day of the cycle)."""
    limits = limits_for(project.pk)
    start, end = limits.cycle()
    row = Usage.objects.filter(project=project, cycle_start=start).values("runs", "rejected").first() or {}
    return {
        "plan": limits.plan,
        "runs_used": row.get("runs", 0),
        "runs_rejected": row.get("rejected", 0),
        "runs_limit": limits.runs_per_month,
        "threshold": limits.threshold,
        "cycle_start": start,
        "cycle_end": date.fromordinal(end.toordinal() - 1),
        "next_cycle": end,
    }
