"""Pieces of the history pages (Activity, Inbox) that need no database: periods and page cursors."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

# v1's relative date choices; the history pages open on the last 30 days.
PERIODS = {
    "hour": ("Last hour", timedelta(hours=1)),
    "day": ("Last day", timedelta(days=1)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "30d": ("Last 30 days", timedelta(days=30)),
    "90d": ("Last 90 days", timedelta(days=90)),
}
DEFAULT_PERIOD = "30d"
CUSTOM = "custom"

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


class BadFilter(ValueError):
    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Window:
    """A half-open time range [since, until); None means unbounded on that side."""

    since: datetime | None
    until: datetime | None


def parse_day(text: str, field: str) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadFilter(f"{text!r} is not a date: use YYYY-MM-DD", field) from None


def window(period: str, start: date | None, end: date | None, now: datetime, tz: tzinfo) -> Window:
    """The times a period covers. Custom ranges are whole days in the project's time zone, both included."""
    if period == CUSTOM:
        if start and end and end < start:
            raise BadFilter("The range ends before it starts.", "end")
        since = datetime.combine(start, time.min, tz) if start else None
        until = datetime.combine(end + timedelta(days=1), time.min, tz) if end else None
        return Window(since, until)
    if period not in PERIODS:
        raise BadFilter(f"Unknown period {period!r}.", "date")
    return Window(now - PERIODS[period][1], None)


def parse_bound(text: str, field: str, tz: tzinfo, end: bool = False) -> datetime | None:
    """An API's `from`/`to`: a day (YYYY-MM-DD, in the project's time zone; `to` includes that whole
    day) or a moment (ISO 8601; without an offset, in the project's time zone)."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day + timedelta(days=1) if end else day, time.min, tz)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        message = f"{field}: {text!r} is neither a day (YYYY-MM-DD) nor an ISO 8601 time"
        raise BadFilter(message, field) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def encode_cursor(moment: datetime, pk: int) -> str:
    # Whole microseconds since the epoch: exact (a float of seconds loses the last digits) and URL-safe.
    return f"{(moment - EPOCH) // MICROSECOND}-{pk}"


def decode_cursor(text: str) -> tuple[datetime, int] | None:
    micros, _, pk = (text or "").partition("-")
    try:
        return EPOCH + int(micros) * MICROSECOND, int(pk)
    except (ValueError, OverflowError):
        return None
