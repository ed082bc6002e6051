import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from kindling.runs.worker import process_one, worker_name


class Command(BaseCommand):
    help = "Execute queued runs until stopped (SIGTERM finishes the current run, then exits)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="process what is queued, then exit")

    def handle(self, *args, once=False, **opts):
        stopping = False

        def stop(_signum, _frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        name = worker_name()
        self.stdout.write(f"worker {name} started")
        while not stopping:
            run = process_one(name)
            if run is not None:
                self.stdout.write(f"run {run.pk} ({run.job.name}): {run.status}, exit {run.exit_code}")
                continue
            if once:
                break
            time.sleep(settings.WORKER_POLL_SECONDS)
        self.stdout.write(f"worker {name} stopped")
