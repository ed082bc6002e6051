import logging
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from kindling.exports import build as exports
from kindling.jobs.scheduler import scheduler_pass
from kindling.ops import health
from kindling.ops.logs import say
from kindling.ops.retention import retention_pass
from kindling.runs.worker import worker_name
from kindling.stopping import StopOnSignal

log = logging.getLogger(__name__)

# Readiness (/readyz) looks for a scheduler that beat in the last minute.
heartbeat = health.Throttled("scheduler", worker_name())


def report(stdout, started, lost) -> None:
    for run in started:
        say(stdout, f"cron: queued run {run.pk} of {run.job.name}", run_id=run.pk, project_id=run.project_id)
    for run in lost:
        say(
            stdout,
            f"lost: run {run.pk} of {run.job.name} (worker {run.worker or '?'})",
            run_id=run.pk,
            project_id=run.project_id,
        )


def safe_pass(stdout) -> None:
    try:
        report(stdout, *scheduler_pass())
        exports.background_pass()  # exports build in a thread of their own
    except Exception:
        # A database restart must not end cron for good: log it and try again next second.
        log.exception("scheduler pass failed")
        close_old_connections()
    try:
        heartbeat()
        retention_pass()  # every minute: a project's messages and runs past its retention
    except Exception:
        log.exception("heartbeat or retention pass failed")
        close_old_connections()


class Command(BaseCommand):
    # No system checks: they import every URL (the API and its schemas) a worker never serves.
    requires_system_checks = []
    help = "Fire cron triggers once per due minute, and mark runs with an expired lease lost, until stopped."

    def handle(self, *args, **opts):
        stop = StopOnSignal()
        say(self.stdout, "scheduler started")
        while not stop.requested:
            safe_pass(self.stdout)
            time.sleep(1)
        say(self.stdout, "scheduler stopped")
