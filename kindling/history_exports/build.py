"""CSV exports of Activity (runs) and Inbox (messages): requested from the portal or the API, built in
the background by the scheduler's process, emailed to the requester as a link that works for 7 days.

The file is written row by row from a server-side cursor (PostgreSQL; SQLite reads in chunks), so
memory stays flat whatever the number of rows. Cells that a spreadsheet would read as a formula are
neutralised (lib/spreadsheet.py).
"""

import csv
import json
import logging
import secrets
import threading
from itertools import islice
from pathlib import Path

from django.conf import settings
from django.core.mail import send_mail
from django.db import connections, transaction
from django.urls import reverse
from django.utils import timezone

from kindling.history_exports.models import LINK_LIFETIME, Export
from kindling.inbox.filters import InboxFilters
from kindling.jobs.models import Trigger
from kindling.lib.spreadsheet import safe_row
from kindling.runs.filters import ActivityFilters
from kindling.runs.states import job_states_by_message
from kindling.runs.wording import describe_messages, describe_runs

log = logging.getLogger(__name__)

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


def export_dir() -> Path:
    folder = Path(settings.DATA_DIR) / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def request_export(project, user, kind: str, filters) -> Export:
    """Ask for a CSV of the runs (ActivityFilters) or messages (InboxFilters) the filters select."""
    describe = describe_runs if kind == Export.Kind.RUNS else describe_messages
    return Export.objects.create(
        kind=kind,
        project=project,
        requester=user,
        filters=filters.params(),
        description=describe(project, filters),
    )


def _iso(value) -> str:
    return value.isoformat() if value else ""


def run_rows(export: Export):
    filters = ActivityFilters.from_params(export.filters)
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
    filters = InboxFilters.from_params(export.filters)
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
    columns, rows = (
        (RUN_COLUMNS, run_rows(export))
        if export.kind == Export.Kind.RUNS
        else (MESSAGE_COLUMNS, message_rows(export))
    )
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(safe_row(row))
            count += 1
    return count


def claim_next() -> Export | None:
    """The oldest requested export, now ours to build (one conditional UPDATE: two builders never
    take the same one)."""
    for pk in (
        Export.objects.filter(status=Export.Status.PENDING).order_by("id").values_list("pk", flat=True)[:5]
    ):
        if Export.objects.filter(pk=pk, status=Export.Status.PENDING).update(status=Export.Status.BUILDING):
            return Export.objects.select_related("project", "requester").get(pk=pk)
    return None


def build(export: Export) -> Export:
    path = export_dir() / f"{export.pk}-{secrets.token_hex(8)}.csv"
    try:
        count = write_csv(export, path)
    except Exception as exc:
        log.exception("export %s failed", export.pk)
        path.unlink(missing_ok=True)
        export.status, export.error, export.finished_at = Export.Status.FAILED, str(exc), timezone.now()
        export.save(update_fields=["status", "error", "finished_at"])
        notify(export)
        return export
    now = timezone.now()
    export.status, export.file_path, export.row_count = Export.Status.READY, str(path), count
    export.finished_at, export.expires_at = now, now + LINK_LIFETIME
    export.save(update_fields=["status", "file_path", "row_count", "finished_at", "expires_at"])
    notify(export)
    return export


def download_url(export: Export) -> str:
    return settings.BASE_URL + reverse("history-export-download", args=[export.pk])


def notify(export: Export) -> None:
    noun = export.kind
    if export.status == Export.Status.READY:
        subject = f"[Kindling] {export.project.name}: your CSV export of {noun} is ready"
        body = (
            f"Your export of {export.row_count:,} {noun} ({export.description}) is ready:\n\n"
            f"{download_url(export)}\n\n"
            f"Log in as {export.requester.email} to download it. The link works until "
            f"{export.expires_at:%Y-%m-%d %H:%M} UTC; the file is deleted then."
        )
    else:
        subject = f"[Kindling] {export.project.name}: your CSV export of {noun} failed"
        body = f"The export of {export.description} could not be built: {export.error}\nPlease ask again."
    send_mail(subject, body, None, [export.requester.email], fail_silently=False)


def build_pending() -> int:
    """Build every requested export; how many."""
    built = 0
    while (export := claim_next()) is not None:
        build(export)
        built += 1
    return built


def delete_expired(now=None) -> int:
    """Delete the files of exports whose link has expired (7 days); how many."""
    now = now or timezone.now()
    expired = 0
    for export in Export.objects.filter(status=Export.Status.READY, expires_at__lte=now):
        Path(export.file_path).unlink(missing_ok=True)
        with transaction.atomic():
            expired += Export.objects.filter(pk=export.pk, status=Export.Status.READY).update(
                status=Export.Status.EXPIRED, file_path=""
            )
    return expired


_builder_lock = threading.Lock()
_builder: threading.Thread | None = None
_resumed = False


def background_pass() -> None:
    """From the scheduler's loop, every second: expire old files, and build requested exports in a
    thread of their own, so that a long export never holds cron back."""
    global _builder, _resumed
    delete_expired()
    with _builder_lock:
        if not _resumed:
            # One scheduler builds at a time: an export left `building` was cut short when the
            # previous one stopped; build it again.
            Export.objects.filter(status=Export.Status.BUILDING).update(status=Export.Status.PENDING)
            _resumed = True
        if _builder is not None and _builder.is_alive():
            return
        if not Export.objects.filter(status=Export.Status.PENDING).exists():
            return
        _builder = threading.Thread(target=_build_in_thread, name="history-exports", daemon=True)
        _builder.start()


def _build_in_thread() -> None:
    try:
        build_pending()
    except Exception:
        log.exception("building exports failed")
    finally:
        connections.close_all()  # this thread's own connections
