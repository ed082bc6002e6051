import os
import threading

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection

from kindling.engine import sandbox
from kindling.ops import health, metrics
from kindling.ops.logs import say
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
        self.check_sandbox()
        worker = Worker(slots=slots, on_run=self.report)
        StopOnSignal(on_stop=worker.stop)
        say(self.stdout, f"worker {worker.name} started with {worker.slots} slot(s)")
        worker.start(once=once)
        # Readiness (/readyz) and the pool's gauges: one thread beating for this process.
        beating = health.Beating("worker", worker.name, on_beat=metrics.observe_pool).start()
        if settings.METRICS_PORT:
            metrics.serve_worker_metrics(settings.METRICS_PORT, settings.METRICS_ADDRESS)
        if scheduler:
            threading.Thread(target=self.schedule, args=(worker,), name="scheduler", daemon=True).start()
        while not worker.wait(timeout=0.5):
            pass
        beating.stop()
        metrics.process_exited(os.getpid())
        say(self.stdout, f"worker {worker.name} stopped")

    def check_sandbox(self) -> None:
        """Job code is untrusted: without its sandbox, refuse to start unless the operator said that
        every job author is trusted."""
        try:
            sandbox.configured_network()
        except sandbox.SandboxError as exc:
            self.stderr.write(f"kindling worker: {exc}")
            raise SystemExit(2) from exc
        reason = sandbox.unavailable_reason()
        if reason is None:
            return
        if not sandbox.unsandboxed_allowed():
            self.stderr.write(
                f"kindling worker: job code cannot be sandboxed on this machine: {reason}. Install "
                "bubblewrap and slirp4netns (`make setup` does on Debian), or set "
                f"{sandbox.NO_SANDBOX_ENV}=1 "
                "if you trust every job author with this machine, its database and its keys."
            )
            raise SystemExit(2)
        opted_out = f"{sandbox.NO_SANDBOX_ENV} is set"
        self.stderr.write(f"WARNING: jobs run WITHOUT the OS sandbox ({reason}); {opted_out}")

    def schedule(self, worker: Worker) -> None:
        """A scheduler pass every second until the worker is asked to stop."""
        try:
            while not worker.stopping.is_set():
                safe_pass(self.stdout)
                worker.stopping.wait(1)
        finally:
            connection.close()

    def report(self, run):
        say(
            self.stdout,
            f"run {run.pk} ({run.job.name}): {run.status}, exit {run.exit_code}",
            run_id=run.pk,
            project_id=run.project_id,
        )
