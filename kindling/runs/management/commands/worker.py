import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from kindling.runs.worker import Worker


class Command(BaseCommand):
    help = "Execute queued runs until stopped (SIGTERM finishes the current runs, then exits)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="process what is queued, then exit")
        parser.add_argument(
            "--slots",
            type=int,
            default=settings.WORKER_SLOTS,
            help="runs this process executes at once (default %(default)s)",
        )

    def handle(self, *args, once=False, slots=None, **opts):
        if slots < 1:
            self.stderr.write("--slots must be at least 1")
            raise SystemExit(2)
        worker = Worker(slots=slots, on_run=self.report)

        def stop(_signum, _frame):
            worker.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"worker {worker.name} started with {worker.slots} slot(s)")
        worker.start(once=once)
        while not worker.wait(timeout=0.5):
            pass
        self.stdout.write(f"worker {worker.name} stopped")

    def report(self, run):
        self.stdout.write(f"run {run.pk} ({run.job.name}): {run.status}, exit {run.exit_code}")
