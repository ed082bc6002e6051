import logging
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from kindling.exports.build import exports_pass
from kindling.history_exports import build as exports
from kindling.jobs.scheduler import scheduler_pass
from kindling.runs.alerts import send_failure_alerts
from kindling.stopping import StopOnSignal

log = logging.getLogger(__name__)


def report(stdout, started, lost) -> None:
    for run in started:
        stdout.write(f"cron: queued run {run.pk} of {run.job.name}")
    for run in lost:
        stdout.write(f"lost: run {run.pk} of {run.job.name} (worker {run.worker or '?'})")


def safe_pass(stdout) -> None:
    try:
        report(stdout, *scheduler_pass())
        exports.background_pass()  # CSV exports build in a thread of their own
    except Exception:
        # A database restart must not end cron for good: log it and try again next second.
        log.exception("scheduler pass failed")
        close_old_connections()
    try:
        for alert in send_failure_alerts():
            stdout.write(f"alert: failures of job {alert.job.name} emailed")
    except Exception:
        log.exception("failure alerts pass failed")
        close_old_connections()
    try:
        built, expired = exports_pass()
        if built:
            stdout.write(f"export: {built.kind} of project {built.project_id} {built.status}")
    except Exception:
        log.exception("exports pass failed")
        close_old_connections()


class Command(BaseCommand):
    # No system checks: they import every URL (the API and its schemas) a worker never serves.
    requires_system_checks = []
    help = (
        "Fire cron triggers once per due minute, mark runs with an expired lease lost, and send failure "
        "alerts, until stopped."
    )

    def handle(self, *args, **opts):
        stop = StopOnSignal()
        self.stdout.write("scheduler started")
        while not stop.requested:
            safe_pass(self.stdout)
            time.sleep(1)
        self.stdout.write("scheduler stopped")
