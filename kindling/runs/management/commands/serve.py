import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from kindling.runs.management.commands.scheduler import safe_pass


class Command(BaseCommand):
    help = "Start the portal (uvicorn) and the workers; run the scheduler (cron, janitor) in this process."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("KINDLING_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument("--workers", type=int, default=1, help="number of worker processes")
        parser.add_argument("--slots", type=int, default=settings.WORKER_SLOTS,
                            help="runs each worker process executes at once")
        parser.add_argument("--no-scheduler", action="store_true")

    def handle(self, *args, host, port, workers, slots, no_scheduler, **opts):
        python = sys.executable
        children = [
            subprocess.Popen([python, "-m", "uvicorn", "kindling.asgi:application", "--host", host,
                              "--port", str(port), "--no-access-log", "--lifespan", "off"]),
        ]
        children += [subprocess.Popen([python, "-m", "kindling.cli", "worker", "--slots", str(slots)])
                     for _ in range(workers)]
        self.stdout.write(f"Kindling is running at http://{host}:{port}/  (Ctrl+C stops it)")

        stopping = False

        def stop(_signum, _frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        # This process is the scheduler (cron and janitor): it has Django loaded anyway, and a process
        # of its own would cost another ~65 MB of resident memory.
        next_pass = time.monotonic()
        while not stopping and all(child.poll() is None for child in children):
            if not no_scheduler and time.monotonic() >= next_pass:
                safe_pass(self.stdout)
                next_pass = time.monotonic() + 1
            time.sleep(0.2)
        for child in children:
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + settings.RUN_TIMEOUT_SECONDS + 5
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
        failed = [c.args[2] if len(c.args) > 2 else c.args for c in children if c.returncode not in (0, -15)]
        if failed and not stopping:
            sys.exit(f"a Kindling process stopped unexpectedly: {failed}")
