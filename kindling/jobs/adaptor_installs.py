"""Installing an adaptor version from npm on request (Job Studio's "install another version"), in the
background, with its progress kept in an `AdaptorInstall` row that the page polls.

The install itself is the engine's `ensure_adaptor`, which runs use too: the same file lock, the same
repository layout, so a version installed here is the one the next run finds.
"""

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.db import connection
from django.utils import timezone

from kindling.engine.adaptors import NPM_TIMEOUT_SECONDS, AdaptorUnavailable, ensure_adaptor, parse_adaptor
from kindling.jobs.models import AdaptorInstall

# An install that has been "running" this long belonged to a web process that stopped meanwhile: it
# looks the version up and installs it, each step bounded by npm's timeout.
STALE_AFTER = timedelta(seconds=2 * NPM_TIMEOUT_SECONDS + 60)
STOPPED_NOTE = "The install stopped without finishing (the web process that ran it ended). Try again."
# Installs of different versions running at once, on the whole Kindling: each is an npm process (they
# take turns on the repository's lock), and a member asking for one more is told to wait.
MAX_RUNNING = 4


class InstallRefused(ValueError):
    pass


class InstallBusy(Exception):
    """MAX_RUNNING installs are going: the caller answers 429."""


def clean_spec(name: str, version: str) -> tuple[str, str]:
    """(name, version) as typed, checked; the shorthand "http" stands for "@openfn/language-http"."""
    name = (name or "").strip()
    version = (version or "").strip() or "latest"
    if not name:
        raise InstallRefused("Type the adaptor's name, like @openfn/language-http.")
    if not name.startswith("@") and "/" not in name:
        name = f"@openfn/language-{name.removeprefix('language-')}"
    try:
        parse_adaptor(f"{name}@{version}")
    except AdaptorUnavailable as exc:
        raise InstallRefused(str(exc)) from None
    for what, value in (("adaptor", name), ("version", version)):
        longest = AdaptorInstall._meta.get_field(what).max_length
        if len(value) > longest:  # the shorthand grows a name by 17 characters
            raise InstallRefused(f"The {what} {value[:40]}… is longer than {longest} characters.")
    return name, version


def expire_if_stale(install: AdaptorInstall) -> AdaptorInstall:
    if install.status == AdaptorInstall.Status.RUNNING and timezone.now() - install.created_at > STALE_AFTER:
        ended = AdaptorInstall.objects.filter(pk=install.pk, status=AdaptorInstall.Status.RUNNING).update(
            status=AdaptorInstall.Status.FAILED, error=STOPPED_NOTE, finished_at=timezone.now()
        )
        if ended:
            install.refresh_from_db()
    return install


def start_install(name: str, version: str, repo_dir: Path, user=None) -> AdaptorInstall:
    """Queue the install of `name@version` and start it in a thread; an install of the same version
    that is still going is answered instead of starting a second one. Raises InstallRefused (not an
    adaptor version) or InstallBusy (MAX_RUNNING others are going)."""
    name, version = clean_spec(name, version)
    going = [
        install
        for install in AdaptorInstall.objects.filter(status=AdaptorInstall.Status.RUNNING).order_by("pk")
        if expire_if_stale(install).status == AdaptorInstall.Status.RUNNING
    ]
    for running in going:
        if (running.adaptor, running.version) == (name, version):
            return running
    if len(going) >= MAX_RUNNING:
        raise InstallBusy(
            f"{len(going)} adaptor installs are going: try again when one has ended "
            f"(at most {MAX_RUNNING} at once)."
        )
    install = AdaptorInstall.objects.create(adaptor=name, version=version, requested_by=user)
    threading.Thread(
        target=run_install,
        args=(install.pk, Path(repo_dir)),
        name=f"adaptor-install-{install.pk}",
        daemon=True,
    ).start()
    return install


def run_install(install_id: int, repo_dir: Path) -> AdaptorInstall:
    """Install and record the outcome; the body of the background thread (tests call it directly)."""
    install = AdaptorInstall.objects.get(pk=install_id)
    notes: list[dict] = []

    def note(level: str, message: str) -> None:
        notes.append({"time": datetime.now(UTC).isoformat(), "level": level, "message": message})
        AdaptorInstall.objects.filter(pk=install_id).update(notes=notes)

    try:
        note("info", f"Looking for {install.adaptor}@{install.version} in the adaptor repository")
        name, exact = ensure_adaptor(f"{install.adaptor}@{install.version}", repo_dir, note=note)
    except AdaptorUnavailable as exc:
        outcome = {"status": AdaptorInstall.Status.FAILED, "error": str(exc), "details": exc.details}
    except Exception as exc:  # a bug or a broken machine: the page must still learn that it ended
        outcome = {
            "status": AdaptorInstall.Status.FAILED,
            "error": f"The install failed: {exc}",
            "details": [],
        }
    else:
        note("info", f"{name}@{exact} is installed")
        outcome = {"status": AdaptorInstall.Status.DONE, "installed_version": exact}
    AdaptorInstall.objects.filter(pk=install_id).update(notes=notes, finished_at=timezone.now(), **outcome)
    install.refresh_from_db()
    if threading.current_thread() is not threading.main_thread():
        connection.close()  # this thread's own connection: nobody else would ever close it
    return install


def describe(install: AdaptorInstall) -> dict:
    install = expire_if_stale(install)
    return {
        "id": install.pk,
        "adaptor": install.adaptor,
        "version": install.version,
        "installed_version": install.installed_version,
        "status": install.status,
        "notes": install.notes,
        "error": install.error,
        "details": install.details,
    }
