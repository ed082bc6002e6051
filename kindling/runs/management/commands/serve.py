from django.core.management.base import BaseCommand

from kindling import serve


class Command(BaseCommand):
    help = serve.parser().description

    def run_from_argv(self, argv):
        # `kindling serve` itself never gets here (kindling/cli.py starts it without Django); this
        # keeps it in `kindling help` and reachable from Django's own manage.py entry points.
        serve.main(argv[2:])
