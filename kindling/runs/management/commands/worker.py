import threading

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection

from kindling.runs.management.commands.scheduler import safe_pass
from kindling.runs.worker import Worker
from kindling.stopping import StopOnSignal


class Command(BaseCommand):
    # No system checks: they import every URL (the API and its schemas) a worker never serves.
    requires_system_checks = []
    help = "Execute queued runs until stopped (SIGTERM finishes the current runs, then exits)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="process what is queued, then exit")
        parser.add_argument(
            "--slots",
            type=int,
            default=settings.WORKER_SLOTS,
            help="runs this process executes at once (default %(default)s)",
        )
        parser.add_argument(
            "--scheduler",
            action="store_true",
            help="also run the scheduler (cron, janitor) in a thread, as serve's first worker does",
        )

    def handle(self, *args, once=False, slots=None, scheduler=False, **opts):
        if slots < 1:
            self.stderr.write("--slots must be at least 1")
            raise SystemExit(2)
        worker = Worker(slots=slots, on_run=self.report)
        StopOnSignal(on_stop=worker.stop)
        self.stdout.write(f"worker {worker.name} started with {worker.slots} slot(s)")
        worker.start(once=once)
        if scheduler:
            threading.Thread(target=self.schedule, args=(worker,), name="scheduler", daemon=True).start()
        while not worker.wait(timeout=0.5):
            pass
        self.stdout.write(f"worker {worker.name} stopped")

    def schedule(self, worker: Worker) -> None:
        """A scheduler pass every second until the worker is asked to stop."""
        try:
            while not worker.stopping.is_set():
                safe_pass(self.stdout)
                worker.stopping.wait(1)
        finally:
            connection.close()

    def report(self, run):
        self.stdout.write(f"run {run.pk} ({run.job.name}): {run.status}, exit {run.exit_code}")
