from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kindling.ops.backup import BackupError, restore


class Command(BaseCommand):
    requires_system_checks = []
    help = (
        "Put a backup made by `kindling backup` in place of this instance's database and keys. Stop "
        "Kindling first; then run `kindling migrate` if this Kindling is newer than the backup's."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="a backup made by `kindling backup`")
        parser.add_argument(
            "--force", action="store_true", help="replace a database that holds projects, and differing keys"
        )

    def handle(self, *args, file, force=False, **opts):
        try:
            manifest = restore(Path(file), force=force)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        keys = ", ".join(manifest["keys"]) or "no key file"
        self.stdout.write(f"restored the database of {manifest['created_at']} and {keys}")
        if manifest.get("encryption_key_from_environment"):
            self.stdout.write("Set KINDLING_ENCRYPTION_KEY to the key this backup was made with.")
        self.stdout.write("Next: `kindling migrate`, then start Kindling.")
