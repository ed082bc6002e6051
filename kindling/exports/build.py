"""Exports: asked for in a request, built by the scheduler process in a thread of its own, emailed as
a link, deleted after 7 days. One mechanism for every kind (project.yaml, microservice.zip, the CSVs of
Activity and Inbox); a kind is a builder in kindling.exports.registry."""

import logging
import threading
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.mail import send_mail
from django.db import connections, transaction
from django.utils import timezone

from kindling.exports.models import Export
from kindling.exports.registry import BuildError, builder

log = logging.getLogger(__name__)


def exports_dir() -> Path:
    return Path(getattr(settings, "EXPORTS_DIR", settings.DATA_DIR / "exports"))


def request_export(project, requester, kind: str, params: dict | None = None, description="") -> Export:
    """Queue an export of `project` for `requester`; KeyError for an unknown kind. The caller has
    checked that the requester may see the project."""
    builder(kind)
    return Export.objects.create(
        kind=kind, project=project, requester=requester, params=params or {}, description=description
    )


def take_next() -> Export | None:
    """Claim the oldest pending export with one conditional UPDATE, so that two scheduler processes
    never build the same one."""
    for pk in (
        Export.objects.filter(status=Export.Status.PENDING).order_by("id").values_list("pk", flat=True)[:5]
    ):
        if Export.objects.filter(pk=pk, status=Export.Status.PENDING).update(status=Export.Status.BUILDING):
            return Export.objects.select_related("project", "requester").get(pk=pk)
    return None


def build(export: Export) -> Export:
    kind = builder(export.kind)
    folder = exports_dir() / str(export.pk)
    folder.mkdir(parents=True, exist_ok=True)
    filename = kind.filename(export)
    path = folder / filename
    try:
        rows = kind.build(export, path)
    except Exception as exc:
        # The requester learns that it failed and why when it is ours to say; the log keeps the rest.
        log.exception("export %s (%s) failed", export.pk, export.kind)
        path.unlink(missing_ok=True)
        export.status = Export.Status.FAILED
        export.error = str(exc) if isinstance(exc, BuildError) else "The export could not be built."
        export.finished_at = timezone.now()
        export.save(update_fields=["status", "error", "finished_at"])
        notify(export)
        return export
    now = timezone.now()
    export.status = Export.Status.READY
    export.file_path, export.filename = str(path), filename
    export.row_count = rows if isinstance(rows, int) else None
    export.finished_at, export.expires_at = now, now + Export.LIFETIME
    export.save(update_fields=["status", "file_path", "filename", "row_count", "finished_at", "expires_at"])
    notify(export)
    return export


def download_url(export: Export) -> str:
    return f"{settings.BASE_URL}{export.download_path}"


def notify(export: Export) -> None:
    label = builder(export.kind).label
    project = export.project
    what = f"{label} ({export.description})" if export.description else label
    if export.status == Export.Status.READY:
        expires = timezone.localtime(export.expires_at).strftime("%Y-%m-%d %H:%M %Z")
        rows = f" of {export.row_count:,} rows" if export.row_count is not None else ""
        subject = f"[Kindling] {project.name}: your {label} export is ready"
        body = (
            f"The export{rows} of {project.name} that you asked for, {what}, is ready:\n\n"
            f"{download_url(export)}\n\n"
            f"Log in as {export.requester.email} to download it: the link works for you only, until "
            f"{expires}. After that the file is deleted; export again to get a new link.\n"
        )
    else:
        subject = f"[Kindling] {project.name}: your {label} export failed"
        body = f"The export of {project.name}, {what}, could not be built: {export.error}\nAsk again.\n"
    send_mail(subject, body, None, [export.requester.email])


def build_next() -> Export | None:
    """The oldest requested export built (or failed), or None when none is waiting."""
    export = take_next()
    return build(export) if export else None


def build_pending() -> int:
    """Build every requested export, oldest first; how many were built (or failed)."""
    built = 0
    while build_next() is not None:
        built += 1
    return built


def expire(now: datetime | None = None) -> list[int]:
    """Delete the files of exports past their 7 days; their links then answer that they expired."""
    now = now or timezone.now()
    done = []
    for export in Export.objects.filter(status=Export.Status.READY, expires_at__lte=now).order_by("id"):
        with transaction.atomic():
            if Export.objects.filter(pk=export.pk, status=Export.Status.READY).update(
                status=Export.Status.EXPIRED
            ):
                if export.file_path:
                    path = Path(export.file_path)
                    path.unlink(missing_ok=True)
                    try:
                        path.parent.rmdir()
                    except OSError:
                        pass
                done.append(export.pk)
    return done


_builder_lock = threading.Lock()
_builder: threading.Thread | None = None
_resumed = False


def background_pass(now: datetime | None = None) -> list[int]:
    """From the scheduler's loop, every second: expire old files, and build requested exports in a
    thread of their own, so that a long export never holds cron back. The ids expired."""
    global _builder, _resumed
    expired = expire(now)
    with _builder_lock:
        if not _resumed:
            # One scheduler builds at a time: an export left `building` was cut short when the
            # previous one stopped; build it again.
            Export.objects.filter(status=Export.Status.BUILDING).update(status=Export.Status.PENDING)
            _resumed = True
        if _builder is not None and _builder.is_alive():
            return expired
        if not Export.objects.filter(status=Export.Status.PENDING).exists():
            return expired
        _builder = threading.Thread(target=_build_in_thread, name="exports", daemon=True)
        _builder.start()
    return expired


def _build_in_thread() -> None:
    try:
        build_pending()
    except Exception:
        log.exception("building exports failed")
    finally:
        connections.close_all()  # this thread's own connections
