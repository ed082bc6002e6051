import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kindling.accounts.models import User
from kindling.projects.portability import ProjectFileError, import_project


class Command(BaseCommand):
    help = "Projects: `kindling project import FILE --name NAME --owner EMAIL`"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="create a project from a project.yaml (v2 format)")
        imp.add_argument("file")
        imp.add_argument("--name", required=True)
        imp.add_argument("--owner", required=True, help="email of the owner")

    def handle(self, *args, action, **opts):
        owner = User.objects.filter(email__iexact=opts["owner"]).first()
        if owner is None:
            raise CommandError(f"no user with email {opts['owner']}")
        path = Path(opts["file"])
        try:
            text = path.read_text()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None
        try:
            project = import_project(text, opts["name"], owner)
        except ProjectFileError as exc:
            raise CommandError(f"{path}: {exc}") from None
        jobs = list(project.jobs.order_by("id").values_list("name", flat=True))
        self.stdout.write(json.dumps({"project": project.slug, "inbox_url": project.inbox_url, "jobs": jobs}))
