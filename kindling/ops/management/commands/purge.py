from django.core.management.base import BaseCommand, CommandError

from kindling.audit.log import record
from kindling.ops.retention import RetentionError, count, parse_before, purge
from kindling.projects.models import Project


class Command(BaseCommand):
    help = (
        "Delete a project's messages and runs (with their logs and states) from before a date, as data "
        "retention does: never runs still pending or running, nor the messages they belong to."
    )

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True, help="the project's slug")
        parser.add_argument(
            "--before", required=True, help="a date (2026-01-31: midnight UTC) or ISO date and time"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="print what would be deleted, delete nothing"
        )

    def handle(self, *args, project, before, dry_run=False, **opts):
        found = Project.objects.filter(slug=project).first()
        if found is None:
            raise CommandError(f"No project with the slug {project!r}.")
        try:
            moment = parse_before(before)
        except RetentionError as exc:
            raise CommandError(str(exc)) from None
        if dry_run:
            self.stdout.write(
                f"would delete {count(found, moment)} of {found.slug} from before {moment.isoformat()}"
            )
            return
        done = purge(found, moment)
        if done.runs or done.messages:
            record(
                found,
                None,
                "data.purged",
                f"before {moment.isoformat()}",
                messages=done.messages,
                runs=done.runs,
                log_lines=done.log_lines,
            )
        self.stdout.write(f"deleted {done} of {found.slug} from before {moment.isoformat()}")
