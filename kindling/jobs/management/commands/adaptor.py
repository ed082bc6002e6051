"""`kindling adaptor install NAME[@VERSION]` and `kindling adaptor list`: the adaptor repository that
runs link against (the same one the workers use)."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from kindling import engine
from kindling.engine.adaptors import expand_shorthand

# The exit code of a run that cannot start because its adaptor cannot be installed.
FAILED_TO_START = int(engine.ExitCode.FAILED_TO_START)


class Command(BaseCommand):
    help = "Install adaptor versions into the adaptor repository, or list the installed ones."
    requires_system_checks = []
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument("--adaptor-dir", default=str(settings.ADAPTOR_REPO_DIR))
        sub = parser.add_subparsers(dest="action", required=True)
        install = sub.add_parser("install", help="install NAME[@VERSION] (latest without a version)")
        install.add_argument("adaptor", help="@openfn/language-http@7.2.10, http@7.2.10, http")
        sub.add_parser("list", help="print every installed adaptor version, one per line")

    def handle(self, *args, action, adaptor_dir, **opts):
        repo = Path(adaptor_dir)
        if action == "list":
            for name, version in engine.list_installed(repo):
                self.stdout.write(f"{name}@{version}")
            return
        try:
            spec = expand_shorthand(opts["adaptor"])
            name, version = engine.ensure_adaptor(spec, repo, note=lambda _, text: self.stderr.write(text))
        except engine.AdaptorUnavailable as exc:
            self.stderr.write(str(exc))
            for reason in exc.details:
                self.stderr.write(reason)
            raise SystemExit(FAILED_TO_START) from None
        self.stdout.write(f"{name}@{version}")
