import logging
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from kindling.exports import build as exports
from kindling.jobs.scheduler import scheduler_pass
from kindling.ops import health
from kindling.ops.logs import say
from kindling.ops.retention import retention_pass
from kindling.runs.alerts import send_failure_alerts
from kindling.runs.worker import worker_name
from kindling.stopping import StopOnSignal
from kindling.vcs.commits import retry_pending

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
    guarded(lambda: report(stdout, *scheduler_pass()), "scheduler pass")
    guarded(exports.background_pass, "exports pass")  # exports build in a thread of their own
    guarded(heartbeat, "heartbeat")
    guarded(retention_pass, "retention pass")  # every minute: messages and runs past their retention
    guarded(lambda: push_waiting_commits(stdout), "git push retry")
    guarded(lambda: email_failure_alerts(stdout), "failure alerts pass")


def push_waiting_commits(stdout) -> None:
    for outbound in retry_pending():  # commits of linked jobs whose push failed before
        stdout.write(f"git: pushed {outbound.path} of project {outbound.project_id}")


def email_failure_alerts(stdout) -> None:
    for alert in send_failure_alerts():
        stdout.write(f"alert: failures of job {alert.job.name} emailed")


def guarded(task, name: str) -> None:
    """One task of the pass: its failure (a database restart, say) is logged and stops neither the
    others nor the next pass."""
    try:
        task()
    except Exception:
        log.exception("%s failed", name)
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
        say(self.stdout, "scheduler started")
        while not stop.requested:
            safe_pass(self.stdout)
            time.sleep(1)
        say(self.stdout, "scheduler stopped")
