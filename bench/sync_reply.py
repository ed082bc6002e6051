"""Synchronous inbox reply bench: how soon after a run's end the inbox answers a `?wait=` request.

    .venv/bin/python bench/sync_reply.py                      # SQLite, in a temporary data dir
    .venv/bin/python bench/sync_reply.py --database-url postgres://user@host:5432/kindling_bench
    .venv/bin/python bench/sync_reply.py --clients 4 ...      # 4 senders at once: runs queue up

It starts `kindling serve --workers 1` as bench/pipeline.py does, with one project whose message
trigger starts a trivial job, warms the job up, then posts messages with `?wait=30` (one at a time,
or from `--clients` senders at once, so that a worker ends one run of the project and claims the next
in one transaction) and prints, over those requests, percentiles of:

- reply after end: from the run's `finished_at` (written by the worker as it records the end) to
  the moment the client has read the whole 200 answer (the target: within 30 ms for a warm run);
- on PostgreSQL, that time in two parts, split where a listener of this bench hears the end's
  NOTIFY (Run.record_end sends it with the run's id; it is delivered when the end commits):
  end committed after finished_at (the worker's own end-of-run transaction), and reply after the
  commit (the web process hearing it and answering from the notification);
- whole request: from sending the message to reading the answer (storing, claiming, executing,
  recording, noticing and answering).

The client and the server run on the same machine, so all times come from one clock.
"""

import argparse
import http.client
import json
import os
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline import bench_env, percentile, serving, setup_database  # noqa: E402


def post(connection: http.client.HTTPConnection, path: str, body: dict) -> tuple[int, dict, float]:
    began = time.perf_counter()
    connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    response = connection.getresponse()
    answer = json.loads(response.read())
    return response.status, answer, time.perf_counter() - began


class EndsHeard:
    """When each run's end NOTIFY reached a listener of this process (PostgreSQL only)."""

    def __init__(self, db):
        from kindling.runs.models import RUN_ENDS_CHANNEL

        self.at: dict[int, datetime] = {}
        self._stop = threading.Event()
        self._connection = db.get_new_connection(db.get_connection_params())
        self._connection.autocommit = True
        self._connection.execute(f"LISTEN {RUN_ENDS_CHANNEL}")
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._stop.is_set():
            for notify in self._connection.notifies(timeout=0.2):
                self.at[int(json.loads(notify.payload)["id"])] = datetime.now(UTC)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a PostgreSQL database of its own (default: SQLite)")
    parser.add_argument("--requests", type=int, default=100, help="messages timed")
    parser.add_argument("--warmup", type=int, default=10, help="runs before the measurement")
    parser.add_argument("--clients", type=int, default=1, help="senders posting at once")
    args = parser.parse_args()

    env, port = bench_env(args.database_url)
    paths = setup_database(env)
    from django.db import connection as db

    from kindling.runs.models import Run

    path = paths["pipeline"] + "?wait=30"
    heard = EndsHeard(db) if db.vendor == "postgresql" else None
    answers = []  # (status, answer, seconds, read_at)
    lock = threading.Lock()

    def send(count: int, first: int) -> None:
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for n in range(first, first + count):
            status, answer, seconds = post(client, path, {"bench": True, "seq": n})
            read_at = datetime.now(UTC)
            with lock:
                answers.append((status, answer, seconds, read_at))

    with serving(env, "--workers", "1"):
        warm = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for n in range(args.warmup):
            post(warm, path, {"bench": True, "seq": n})
        share = -(-args.requests // args.clients)
        senders = [
            threading.Thread(target=send, args=(min(share, args.requests - i * share), i * share))
            for i in range(args.clients)
        ]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
    if heard is not None:
        heard.close()

    after_end, committed, after_commit, whole, statuses = [], [], [], [], {}
    for status, answer, seconds, read_at in answers:
        statuses[status] = statuses.get(status, 0) + 1
        if status != 200:
            continue
        run_id = answer["data"][0]["id"]
        finished_at = Run.objects.get(pk=run_id).finished_at
        after_end.append((read_at - finished_at).total_seconds())
        whole.append(seconds)
        if heard is not None and run_id in heard.at:
            committed.append((heard.at[run_id] - finished_at).total_seconds())
            after_commit.append((read_at - heard.at[run_id]).total_seconds())

    def line(values: list[float]) -> str:
        ms = lambda p: f"{percentile(values, p) * 1000:.1f} ms"  # noqa: E731
        return f"p50 {ms(50)}, p95 {ms(95)}, p99 {ms(99)}, max {max(values) * 1000:.1f} ms"

    print(
        f"Kindling synchronous reply bench: {db.vendor}, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.2f}, {args.requests} messages with ?wait=30 from {args.clients} sender(s), "
        f"warm trivial job; statuses {statuses}"
    )
    print(f"reply after the run's end: {line(after_end)}")
    if committed:
        print(f"  end committed after finished_at (the worker's transaction): {line(committed)}")
        print(f"  reply after the commit (hearing it and answering): {line(after_commit)}")
    print(f"whole request (store, run, reply): {line(whole)}")


if __name__ == "__main__":
    main()
