import signal
import time

from django.core.management.base import BaseCommand

from kindling.jobs.scheduler import fire_due


class Command(BaseCommand):
    help = "Fire cron triggers once per due minute until stopped."

    def handle(self, *args, **opts):
        stopping = False

        def stop(_signum, _frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write("scheduler started")
        while not stopping:
            for run in fire_due():
                self.stdout.write(f"cron: queued run {run.pk} of {run.job.name}")
            time.sleep(1)
        self.stdout.write("scheduler stopped")
