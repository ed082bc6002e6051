"""Monthly billing cycles that start on a fixed day of the month (the day a project started).

A cycle starting on the 31st starts on the last day of shorter months (Feb 28, Apr 30, ...) and on
the 31st again when the month has one.
"""

from calendar import monthrange
from datetime import date


def _start_in(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, monthrange(year, month)[1]))


def _shift(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def cycle_containing(anchor: date, today: date) -> tuple[date, date]:
    """(first day, first day of the next cycle) of the cycle that contains `today`."""
    year, month = today.year, today.month
    if _start_in(year, month, anchor.day) > today:
        year, month = _shift(year, month, -1)
    start = _start_in(year, month, anchor.day)
    return start, _start_in(*_shift(year, month, 1), anchor.day)


def cycles_back(anchor: date, today: date, count: int) -> list[tuple[date, date]]:
    """The cycle containing `today` and up to `count - 1` before it, never before `anchor`'s; newest first."""
    start, end = cycle_containing(anchor, today)
    cycles = []
    for _ in range(count):
        cycles.append((start, end))
        if start <= anchor:
            break
        start, end = cycle_containing(anchor, date.fromordinal(start.toordinal() - 1))
    return cycles
