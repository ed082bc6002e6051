"""Exports: asked for in a request, built by the scheduler process, emailed as a link, deleted after
7 days. One mechanism for every kind; a kind is a builder in kindling.exports.registry."""

import logging
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from kindling.exports.models import Export
from kindling.exports.registry import BuildError, builder

log = logging.getLogger(__name__)


def exports_dir() -> Path:
    return Path(getattr(settings, "EXPORTS_DIR", settings.DATA_DIR / "exports"))


def request_export(project, requester, kind: str, params: dict | None = None) -> Export:
    """Queue an export of `project` for `requester`; KeyError for an unknown kind. The caller has
    checked that the requester may see the project."""
    builder(kind)
    return Export.objects.create(kind=kind, project=project, requester=requester, params=params or {})


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
        kind.build(export, path)
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
    export.finished_at, export.expires_at = now, now + Export.LIFETIME
    export.save(update_fields=["status", "file_path", "filename", "finished_at", "expires_at"])
    notify(export)
    return export


def notify(export: Export) -> None:
    kind = builder(export.kind)
    project = export.project
    if export.status == Export.Status.READY:
        expires = timezone.localtime(export.expires_at).strftime("%Y-%m-%d %H:%M %Z")
        subject = f"Your {kind.label} export of {project.name} is ready"
        body = (
            f"The {kind.label} export of {project.name} that you asked for is ready:\n\n"
            f"{settings.BASE_URL}{export.download_path}\n\n"
            f"Log in as {export.requester.email} to download it: the link works for you only, until "
            f"{expires}. After that the file is deleted; export again from Project Settings.\n"
        )
    else:
        subject = f"Your {kind.label} export of {project.name} failed"
        body = f"The {kind.label} export of {project.name} could not be built: {export.error}\n"
    send_mail(subject, body, None, [export.requester.email])


def build_next() -> Export | None:
    """One export built (or failed), or None when none is waiting: the scheduler calls it every pass."""
    export = take_next()
    return build(export) if export else None


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


def exports_pass(now: datetime | None = None) -> tuple[Export | None, list[int]]:
    return build_next(), expire(now)
