import os
import sys
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from kindling.projects.microservice import add_options
from kindling.projects.portability import ProjectFileError
from kindling.projects.standalone import StandaloneError, install


class Command(BaseCommand):
    help = "Serve one project.yaml's inbox and run its jobs, on an embedded SQLite database."

    def add_arguments(self, parser):
        # The same options as kindling/cli.py read to choose the database.
        add_options(parser)

    def handle(self, *args, project_file, host, port, workers, data=None, **opts):
        if os.environ.get("DJANGO_SETTINGS_MODULE") != "kindling.projects.microservice_settings":
            raise CommandError("start it as `kindling microservice project.yaml`")
        path = Path(project_file)
        try:
            text = path.read_text()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None
        call_command("migrate", interactive=False, verbosity=0)
        try:
            project, imported = install(text, os.environ)
        except (ProjectFileError, StandaloneError) as exc:
            raise CommandError(f"{path}: {exc}") from None
        base = os.environ["KINDLING_BASE_URL"]
        if not imported:
            self.stdout.write(
                "Using the project already in this data directory (start with an empty "
                "--data directory to load a changed project.yaml)."
            )
        jobs = ", ".join(project.jobs.order_by("id").values_list("name", flat=True)) or "none"
        self.stdout.write(f"Kindling microservice: jobs {jobs}\nInbox: POST {base}/inbox", ending="\n")
        sys.stdout.flush()
        serve = [
            sys.executable,
            "-m",
            "kindling.cli",
            "serve",
            "--host",
            host,
            "--port",
            str(port),
            "--workers",
            str(workers),
        ]
        os.execv(sys.executable, serve)
