from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kindling.ops.backup import BackupError, backup


class Command(BaseCommand):
    requires_system_checks = []
    help = (
        "Copy the embedded SQLite database (consistently, while Kindling runs) and the keys a restore "
        "needs into FILE (a .tar.gz readable by you only). PostgreSQL: use pg_dump (README, Backups)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="where to write the backup, e.g. kindling-2026-01-31.tar.gz")

    def handle(self, *args, file, **opts):
        try:
            manifest = backup(Path(file))
        except (BackupError, OSError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"backed up the database and {', '.join(manifest['keys']) or 'no key file'} to {file}"
        )
        if manifest["encryption_key_from_environment"]:
            self.stdout.write(
                "The encryption key comes from KINDLING_ENCRYPTION_KEY and is not in the backup: "
                "keep the key with the backup."
            )
