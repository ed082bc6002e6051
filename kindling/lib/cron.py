"""Cron expressions (standard 5 fields) on top of cronsim: validation, next times, last due time."""

from datetime import datetime, timedelta
from itertools import islice

from cronsim import CronSim, CronSimError


class CronError(ValueError):
    pass


def validate(expr: str) -> str:
    expr = " ".join(expr.split())
    if len(expr.split()) != 5:
        raise CronError(f"{expr!r} must have 5 fields: minute hour day-of-month month day-of-week")
    try:
        CronSim(expr, datetime(2000, 1, 1))
    except CronSimError as exc:
        raise CronError(f"{expr!r} is not a valid cron expression: {exc}") from None
    return expr


def next_times(expr: str, after: datetime, count: int = 5) -> list[datetime]:
    return list(islice(CronSim(validate(expr), after), count))


def last_due(expr: str, now: datetime) -> datetime:
    """The latest fire time at or before `now` (minute precision, in now's time zone)."""
    minute = now.replace(second=0, microsecond=0)
    # cronsim walks backwards from a moment strictly after the minute we may fire in.
    return next(iter(CronSim(validate(expr), minute + timedelta(seconds=1), reverse=True)))
