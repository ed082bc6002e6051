"""`kindling backup FILE` and `kindling restore FILE`: an embedded (SQLite) instance in one file.

The file is a gzipped tar archive, readable by its owner only, holding:
- kindling.sqlite3: a consistent copy made with SQLite's online backup API while Kindling runs (one
  read transaction: in WAL mode the inbox and the workers keep writing meanwhile, and the copy is the
  database as it was at one instant);
- encryption.key: the key that encrypts credential bodies (without it they cannot be read again), and
  secret_key (sessions, tokens of password recovery), when they are files of the data directory;
- manifest.json: what is in it, and whether the encryption key came from KINDLING_ENCRYPTION_KEY
  (then it is not in the archive: keep the key with the backup yourself).

PostgreSQL is backed up with pg_dump, not here (README, "Backups").
"""

import io
import json
import os
import sqlite3
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import connections

from kindling.credentials import crypto

FORMAT = 1
DATABASE = "kindling.sqlite3"
KEY_FILES = (crypto.KEY_FILE_NAME, "secret_key")
POSTGRES_NOTE = (
    "Kindling runs on PostgreSQL here: back it up with pg_dump and keep the encryption key with the "
    "dump (README, Backups)."
)


class BackupError(Exception):
    pass


def database_path() -> Path:
    connection = connections["default"]
    if connection.vendor != "sqlite":
        raise BackupError(POSTGRES_NOTE)
    return Path(connection.settings_dict["NAME"])


def backup(destination: Path) -> dict:
    """Write the archive to `destination`; returns its manifest."""
    source = database_path()
    if not source.exists():
        raise BackupError(f"There is no database at {source}: nothing to back up.")
    destination = Path(destination)
    with tempfile.TemporaryDirectory(dir=destination.parent if destination.parent.exists() else None) as work:
        copy = Path(work) / DATABASE
        copy_database(source, copy)
        manifest = {
            "format": FORMAT,
            "created_at": datetime.now(UTC).isoformat(),
            "database": DATABASE,
            "keys": [name for name in KEY_FILES if (settings.DATA_DIR / name).exists()],
            "encryption_key_from_environment": bool(crypto.keys_from_env()),
        }
        partial = Path(work) / "archive.tar.gz"
        with tarfile.open(partial, "w:gz") as archive:
            data = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size, info.mode = len(data), 0o600
            archive.addfile(info, io.BytesIO(data))
            archive.add(copy, DATABASE)
            for name in manifest["keys"]:
                archive.add(settings.DATA_DIR / name, name)
        partial.chmod(0o600)  # it holds the keys
        os.replace(partial, destination)
    return manifest


def copy_database(source: Path, target: Path) -> None:
    # pages=-1: the whole database in one step, inside one read transaction, so that writes made
    # meanwhile by other processes neither restart the copy nor end up half in it.
    reading, copy = sqlite3.connect(source, timeout=30), sqlite3.connect(target)
    try:
        reading.backup(copy, pages=-1)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        problem = copy.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        reading.close()
        copy.close()
    if problem != "ok":
        raise BackupError(f"The copy of the database failed SQLite's integrity check: {problem}")


def read_manifest(archive: tarfile.TarFile) -> dict:
    try:
        manifest = json.loads(archive.extractfile("manifest.json").read())
    except (KeyError, AttributeError, ValueError):
        raise BackupError("This is not a Kindling backup: it has no readable manifest.json.") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(
            f"This backup has format {manifest.get('format')!r}; this Kindling reads format {FORMAT}."
        )
    return manifest


def restore(source: Path, *, force: bool = False) -> dict:
    """Put a backup's database and keys in place of this instance's (which must be stopped)."""
    target = database_path()
    try:
        archive = tarfile.open(source, "r:gz")
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"Cannot read {source}: {exc}") from None
    with archive, tempfile.TemporaryDirectory(dir=target.parent) as work:
        manifest = read_manifest(archive)
        names = {DATABASE, *manifest.get("keys", [])}
        members = [m for m in archive.getmembers() if m.name in names and m.isfile()]
        if DATABASE not in {m.name for m in members}:
            raise BackupError("This backup holds no database.")
        for member in members:
            archive.extract(member, work, filter="data")
        check_target(target, force)
        connections.close_all()
        for suffix in ("-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(Path(work) / DATABASE, target)
        for name in manifest.get("keys", []):
            key = settings.DATA_DIR / name
            os.replace(Path(work) / name, key)
            key.chmod(0o600)
    return manifest


def check_target(target: Path, force: bool) -> None:
    # Only a database with projects is refused: a fresh instance's keys (made on its first start)
    # encrypt nothing yet, and are replaced by the backup's.
    if not force and target.exists() and target.stat().st_size > 0 and holds_data(target):
        raise BackupError(
            f"{target} already holds a Kindling database. Stop Kindling, and restore with --force to "
            "replace it and its keys (its data is lost), or restore into an empty KINDLING_DATA_DIR."
        )


def holds_data(path: Path) -> bool:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            found = db.execute(
                "SELECT count(*) FROM sqlite_master WHERE name = 'projects_project'"
            ).fetchone()[0]
            return bool(found) and db.execute("SELECT count(*) FROM projects_project").fetchone()[0] > 0
    except sqlite3.Error:
        return True  # unreadable: not ours to overwrite without --force
