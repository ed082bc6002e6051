"""The per-run cycle of a worker (claim, spec, execute, finish, next claim), measured in-process.

    .venv/bin/python bench/runcycle.py                      # SQLite, in a temporary data dir
    .venv/bin/python bench/runcycle.py --database-url postgres://user@host:5432/kindling_bench

A `Worker` as `kindling serve` starts it (4 slots, the engine's warm pool and its sandbox) runs in
this process and works through a backlog of trivial runs (`fn(state => state)`, language-common,
each started by a message, as the inbox starts them) of one project, at concurrency 1 and then 4.
For each, it prints:

- runs finished per second and the wall time per run (from the backlog's commit to its last run's
  end: claim, spec, execute, finish and next claim together);
- the database round trips per run of the worker's threads (slots, lease keeper, log writer): every
  statement they send (counted with Django's `execute_wrapper` on each connection they open) plus
  the transactions' COMMITs and ROLLBACKs and, on PostgreSQL, their BEGINs (psycopg sends each as
  a statement of its own; SQLite's `BEGIN IMMEDIATE` is one of the statements already counted).
  Unlike a rate, this count does not move with the machine's load. On SQLite it also prints the
  reads of `PRAGMA data_version` by the worker's commit watch (runs/commits.py: every 10 ms while
  a slot waits for work, and twice per run that claims its project's next run), which read SQLite's
  shared memory in this process and are not statements of the run;
- CPU time per run, by kind of process (this Python process, the Node processes, bubblewrap), which
  hardly moves with the load either;
- the most Node processes alive at once and the tree's peak resident memory (PSS).

Everything it writes on disk is under one temporary root, deleted at the end.
"""

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import floors  # noqa: E402
from bench.memory import MemorySampler  # noqa: E402
from bench.pipeline import setup_database  # noqa: E402

WORKER_THREADS = ("slot-", "lease-keeper", "log-writer")


class RoundTrips:
    """Counts what the worker's threads send to the database, per connection they open."""

    def __init__(self, vendor: str):
        self.vendor = vendor
        self.counts: Counter = Counter()
        self.statements: Counter = Counter()  # by their first words, for --statements
        self.lock = threading.Lock()

    def add(self, kind: str, n: int = 1) -> None:
        with self.lock:
            self.counts[kind] += n

    def reset(self) -> None:
        with self.lock:
            self.counts.clear()
            self.statements.clear()

    def total(self) -> int:
        return sum(self.counts.values())

    def watch(self, sender, connection, **kwargs) -> None:
        if not threading.current_thread().name.startswith(WORKER_THREADS):
            return

        def statement(execute, sql, params, many, context):
            self.add("statements")
            with self.lock:
                self.statements[" ".join(sql.split())[:90]] += 1
            return execute(sql, params, many, context)

        connection.execute_wrappers.append(statement)
        for name in ("_commit", "_rollback"):
            original = getattr(connection, name)

            def ended(original=original, name=name):
                self.add(name[1:] + "s")
                if self.vendor == "postgresql":
                    self.add("begins")  # sent by psycopg before the transaction's first statement
                return original()

            setattr(connection, name, ended)


def queue_backlog(project_id: int, count: int, offset: int) -> float:
    """`count` messages of the project, each starting its run, committed at once; when it committed."""
    from django.db import transaction

    from kindling.inbox.models import Message
    from kindling.runs import queue

    with transaction.atomic():
        for n in range(count):
            message = Message.objects.create(project_id=project_id, body={"bench": True, "seq": offset + n})
            queue.runs_for_message(message)
    return time.time()


def measure(project_id: int, runs: int, concurrency: int, slots: int, warmup: int, trips: RoundTrips) -> str:
    from kindling.projects.models import Project
    from kindling.runs.models import Run
    from kindling.runs.worker import Worker

    Project.objects.filter(pk=project_id).update(concurrency=concurrency)
    done = Counter()
    finished = threading.Event()
    target = {"runs": warmup}

    def on_run(run):
        with trips.lock:
            done["runs"] += 1
            if done["runs"] >= target["runs"]:
                finished.set()

    worker = Worker(name="bench-worker", slots=slots, on_run=on_run)
    worker.start()
    try:
        # Warm-up: the pool's Node processes start and import the adaptor.
        queue_backlog(project_id, warmup, 0)
        if not finished.wait(300):
            return f"concurrency {concurrency}: the warm-up runs did not finish within 300 s"
        with trips.lock:
            done.clear()
            target["runs"] = runs
            finished.clear()
        trips.reset()
        worker.commits.reads = 0
        sampler = MemorySampler(os.getpid())
        sampler.start()
        cpu_before = time.process_time()
        committed = queue_backlog(project_id, runs, 1_000_000 * concurrency)
        ok = finished.wait(600)
        cpu_python = time.process_time() - cpu_before
        sampler.done.set()
        sampler.join()
        sampler.sample_cpu()
        trip_counts = dict(trips.counts)
        watch_reads = worker.commits.reads
    finally:
        worker.stop()
        worker.wait(60)
    if not ok:
        return f"concurrency {concurrency}: {done['runs']} of {runs} runs finished within 600 s"
    ended = Run.objects.filter(project_id=project_id, message__body__seq__gte=1_000_000 * concurrency)
    last = max(ended.values_list("finished_at", flat=True)).timestamp()
    success = ended.filter(status=Run.Status.SUCCESS).count()
    elapsed = last - committed
    cpu = sampler.cpu_by_kind()
    cpu.pop("serve", None)  # this process: measured with process_time(), which counts every thread
    cpu["python"] = cpu_python
    per_run = ", ".join(f"{kind} {seconds / runs * 1000:.2f} ms" for kind, seconds in sorted(cpu.items()))
    node = sampler.parts["pss"].get("node", [0, 0.0])
    trips_per_run = sum(trip_counts.values()) / runs
    parts = ", ".join(f"{kind} {n / runs:.2f}" for kind, n in sorted(trip_counts.items()))
    return (
        f"concurrency {concurrency}, 1 worker x {slots} slots: {runs / elapsed:,.1f} runs finished/s, "
        f"{elapsed / runs * 1000:.2f} ms of wall time per run ({success} of {runs} success); "
        f"database round trips per run {trips_per_run:.2f} ({parts}"
        + (f"; and {watch_reads / runs:.2f} reads of SQLite's commit counter" if watch_reads else "")
        + "); "
        f"CPU per run {sum(cpu.values()) / runs * 1000:.2f} ms ({per_run}); "
        f"Node processes at the memory peak {node[0]}; peak PSS {sampler.describe('pss')}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a PostgreSQL database of its own (default: SQLite)")
    parser.add_argument("--runs", type=int, default=500, help="runs of the measured backlog")
    parser.add_argument("--warmup", type=int, default=40, help="runs before each measurement")
    parser.add_argument("--slots", type=int, default=4, help="slots of the worker (default 4: make run)")
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[1, 4], help="the project's, one measurement each"
    )
    parser.add_argument("--statements", action="store_true", help="list the statements sent, by count")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="kindling-bench-"))  # everything written on disk; deleted
    try:
        data = root / "data"
        data.mkdir()
        env = {
            "KINDLING_DATA_DIR": str(data),
            "KINDLING_ADAPTOR_DIR": str(floors.adaptor_repo()),
            "KINDLING_LOG_LEVEL": "WARNING",
            "KINDLING_WORKER_SLOTS": str(args.slots),
        }
        if args.database_url:
            env["DATABASE_URL"] = args.database_url
        else:
            os.environ.pop("DATABASE_URL", None)
        paths = setup_database(env, 1)
        from django.db import connection
        from django.db.backends.signals import connection_created

        trips = RoundTrips(connection.vendor)
        connection_created.connect(trips.watch)
        print(
            f"Kindling run-cycle bench: {connection.vendor}, {os.cpu_count()} cores, "
            f"load average {os.getloadavg()[0]:.2f} at start",
            flush=True,
        )
        for concurrency in args.concurrency:
            line = measure(paths["pipeline_id"], args.runs, concurrency, args.slots, args.warmup, trips)
            print(line, flush=True)
            if args.statements:
                for sql, n in trips.statements.most_common():
                    print(f"    {n / args.runs:6.2f} per run  {sql}")
        print(f"load average at the end: {os.getloadavg()[0]:.2f}", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
