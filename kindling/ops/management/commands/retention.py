from django.core.management.base import BaseCommand, CommandError

from kindling.ops.retention import RetentionError, days_of, set_retention
from kindling.projects.models import Project


def describe(days) -> str:
    return "forever" if days is None else f"{days} day(s)"


class Command(BaseCommand):
    help = "Print, or set, how long a project keeps its messages and runs: a number of days, or forever."

    def add_arguments(self, parser):
        parser.add_argument("project", help="the project's slug")
        parser.add_argument("days", nargs="?", help="1 to 3650, or `forever`; print the setting without it")

    def handle(self, *args, project, days=None, **opts):
        found = Project.objects.filter(slug=project).first()
        if found is None:
            raise CommandError(f"No project with the slug {project!r}.")
        if days is not None:
            try:
                set_retention(found, days)
            except RetentionError as exc:
                raise CommandError(str(exc)) from None
        self.stdout.write(f"{found.slug} keeps its messages and runs {describe(days_of(found))}")
