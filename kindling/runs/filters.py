"""Activity filters (log text, date, job, status) and keyset pages, for the portal and the REST API.

A project may hold millions of runs. Pages are keyset pages on (created_at, id), never OFFSET, and
nothing counts the whole result, so the first page and each filtered page cost the same whatever
the size of the history. Indexes that serve these queries: see the runs and inbox migrations.
"""

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.db import connections, transaction
from django.db.models import BooleanField, Func, Q, Value
from django.utils import timezone

from kindling.lib.history import (
    CUSTOM,
    DEFAULT_PERIOD,
    PERIODS,
    BadFilter,
    Window,
    decode_cursor,
    encode_cursor,
    parse_day,
    window,
)
from kindling.lib.websearch import EmptyQuery
from kindling.lib.websearch import parse as parse_query
from kindling.runs.models import Run
from kindling.search.fulltext import run_condition

RUNS_PER_PAGE = 50


def like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class Like(Func):
    """`expression` contains `text`, ignoring case: ILIKE on PostgreSQL, where a trigram index can
    answer it; LIKE on SQLite, which ignores the case of ASCII letters."""

    output_field = BooleanField()

    def __init__(self, expression, text: str):
        super().__init__(expression, Value(like_pattern(text)))

    def as_sql(self, compiler, connection, **extra):
        lhs, lhs_params = compiler.compile(self.source_expressions[0])
        rhs, rhs_params = compiler.compile(self.source_expressions[1])
        if connection.vendor == "postgresql":
            # Backslash is ILIKE's default escape character.
            return f"{lhs} ILIKE {rhs}", [*lhs_params, *rhs_params]
        return f"{lhs} LIKE {rhs} ESCAPE '\\'", [*lhs_params, *rhs_params]


@dataclass
class Page:
    items: list
    older: str | None = None  # cursor of the next page back in time
    newer: str | None = None  # cursor of the next page forward in time


@contextmanager
def without_jit(using: str):
    """PostgreSQL's JIT compiles a history query for 30-100 ms whenever its cost estimate is high,
    which LIMIT makes meaningless here (the query stops after one page): a few-millisecond query
    then takes a hundred. SET LOCAL keeps the change to this transaction."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield
        return
    # No savepoint inside a caller's transaction: the setting then lasts until that one ends.
    with transaction.atomic(using=using, savepoint=False):
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
        yield


def keyset_page(queryset, time_field: str, *, before: str = "", after: str = "", size: int) -> Page:
    """One page of `queryset`, newest first by (time_field, id), around a cursor from the URL.

    `before`: the page of rows older than the cursor; `after`: the page of rows newer than it.
    """
    with without_jit(queryset.db):
        return _keyset_page(queryset, time_field, before=before, after=after, size=size)


def _keyset_page(queryset, time_field: str, *, before: str = "", after: str = "", size: int) -> Page:
    older_than, newer_than = decode_cursor(before), decode_cursor(after)
    if newer_than:
        moment, pk = newer_than
        # The lower bound on its own lets the database walk the index from the cursor on.
        rows = list(
            queryset.filter(**{f"{time_field}__gte": moment})
            .filter(Q(**{f"{time_field}__gt": moment}) | Q(**{time_field: moment, "id__gt": pk}))
            .order_by(time_field, "id")[: size + 1]
        )
        more = len(rows) > size
        rows = rows[:size][::-1]
        if not rows:
            return Page([])
        return Page(
            rows,
            older=cursor_of(rows[-1], time_field),
            newer=cursor_of(rows[0], time_field) if more else None,
        )
    if older_than:
        moment, pk = older_than
        queryset = queryset.filter(**{f"{time_field}__lte": moment}).filter(
            Q(**{f"{time_field}__lt": moment}) | Q(**{time_field: moment, "id__lt": pk})
        )
    rows = list(queryset.order_by(f"-{time_field}", "-id")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return Page(
        rows,
        older=cursor_of(rows[-1], time_field) if more else None,
        # Rows newer than this page exist when it was reached from a newer one.
        newer=cursor_of(rows[0], time_field) if older_than and rows else None,
    )


def cursor_of(row, time_field: str) -> str:
    return encode_cursor(getattr(row, time_field), row.pk)


def in_window(queryset, time_field: str, span: Window | None):
    if span is None:
        return queryset
    if span.since is not None:
        queryset = queryset.filter(**{f"{time_field}__gte": span.since})
    if span.until is not None:
        queryset = queryset.filter(**{f"{time_field}__lt": span.until})
    return queryset


def filter_runs(
    runs,
    *,
    text: str = "",
    span: Window | None = None,
    job_id: int | None = None,
    job_name: str = "",
    status: str = "",
):
    """Runs whose log matches the full-text query `text`, created within `span`, of a job, with a status."""
    runs = in_window(runs, "created_at", span)
    if job_id is not None:
        runs = runs.filter(job_id=job_id)
    if job_name:
        runs = runs.filter(job__name=job_name)
    if status:
        runs = runs.filter(status=status)
    if text:
        # Full text (search/fulltext.py); EmptyQuery when the text has no word in it.
        runs = runs.filter(run_condition(parse_query(text), runs.db))
    return runs


@dataclass
class HistoryFilters:
    """Filters every history page shares: text, a period (relative, or a custom range of days)."""

    text: str = ""
    period: str = DEFAULT_PERIOD
    start: date | None = None
    end: date | None = None
    before: str = ""
    after: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    # The text is a full-text query (lib/websearch.py); the Search Console's is a plain substring.
    FULL_TEXT = True

    PERIOD_CHOICES = [(key, label) for key, (label, _span) in PERIODS.items()] + [(CUSTOM, "Custom range")]

    def read_common(self, params) -> None:
        self.text = params.get("q", "").strip()
        if self.text and self.FULL_TEXT:
            try:
                parse_query(self.text)
            except EmptyQuery as exc:
                self.errors["q"] = str(exc)
                self.text = ""
        self.period = params.get("date", "") or DEFAULT_PERIOD
        self.before = params.get("before", "")
        self.after = params.get("after", "")
        if self.period != CUSTOM and self.period not in PERIODS:
            self.errors["date"] = f"Unknown period {self.period!r}: showing the last 30 days."
            self.period = DEFAULT_PERIOD
        if self.period == CUSTOM:
            for name in ("start", "end"):
                try:
                    setattr(self, name, parse_day(params.get(name, ""), name))
                except BadFilter as exc:
                    self.errors[exc.field] = str(exc)

    def span(self, project, now: datetime | None = None) -> Window | None:
        try:
            return window(
                self.period, self.start, self.end, now or timezone.now(), ZoneInfo(project.timezone)
            )
        except BadFilter as exc:
            self.errors[exc.field] = str(exc)
            return window(DEFAULT_PERIOD, None, None, now or timezone.now(), ZoneInfo(project.timezone))

    def common_params(self) -> dict[str, str]:
        params = {}
        if self.text:
            params["q"] = self.text
        if self.period != DEFAULT_PERIOD:
            params["date"] = self.period
        if self.period == CUSTOM:
            if self.start:
                params["start"] = self.start.isoformat()
            if self.end:
                params["end"] = self.end.isoformat()
        return params

    @property
    def is_filtered(self) -> bool:
        return bool(self.params())

    def params(self) -> dict[str, str]:
        return self.common_params()


@dataclass
class ActivityFilters(HistoryFilters):
    job: int | None = None
    status: str = ""

    @classmethod
    def from_params(cls, params) -> "ActivityFilters":
        filters = cls()
        filters.read_common(params)
        job = params.get("job", "")
        if job:
            try:
                filters.job = int(job)
            except ValueError:
                filters.errors["job"] = f"{job!r} is not a job."
        status = params.get("status", "")
        if status and status not in Run.Status.values:
            filters.errors["status"] = f"{status!r} is not a run status."
        elif status:
            filters.status = status
        return filters

    def params(self) -> dict[str, str]:
        params = self.common_params()
        if self.job is not None:
            params["job"] = str(self.job)
        if self.status:
            params["status"] = self.status
        return params

    def runs(self, project, now: datetime | None = None):
        runs = Run.objects.filter(project=project)
        return filter_runs(
            runs, text=self.text, span=self.span(project, now), job_id=self.job, status=self.status
        )
