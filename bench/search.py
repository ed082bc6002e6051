"""Kindling history-at-scale benchmark: Search Console, full-text filters, bulk reprocess, CSV export.

    .venv/bin/python bench/search.py                    # SQLite, a temporary dir: 100,000 messages and runs
    .venv/bin/python bench/search.py --database-url postgres://user@host:5432/kh_search_bench  # 1,000,000

The data is bench/pages.py's (one project, messages over 90 days, a run with 3 log lines for 98% of
them, failed runs logging ECONNREFUSED and 1 in 200 of those "certificate has expired"), with bodies
of 1-5 KB (a list of observations) and an X-Form header on every message. A second run on the same
PostgreSQL database reuses the data.

It measures, REPEAT times each (p50 and p95, milliseconds, in this process):
- the Search Console per kind (search/console.py), rare, common and absent text;
- the full-text filters: the first page of Activity (log text) and Inbox (body text), through
  Django's test client;
- bulk reprocess of about 100,000 messages (the messages of a date range), and of the failed runs:
  time until the runs are queued (then deleted again);
- CSV export of every run (1,000,000 on PostgreSQL) in a child process: time and peak RSS.

Targets (issue 15, PostgreSQL at 1 M): Search Console and filters p50 < 200 ms, p95 < 500 ms;
100,000 enqueued in < 10 s; export < 60 s with < 150 MB peak RSS.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pages  # noqa: E402 - bench/pages.py: the data generator

REPEAT = 15
WORDS = (
    "blood pressure normal referred counselled tested negative positive follow-up clinic visit "
    "pharmacy dispensed malaria rapid test household mother child immunisation weight height"
).split()


def _observations(n: int, seed: int) -> list[dict]:
    import random

    rng = random.Random(seed)
    return [
        {
            "code": f"OBS-{rng.randrange(1000):03d}",
            "value": rng.randrange(300),
            "note": " ".join(rng.choice(WORDS) for _ in range(8)),
        }
        for _ in range(n)
    ]


# Made once: drawing every body's observations would make generating the data the slow part.
OBSERVATIONS = [_observations(8 + k % 38, k) for k in range(380)]


def big_body(i: int, rng) -> dict:
    body = pages.body_of(i, rng)
    body["observations"] = OBSERVATIONS[i % len(OBSERVATIONS)]  # 8 to 45 of ~100 bytes: 1-5 KB
    return body


def headers_of(i: int) -> str:
    return json.dumps({"content-type": "application/json", "x-form": f"submission-{i:07d}"})


def percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def timed(call, repeat: int = REPEAT):
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - started) * 1000)
    return times, result


def report(label: str, times: list[float], rows) -> float:
    p50, p95 = percentiles(times)
    print(f"{label:<52} {rows!s:>7} {p50:>9.1f} {p95:>9.1f}", flush=True)
    return p50


def search_cases(size: int):
    patient = f"Patient {size * 4 // 5 + 3}"
    return [
        ("bodies", pages.RARE_BODY, "rare word (1 in 10,000)"),
        ("bodies", patient, "one patient's name"),
        ("bodies", "Kisumu", "common (1 in 40)"),
        ("bodies", "no such text anywhere", "absent"),
        ("logs", pages.RARE_LOG, "rare line"),
        ("logs", "ECONNREFUSED", "common (8% of runs)"),
        ("logs", "no such text anywhere", "absent"),
        ("headers", f"submission-{size // 2:07d}", "one submission id"),
        ("headers", "no-such-header", "absent"),
    ]


def filter_cases(project):
    activity, inbox = f"/projects/{project.slug}/activity", f"/projects/{project.slug}/inbox"
    return [
        ("Activity log text: rare phrase", activity, {"q": f'"{pages.RARE_LOG}"', "date": "90d"}),
        ("Activity log text: common word", activity, {"q": "econnrefused", "date": "90d"}),
        ("Activity log text: word -word", activity, {"q": "econnrefused -expired", "date": "90d"}),
        ("Activity log text: a OR b", activity, {"q": "expired or lost", "date": "90d"}),
        ("Activity log text: absent", activity, {"q": "nowhere", "date": "90d"}),
        ("Inbox body text: rare word", inbox, {"q": pages.RARE_BODY, "date": "90d"}),
        ("Inbox body text: common word", inbox, {"q": "kisumu", "date": "90d"}),
        ("Inbox body text: phrase", inbox, {"q": '"malaria rapid test"', "date": "90d"}),
        ("Inbox body text: word -word", inbox, {"q": "kisumu -inpatient", "date": "90d"}),
        ("Inbox body text: absent", inbox, {"q": "nowhere", "date": "90d"}),
    ]


def bulk_reprocess(project, size: int) -> None:
    from django.db import connection

    from kindling.inbox.filters import InboxFilters
    from kindling.runs.batch import reprocess_messages, reprocess_runs
    from kindling.runs.filters import ActivityFilters
    from kindling.runs.models import Run

    today = datetime.now(UTC).date()
    # Messages arrive evenly over 90 days: this many days hold about 100,000 of them.
    days = max(1, round(90 * min(1.0, 100_000 / size)))
    start = (today - timedelta(days=days - 1)).isoformat()
    messages = InboxFilters.from_params({"date": "custom", "start": start, "end": today.isoformat()})
    chosen = messages.messages(project).count()
    for label, call in (
        (f"messages of {days} days ({chosen:,} messages)", lambda: reprocess_messages(project, messages)),
        (
            "failed runs of 90 days",
            lambda: reprocess_runs(project, ActivityFilters.from_params({"status": "failed", "date": "90d"})),
        ),
    ):
        before = Run.objects.order_by("-id").values_list("id", flat=True).first()
        started = time.perf_counter()
        queued = call()
        seconds = time.perf_counter() - started
        print(f"bulk reprocess, {label:<44} {queued:>9,} runs queued in {seconds:6.2f} s", flush=True)
        with connection.cursor() as cursor:  # leave the data as it was for the next measurement
            cursor.execute("DELETE FROM runs_logline WHERE run_id > %s", [before])
            cursor.execute("DELETE FROM runs_run WHERE id > %s", [before])


EXPORT_CHILD = """
import os, sys, time
sys.path.insert(0, {root!r})
import django; django.setup()
from kindling.exports.build import build_pending
started = time.perf_counter()
build_pending()
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the (large) parent process.
peak = next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(time.perf_counter() - started, time.process_time(), peak)
"""


def export_runs(project, user, data_dir: Path) -> None:
    from kindling.exports.history_csv import request_csv
    from kindling.exports.models import Export
    from kindling.runs.filters import ActivityFilters

    export = request_csv(project, user, "runs", ActivityFilters.from_params({"date": "90d"}))
    env = {
        **os.environ,
        "KINDLING_DATA_DIR": str(data_dir),
        "KINDLING_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    child = subprocess.run(
        [sys.executable, "-c", EXPORT_CHILD.format(root=str(pages.ROOT))],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, cpu, max_rss_kb = child.stdout.split()[-3:]
    export.refresh_from_db()
    size = Path(export.file_path).stat().st_size
    # CPU seconds too: on a shared machine the wall time says more about the neighbours than about us.
    print(
        f"CSV export of {export.row_count:,} runs: {float(seconds):.1f} s ({float(cpu):.1f} s CPU), "
        f"peak RSS {int(max_rss_kb) / 1024:.0f} MB, file {size / 1e6:.0f} MB",
        flush=True,
    )
    Path(export.file_path).unlink()
    Export.objects.filter(pk=export.pk).delete()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", default="", help="a PostgreSQL database (default: temporary SQLite)"
    )
    parser.add_argument(
        "--size", type=int, default=0, help="messages; 100,000 on SQLite, 1,000,000 on PostgreSQL"
    )
    args = parser.parse_args()
    data_dir = pages.setup_django(args.database_url)
    from django.db import connection
    from django.test import Client

    from kindling.lib.history import Window
    from kindling.runs.models import LogLine, Run
    from kindling.search.console import search

    size = args.size or (1_000_000 if connection.vendor == "postgresql" else 100_000)
    started = time.monotonic()
    user, project, loaded = pages.prepare(size, body=big_body, headers=headers_of)
    if loaded:
        print(f"loaded with indexes in {time.monotonic() - started:.0f} s")
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    print(
        f"project: {size:,} messages, {Run.objects.filter(project=project).count():,} runs, "
        f"{LogLine.objects.filter(run__project=project).count():,} log lines"
    )
    print(f"\n{'Search Console (kind: text)':<52} {'results':>7} {'p50 ms':>9} {'p95 ms':>9}")
    span = Window(datetime.now(UTC) - timedelta(days=90), None)
    worst = []
    for kind, text, note in search_cases(size):
        times, found = timed(lambda kind=kind, text=text: search(project, text, [kind], span))
        worst.append(report(f"{kind}: {note}", times, len(found[kind])))

    client = Client()
    client.force_login(user)
    client.get(f"/projects/{project.slug}/jobs")  # warm up imports and templates
    print(f"\n{'Full-text filter (first page)':<52} {'rows':>7} {'p50 ms':>9} {'p95 ms':>9}")
    for label, path, params in filter_cases(project):
        times, response = timed(lambda path=path, params=params: client.get(path, params))
        assert response.status_code == 200, (path, params, response.status_code)
        html = response.content.decode()
        rows = html.count('<tr id="run-') + html.count('kindling-message" id="message-')
        worst.append(report(label, times, rows))
    print(f"slowest p50: {max(worst):.1f} ms\n")

    bulk_reprocess(project, size)
    export_runs(project, user, data_dir)
    print(f"bench process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
