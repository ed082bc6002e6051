import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from kindling.runs.janitor import mark_lost_runs


class Command(BaseCommand):
    help = "Mark runs whose worker stopped renewing its lease as lost (exit 4) and start their catch runs."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="look once, then exit")

    def handle(self, *args, once=False, **opts):
        stopping = False

        def stop(_signum, _frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        # A lease is renewed every third of its length: looking as often finds a lost run soon enough.
        interval = settings.RUN_LEASE_SECONDS / 3
        while not stopping:
            for run in mark_lost_runs():
                self.stdout.write(f"lost: run {run.pk} of {run.job.name} (worker {run.worker or '?'})")
            if once:
                break
            deadline = time.monotonic() + interval
            while not stopping and time.monotonic() < deadline:
                time.sleep(0.2)
