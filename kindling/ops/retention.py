"""Data retention: a project keeps its messages and runs (with their logs and states) for N days, or
forever (the default, as v1).

Deletion goes in small batches, each its own short transaction, so that the inbox and the workers
are never held up for long. What is never deleted: runs still pending or running, and a message any
kept run belongs to (its runs would lose their data). Usage counters (plans.Usage) are rows of their
own and stay as they were: deleting old runs never gives a project back runs of a billing cycle.

Through the models' delete, so that everything that hangs off a row goes with it and stays in step:
log lines cascade; a run's deletion derives again its message's job-states (runs.JobState); a
message's job-states cascade; the SQLite search tables follow through their triggers and the
PostgreSQL search indexes are indexes of the rows themselves.
"""

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from kindling.audit.log import record
from kindling.inbox.models import Message
from kindling.ops.models import MAX_RETENTION_DAYS, Retention
from kindling.projects.models import Project
from kindling.runs.models import LogLine, Run

log = logging.getLogger(__name__)

BATCH = 200
# The scheduler looks at retention this often, and deletes at most this many batches per project at
# each look: a backlog (retention just switched on over years of data) drains over a few passes.
PASS_SECONDS = 60
PASS_BATCHES = 25


class RetentionError(ValueError):
    pass


@dataclass
class Purged:
    messages: int = 0
    runs: int = 0
    log_lines: int = 0

    def __str__(self):
        return f"{self.messages} message(s), {self.runs} run(s) and {self.log_lines} log line(s)"


def days_of(project: Project) -> int | None:
    row = Retention.objects.filter(project=project).first()
    return row.days if row else None


def clean_days(value) -> int | None:
    """None (forever) or a whole number of days from 1 to MAX_RETENTION_DAYS; RetentionError otherwise."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "forever")):
        return None
    problem = f"Keep data for a whole number of days from 1 to {MAX_RETENTION_DAYS}, or forever"
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise RetentionError(f"{problem}; got {value!r}.")
    try:
        days = int(value)
    except ValueError:
        raise RetentionError(f"{problem}; got {value!r}.") from None
    if not 1 <= days <= MAX_RETENTION_DAYS:
        raise RetentionError(f"{problem}; {days} is out of range.")
    return days


def set_retention(project: Project, days, actor=None) -> int | None:
    """Keep the project's messages and runs `days` days (None: forever). Deletion is the scheduler's."""
    days = clean_days(days)
    before = days_of(project)
    Retention.objects.update_or_create(project=project, defaults={"days": days, "updated_at": timezone.now()})
    if days != before:
        record(project, actor, "retention.changed", "Data retention", old=before, new=days)
    return days


def expired_runs(project: Project, before: datetime):
    return Run.objects.filter(project=project, created_at__lt=before, status__in=Run.FINISHED)


def expired_messages(project: Project, before: datetime):
    """Messages received before `before` none of whose runs is kept."""
    kept = Run.objects.filter(message=OuterRef("pk")).filter(
        Q(created_at__gte=before) | ~Q(status__in=Run.FINISHED)
    )
    return Message.objects.filter(project=project, received_at__lt=before).filter(~Exists(kept))


def count(project: Project, before: datetime) -> Purged:
    runs = expired_runs(project, before)
    return Purged(
        messages=expired_messages(project, before).count(),
        runs=runs.count(),
        log_lines=LogLine.objects.filter(run__in=runs.values("pk")).count(),
    )


def purge(
    project: Project, before: datetime, *, batch: int = BATCH, max_batches: int | None = None
) -> Purged:
    """Delete the project's runs created and messages received before `before` (not the runs still
    pending or running, nor the messages they belong to), `batch` rows per transaction: runs first,
    so that their messages have none left."""
    deleted: dict[str, int] = {}
    batches = 0
    for expired in (expired_runs, expired_messages):
        while max_batches is None or batches < max_batches:
            ids = list(expired(project, before).order_by("id").values_list("id", flat=True)[:batch])
            if not ids:
                break
            with transaction.atomic():
                # Asked again inside the transaction: a run reprocessed meanwhile is not touched.
                _total, by_model = expired(project, before).filter(pk__in=ids).delete()
            for label, n in by_model.items():
                deleted[label] = deleted.get(label, 0) + n
            batches += 1
    return Purged(
        messages=deleted.get(Message._meta.label, 0),
        runs=deleted.get(Run._meta.label, 0),
        log_lines=deleted.get(LogLine._meta.label, 0),
    )


def parse_before(text: str) -> datetime:
    """`--before`: a date (midnight UTC that day) or an ISO 8601 date and time."""
    text = str(text or "").strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise RetentionError(
            "--before must be a date like 2026-01-31 or a date and time like 2026-01-31T12:00:00Z, "
            f"not {text!r}."
        ) from None
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    return moment


_last_pass = 0.0


def retention_pass(now: datetime | None = None, force: bool = False) -> dict[str, Purged]:
    """The scheduler's look at retention (every PASS_SECONDS): expired rows of every project that set
    a number of days, PASS_BATCHES batches at most per project."""
    global _last_pass
    if not force and time.monotonic() - _last_pass < PASS_SECONDS:
        return {}
    _last_pass = time.monotonic()
    now = now or timezone.now()
    purged = {}
    for row in Retention.objects.filter(days__isnull=False).select_related("project"):
        done = purge(row.project, now - timedelta(days=row.days), max_batches=PASS_BATCHES)
        if done.runs or done.messages:
            log.info("retention: %s of project %s deleted", done, row.project.slug)
            purged[row.project.slug] = done
    return purged
