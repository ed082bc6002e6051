"""Cron: fire each switched-on job of a cron trigger once per due minute.

The unique (trigger, minute) row makes a fire happen once even with several scheduler processes.
After downtime only the latest due minute fires (at most one catch-up run per trigger). A trigger that
never fired only fires for the current minute, never for a past one, and never for a minute that began
before it was created: a trigger made at 06:23:45 with `* * * * *` first fires at 06:24:00.
"""

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone

from kindling.jobs.models import Trigger
from kindling.lib import cron
from kindling.runs import queue
from kindling.runs.janitor import mark_lost_runs
from kindling.runs.models import CronTick, Run

log = logging.getLogger(__name__)


def due_minute(trigger: Trigger, now: datetime) -> datetime | None:
    try:
        due = cron.last_due(trigger.cron, now.astimezone(ZoneInfo(trigger.project.timezone)))
    except (cron.CronError, StopIteration):
        return None
    last = trigger.ticks.order_by("-minute").values_list("minute", flat=True).first()
    if last is None:
        fresh = now.replace(second=0, microsecond=0) - timedelta(minutes=1)
        return due if due >= max(fresh, trigger.created_at) else None
    return due if due > last else None


def fire_due(now: datetime | None = None) -> list[Run]:
    now = now or timezone.now()
    started = []
    triggers = Trigger.objects.filter(kind=Trigger.Kind.CRON, jobs__enabled=True, jobs__archived=False)
    for trigger in triggers.distinct().select_related("project"):
        minute = due_minute(trigger, now)
        if minute is None:
            continue
        try:
            with transaction.atomic():
                CronTick.objects.create(trigger=trigger, minute=minute)
                for job in trigger.jobs.runnable().order_by("id"):
                    started.append(queue.enqueue(job, Run.Cause.CRON, queue.cron_state(job)))
        except IntegrityError:
            continue  # another scheduler fired this minute
    return started


def scheduler_pass(now: datetime | None = None) -> tuple[list[Run], list[Run]]:
    """One pass of the scheduler loop (run every second): fire the due cron triggers, then end the
    runs whose worker stopped renewing their lease. Returns (cron runs queued, runs lost)."""
    return fire_due(now), mark_lost_runs(now)
