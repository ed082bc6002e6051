import logging
import signal
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from kindling.jobs.scheduler import scheduler_pass

log = logging.getLogger(__name__)


def report(stdout, started, lost) -> None:
    for run in started:
        stdout.write(f"cron: queued run {run.pk} of {run.job.name}")
    for run in lost:
        stdout.write(f"lost: run {run.pk} of {run.job.name} (worker {run.worker or '?'})")


def safe_pass(stdout) -> None:
    try:
        report(stdout, *scheduler_pass())
    except Exception:
        # A database restart must not end cron for good: log it and try again next second.
        log.exception("scheduler pass failed")
        close_old_connections()


class Command(BaseCommand):
    help = "Fire cron triggers once per due minute, and mark runs with an expired lease lost, until stopped."

    def handle(self, *args, **opts):
        stopping = False

        def stop(_signum, _frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write("scheduler started")
        while not stopping:
            safe_pass(self.stdout)
            time.sleep(1)
        self.stdout.write("scheduler stopped")
