from cryptography.fernet import Fernet
from django.core.management.base import BaseCommand, CommandError

from kindling.credentials.rotation import RotationError, rotate


class Command(BaseCommand):
    help = "Credentials: `kindling credentials rotate-key` re-encrypts every body with a new key"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser(
            "rotate-key",
            help="re-encrypt every credential body with a new key; the old key decrypts until it ends",
        )
        sub.add_parser("new-key", help="print a new encryption key (for KINDLING_ENCRYPTION_KEY)")

    def handle(self, *args, action, **opts):
        if action == "new-key":
            self.stdout.write(Fernet.generate_key().decode())
            return
        try:
            done = rotate()
        except RotationError as exc:
            raise CommandError(str(exc)) from None
        if done.source == "file":
            self.stdout.write(
                f"Re-encrypted {done.reencrypted} credential bodies and inbox secrets with a new key; "
                "the key file now holds only the new key."
            )
        else:
            self.stdout.write(
                f"Re-encrypted {done.reencrypted} credential bodies and inbox secrets with the first key of "
                "KINDLING_ENCRYPTION_KEY; now remove the other keys from it on every process."
            )
