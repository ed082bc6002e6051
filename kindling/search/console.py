"""The Search Console: a plain substring search (ignoring case) over message bodies, run logs and,
when asked, message headers, within a time window; at most 10 results per kind, newest first.

Answered from indexes (search/indexes.py), never by reading every row: PostgreSQL's trigram GIN
indexes serve `ILIKE '%text%'`, SQLite's FTS5 trigram tables a quoted phrase (the same substring
test). Both need three characters at least: shorter text has no trigram to look up.
"""

import json
from dataclasses import dataclass
from datetime import datetime

from django.db import connections
from django.db.models import TextField
from django.db.models.functions import Cast

from kindling.inbox.models import Message
from kindling.lib.history import Window
from kindling.runs.filters import Like, like_pattern
from kindling.runs.models import LogLine

KINDS = {"bodies": "Message bodies", "logs": "Run logs", "headers": "Message headers"}
DEFAULT_KINDS = ("bodies", "logs")
MAX_RESULTS = 10
MIN_CHARS = 3
EXCERPT_CHARS = 80  # shown on each side of the match
# PostgreSQL: the newest rows looked at before the trigram index is asked (see search_messages): a
# text in 1 body of 40 or more is found there; a rarer one costs this many rows more.
RECENT_ROWS = 400
# Log lines read per look while gathering 10 distinct runs (a run may have many matching lines).
LINES_PER_LOOK = 50


class BadSearch(ValueError):
    pass


@dataclass
class Hit:
    kind: str
    id: int  # the message's or the run's
    at: datetime  # received_at of a message, created_at of a run
    before: str
    match: str
    after: str

    @property
    def excerpt(self) -> str:
        return f"{self.before}{self.match}{self.after}"


def excerpt(kind: str, pk: int, at: datetime, text: str, needle: str) -> Hit:
    found = text.lower().find(needle.lower())
    if found < 0:  # the index saw the text differently (e.g. across a JSON escape): show its start
        return Hit(kind, pk, at, "", "", text[: 2 * EXCERPT_CHARS])
    end = found + len(needle)
    start, stop = max(0, found - EXCERPT_CHARS), end + EXCERPT_CHARS
    before = ("…" if start else "") + text[start:found]
    after = text[end:stop] + ("…" if stop < len(text) else "")
    return Hit(kind, pk, at, before, text[found:end], after)


def check(text: str, kinds) -> tuple[str, list[str]]:
    text = (text or "").strip()
    if len(text) < MIN_CHARS:
        raise BadSearch(f"Type at least {MIN_CHARS} characters to search for.")
    kinds = [kind for kind in kinds if kind] or list(DEFAULT_KINDS)
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown:
        raise BadSearch(f"Unknown kind {unknown[0]!r}: choose among {', '.join(KINDS)}.")
    return text, [kind for kind in KINDS if kind in kinds]


def search(project, text: str, kinds=DEFAULT_KINDS, span: Window | None = None) -> dict[str, list[Hit]]:
    """{kind: hits} for each kind asked; BadSearch when the text is too short or a kind unknown."""
    text, kinds = check(text, kinds)
    span = span or Window(None, None)
    found = {}
    for kind in kinds:
        if kind == "logs":
            found[kind] = search_logs(project, text, span)
        else:
            found[kind] = search_messages(project, text, span, "body" if kind == "bodies" else "headers")
    return found


def _within(column: str, span: Window, connection) -> tuple[str, list]:
    sql, params = "", []
    for bound, op in ((span.since, ">="), (span.until, "<")):
        if bound is not None:
            sql += f" AND {column} {op} %s"
            params.append(connection.ops.adapt_datetimefield_value(bound))
    return sql, params


def _fts5_phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def search_messages(project, text: str, span: Window, field: str) -> list[Hit]:
    connection = connections[Message.objects.db]
    messages = Message.objects.filter(project=project)
    if connection.vendor == "postgresql":
        if span.since is not None:
            messages = messages.filter(received_at__gte=span.since)
        if span.until is not None:
            messages = messages.filter(received_at__lt=span.until)
        matching = Like(Cast(field, TextField()), text)
        # The planner takes the trigram index for any text long enough, which for a common one means
        # reading and sorting thousands of matching bodies. The newest rows, read first, answer a
        # common text at once; only a text they do not hold ten times goes to the index.
        within, params = _within("received_at", span, connection)
        # The LIMIT of the inner query fences it: the ILIKE applies to those rows, not to the index.
        sql = (
            f"SELECT id FROM (SELECT id, {field} FROM inbox_message WHERE project_id = %s{within} "
            f"ORDER BY id DESC LIMIT %s) recent WHERE ({field})::text ILIKE %s ORDER BY id DESC LIMIT %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [project.pk, *params, RECENT_ROWS, like_pattern(text), MAX_RESULTS])
            ids = [row[0] for row in cursor.fetchall()]
        if len(ids) < MAX_RESULTS:
            ids = list(messages.filter(matching).order_by("-id").values_list("id", flat=True)[:MAX_RESULTS])
    else:
        table = "search_body_trgm" if field == "body" else "search_header_trgm"
        within, params = _within("m.received_at", span, connection)
        # Walking the FTS5 table newest first (by rowid, the message id) stops at the tenth match.
        sql = (
            f"SELECT m.id FROM {table} f JOIN inbox_message m ON m.id = f.rowid "
            f"WHERE {table} MATCH %s AND m.project_id = %s{within} ORDER BY f.rowid DESC LIMIT %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [_fts5_phrase(text), project.pk, *params, MAX_RESULTS])
            ids = [row[0] for row in cursor.fetchall()]
    rows = Message.objects.filter(pk__in=ids).only("id", "received_at", field).order_by("-id")
    return [
        excerpt(
            "bodies" if field == "body" else "headers",
            row.pk,
            row.received_at,
            json.dumps(getattr(row, field), ensure_ascii=False),
            text,
        )
        for row in rows
    ]


def search_logs(project, text: str, span: Window) -> list[Hit]:
    """The newest runs with a matching log line, each shown with its newest matching line."""
    connection = connections[LogLine.objects.db]
    hits: dict[int, Hit] = {}
    below = None  # keyset: log line ids already looked at are above this
    while len(hits) < MAX_RESULTS:
        if connection.vendor == "postgresql":
            lines = LogLine.objects.filter(run__project=project).filter(Like("message", text))
            if span.since is not None:
                lines = lines.filter(run__created_at__gte=span.since)
            if span.until is not None:
                lines = lines.filter(run__created_at__lt=span.until)
            if below is not None:
                lines = lines.filter(id__lt=below)
            rows = list(
                lines.order_by("-id").values_list("id", "run_id", "run__created_at", "message")[
                    :LINES_PER_LOOK
                ]
            )
        else:
            within, params = _within("r.created_at", span, connection)
            keyset = " AND f.rowid < %s" if below is not None else ""
            sql = (
                "SELECT l.id, l.run_id, r.created_at, l.message FROM search_log_trgm f "
                "JOIN runs_logline l ON l.id = f.rowid JOIN runs_run r ON r.id = l.run_id "
                f"WHERE search_log_trgm MATCH %s AND r.project_id = %s{within}{keyset} "
                "ORDER BY f.rowid DESC LIMIT %s"
            )
            keyset_params = [below] if below is not None else []
            with connection.cursor() as cursor:
                cursor.execute(sql, [_fts5_phrase(text), project.pk, *params, *keyset_params, LINES_PER_LOOK])
                rows = [
                    (pk, run_id, _datetime(connection, created), message)
                    for pk, run_id, created, message in cursor.fetchall()
                ]
        for _line, run_id, created, message in rows:
            if run_id not in hits and len(hits) < MAX_RESULTS:
                hits[run_id] = excerpt("logs", run_id, created, message, text)
        if len(rows) < LINES_PER_LOOK:
            break
        below = rows[-1][0]
    return list(hits.values())


def _datetime(connection, value):
    converter = connection.ops.convert_datetimefield_value
    return converter(value, None, connection) if isinstance(value, str) else value
