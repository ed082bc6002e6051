"""Synchronous inbox reply bench: how soon after a run's end the inbox answers a `?wait=` request.

    .venv/bin/python bench/sync_reply.py                      # SQLite, in a temporary data dir
    .venv/bin/python bench/sync_reply.py --database-url postgres://user@host:5432/kindling_bench

It starts `kindling serve --workers 1` as bench/pipeline.py does, with one project whose message
trigger starts a trivial job, warms the job up, then posts messages one at a time with `?wait=30` and
prints, over those requests, percentiles of:

- reply after end: from the run's `finished_at` (written by the worker as it records the end) to
  the moment the client has read the whole 200 answer (the target: within 30 ms for a warm run);
- whole request: from sending the message to reading the answer (storing, claiming, executing,
  recording, noticing and answering).

The client and the server run on the same machine, so both times come from one clock.
"""

import argparse
import http.client
import json
import os
import sys
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a PostgreSQL database of its own (default: SQLite)")
    parser.add_argument("--requests", type=int, default=100, help="messages timed one at a time")
    parser.add_argument("--warmup", type=int, default=10, help="runs before the measurement")
    args = parser.parse_args()

    env, port = bench_env(args.database_url)
    paths = setup_database(env)
    from django.db import connection as db

    from kindling.runs.models import Run

    path = paths["pipeline"] + "?wait=30"
    with serving(env, "--workers", "1"):
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for n in range(args.warmup):
            post(client, path, {"bench": True, "seq": n})
        after_end, whole, statuses = [], [], {}
        for n in range(args.requests):
            status, answer, seconds = post(client, path, {"bench": True, "seq": n})
            read_at = datetime.now(UTC)
            statuses[status] = statuses.get(status, 0) + 1
            if status != 200:
                continue
            finished_at = Run.objects.get(pk=answer["data"][0]["id"]).finished_at
            after_end.append((read_at - finished_at).total_seconds())
            whole.append(seconds)
    ms = lambda values, p: f"{percentile(values, p) * 1000:.1f} ms"  # noqa: E731
    print(
        f"Kindling synchronous reply bench: {db.vendor}, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.2f}, {args.requests} messages with ?wait=30 one at a time, warm trivial job; "
        f"statuses {statuses}"
    )
    print(f"reply after the run's end: p50 {ms(after_end, 50)}, p95 {ms(after_end, 95)}, "
          f"p99 {ms(after_end, 99)}, max {max(after_end) * 1000:.1f} ms")
    print(f"whole request (store, run, reply): p50 {ms(whole, 50)}, p95 {ms(whole, 95)}, p99 {ms(whole, 99)}")


if __name__ == "__main__":
    main()
