"""CSV exports of Activity (runs) and Inbox (messages): two kinds of export (kindling/exports/build.py
builds, emails and expires every kind), requested from the portal or the API with the list's filters.

The file is written row by row from a server-side cursor (PostgreSQL; SQLite reads in chunks), so
memory stays flat whatever the number of rows. Cells that a spreadsheet would read as a formula are
neutralised (lib/spreadsheet.py).
"""

import csv
import json
from itertools import islice
from pathlib import Path

from kindling.exports.build import request_export
from kindling.exports.models import Export
from kindling.exports.registry import register
from kindling.inbox.filters import InboxFilters
from kindling.jobs.models import Trigger
from kindling.lib.spreadsheet import safe_row
from kindling.runs.filters import ActivityFilters
from kindling.runs.states import job_states_by_message
from kindling.runs.wording import describe_messages, describe_runs

# column -> what it is read from (duration is computed)
RUN_FIELDS = {
    "id": "id", "job": "job__name", "trigger": "job__trigger__name", "cause": "cause", "status": "status",
    "exit_code": "exit_code", "created_at": "created_at", "started_at": "started_at",
    "finished_at": "finished_at", "duration_seconds": None, "message_id": "message_id",
}  # fmt: skip
RUN_COLUMNS = list(RUN_FIELDS)
MESSAGE_COLUMNS = ["id", "received_at", "trigger_matches", "run_states", "headers", "body"]
# Rows read per round trip; a message chunk also gets its run states in one query.
CHUNK = 2_000
MESSAGE_CHUNK = 500


RUNS, MESSAGES = "runs", "messages"


def request_csv(project, user, kind: str, filters) -> Export:
    """Ask for a CSV of the runs (ActivityFilters) or messages (InboxFilters) the filters select."""
    describe = describe_runs if kind == RUNS else describe_messages
    return request_export(
        project, user, kind, {"filters": filters.params()}, description=describe(project, filters)
    )


def _iso(value) -> str:
    return value.isoformat() if value else ""


def run_rows(export: Export):
    filters = ActivityFilters.from_params(export.params["filters"])
    runs = filters.runs(export.project, now=export.created_at).order_by("-created_at", "-id")
    fields = [field for field in RUN_FIELDS.values() if field]
    for pk, job, trigger, cause, status, code, created, started, finished, message in runs.values_list(
        *fields
    ).iterator(chunk_size=CHUNK):
        duration = f"{(finished - started).total_seconds():.3f}" if started and finished else ""
        yield [
            pk,
            job,
            trigger or "",
            cause,
            status,
            "" if code is None else code,
            _iso(created),
            _iso(started),
            _iso(finished),
            duration,
            message or "",
        ]


def message_rows(export: Export):
    project = export.project
    filters = InboxFilters.from_params(export.params["filters"])
    messages = filters.messages(project, now=export.created_at).order_by("-received_at", "-id")
    triggers = list(Trigger.objects.filter(project=project, kind=Trigger.Kind.MESSAGE).order_by("name"))
    job_names = dict(project.jobs.values_list("pk", "name"))
    rows = messages.values_list("id", "received_at", "headers", "body").iterator(chunk_size=MESSAGE_CHUNK)
    while chunk := list(islice(rows, MESSAGE_CHUNK)):
        states = job_states_by_message([row[0] for row in chunk])
        for pk, received, headers, body in chunk:
            matches = "; ".join(trigger.name for trigger in triggers if trigger.matches(body))
            run_states = "; ".join(
                sorted(f"{job_names.get(job, '?')}: {status}" for job, status in states[pk].items())
            )
            yield [
                pk,
                _iso(received),
                matches,
                run_states,
                json.dumps(headers, ensure_ascii=False),
                json.dumps(body, ensure_ascii=False),
            ]


def write_csv(export: Export, path: Path) -> int:
    """The file, row by row; its number of rows."""
    columns, rows = (
        (RUN_COLUMNS, run_rows(export)) if export.kind == RUNS else (MESSAGE_COLUMNS, message_rows(export))
    )
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(safe_row(row))
            count += 1
    return count


for _kind in (RUNS, MESSAGES):
    register(
        _kind,
        label=f"CSV of {_kind}",
        filename=lambda export: f"{export.project.slug}-{export.kind}-{export.pk}.csv",
        content_type="text/csv; charset=utf-8",
        build=write_csv,
    )
