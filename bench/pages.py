"""Kindling history pages benchmark: Activity and Inbox of one large project, first page and every filter.

    .venv/bin/python bench/pages.py                    # SQLite, a temporary dir: 100,000 runs and messages
    .venv/bin/python bench/pages.py --database-url postgres://user@host:5432/kd_pages_bench  # 1,000,000
    .venv/bin/python bench/pages.py --data-dir /tmp/pages-sqlite   # SQLite kept there, reused next time

It loads one project's history into a database of its own (a temporary SQLite file, or the PostgreSQL
database given, which must exist and is migrated; a second run on the same database reuses the data
if the counts match), then requests each page through Django's test client, logged in as a project
member, and prints the server time of each: the view, its queries and the template, in this process.
Each page is requested REPEAT times; the table shows the first and the median time. The issue's bar
is 300 ms for the first page and for each filter.

The data: N messages over the last 90 days (3 form types, 40 districts, a rare word in 1 in 10,000
bodies), one run per message for 98% of them (90% success, 8% failed, 1% lost, 1% aborted; a few
hundred recent ones still pending), each with 3 log lines (failed runs: an ECONNREFUSED error, 1 in
200 of them "certificate has expired"), plus cron runs without a message (2% of N). The job-state
of each (message, job) pair, which enqueue and finish keep, is derived once after the load.
"""

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
REPEAT = 5
BATCH = 20_000
DISTRICTS = [f"District-{n:02d}" for n in range(39)] + ["Kisumu"]
FORMS = [("patient_registration_v7", 0.6), ("referral_v2", 0.3), ("followup_v1", 0.1)]
RARE_BODY = "Zanzibar"
RARE_LOG = "certificate has expired"


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", default="", help="a PostgreSQL database (default: temporary SQLite)"
    )
    parser.add_argument(
        "--data-dir",
        default="",
        help="SQLite: keep the database in this directory and reuse it next time (default: a temporary one)",
    )
    parser.add_argument(
        "--size",
        type=int,
        default=0,
        help="messages (and message runs); default 100,000 on SQLite, 1,000,000 on PostgreSQL",
    )
    return parser.parse_args()


def setup_django(database_url: str, data_dir: str = "") -> Path:
    data_dir = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="kindling-pages-bench-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["KINDLING_DATA_DIR"] = str(data_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "kindling.settings"
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return data_dir


def body_of(i: int, rng: random.Random) -> dict:
    roll, form = rng.random(), FORMS[-1][0]
    for name, share in FORMS:
        if roll < share:
            form = name
            break
        roll -= share
    body = {
        "formID": form,
        "name": f"Patient {i}",
        "district": DISTRICTS[i % len(DISTRICTS)],
        "age": i % 90,
        "visit": {"type": "outpatient" if i % 3 else "inpatient", "n": i % 7},
        "tags": ["hiv", "tb"][: i % 3],
    }
    if i % 10_000 == 7:
        body["note"] = f"Transferred from {RARE_BODY}"
    if i % 100 == 3:
        body["allowedToShare"] = False
    return body


def gin_indexes(connection) -> dict[str, str]:
    """The GIN indexes the migrations created on PostgreSQL: name -> definition."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('inbox_message', 'runs_logline') "
            "AND indexdef LIKE '%USING gin%'"
        )
        return dict(cursor.fetchall())


def load(project, jobs: dict, size: int, body=None, headers=None) -> None:
    """Messages, runs and log lines, written in bulk (COPY on PostgreSQL, executemany on SQLite).

    On PostgreSQL the GIN indexes are dropped during the load and built again after it: building
    one is many times faster than updating it row by row. `body(i, rng)` and `headers(i)` (JSON text)
    let bench/search.py load larger messages.
    """
    body_for = body or body_of
    from django.db import connection, transaction

    from kindling.runs.models import JobState

    rebuild = gin_indexes(connection) if connection.vendor == "postgresql" else {}
    with connection.cursor() as cursor:
        for name in rebuild:
            cursor.execute(f"DROP INDEX {name}")

    rng = random.Random(42)
    now = datetime.now(UTC)
    span = timedelta(days=90)
    by_form = {
        "patient_registration_v7": jobs["register"],
        "referral_v2": jobs["refer"],
        "followup_v1": jobs["follow"],
    }
    messages, runs, lines = [], [], []
    run_id = line_id = 0
    for i in range(1, size + 1):
        received = now - span + span * (i / size) - timedelta(seconds=5)
        body = body_for(i, rng)
        messages.append((i, project.pk, json.dumps(body), headers(i) if headers else "{}", received))
        if i % 50 != 0:  # 2% of messages started no run
            run_id += 1
            roll = rng.random()
            status, code = (
                ("success", 0)
                if roll < 0.90
                else ("failed", 1)
                if roll < 0.98
                else ("lost", 4)
                if roll < 0.99
                else ("aborted", 6)
            )
            pending = i > size - 300 and i % 3 == 0
            if pending:
                status, code = "pending", None
            created = received + timedelta(seconds=1)
            started = None if pending else created + timedelta(milliseconds=200)
            finished = None if pending else started + timedelta(milliseconds=rng.randint(300, 3000))
            runs.append(
                (
                    run_id,
                    project.pk,
                    by_form[body["formID"]].pk,
                    i,
                    "message",
                    status,
                    code,
                    created,
                    started,
                    finished,
                    "{}",
                    None if status != "success" else '{"ok": true}',
                )
            )
            if not pending:
                for seq, (source, level, text) in enumerate(log_of(i, status, rng)):
                    line_id += 1
                    lines.append((line_id, run_id, seq, finished, source, level, text))
        if i % 50 == 25:  # cron runs, without a message
            run_id += 1
            at = received + timedelta(seconds=2)
            runs.append(
                (run_id, project.pk, jobs["cron"].pk, None, "cron", "success", 0, at, at, at, "{}", "{}")
            )
        if len(messages) >= BATCH:
            write(connection, messages, runs, lines)
            messages, runs, lines = [], [], []
    write(connection, messages, runs, lines)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in ("inbox_message", "runs_run", "runs_logline"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
    JobState.rebuild()
    with connection.cursor() as cursor:
        if rebuild:
            cursor.execute("SET maintenance_work_mem = '512MB'")
        for definition in rebuild.values():
            cursor.execute(definition)
        cursor.execute("ANALYZE")


def log_of(i: int, status: str, rng: random.Random):
    yield "VER", "info", "@openfn/language-http 6.4.0"
    yield "JOB", "info", f"Sending patient {i} to {DISTRICTS[i % len(DISTRICTS)]}"
    if status == "failed":
        error = RARE_LOG if rng.random() < 0.005 else "connect ECONNREFUSED 10.0.0.5:443"
        yield "R/T", "error", f"Error: {error}"
    elif status == "lost":
        yield "RTE", "error", "lost: the worker stopped renewing its lease"
    else:
        yield "R/T", "info", "Finished in 1.2s"


MESSAGE_COLUMNS = "id, project_id, body, headers, received_at"
RUN_COLUMNS = (
    "id, project_id, job_id, message_id, cause, status, exit_code, created_at, started_at, "
    "finished_at, initial_state, final_state, adaptor_version, worker"
)
LINE_COLUMNS = "id, run_id, seq, time, source, level, message"


def write(connection, messages, runs, lines) -> None:
    from django.db import transaction

    runs = [(*row, "", "") for row in runs]
    with transaction.atomic():
        if connection.vendor == "postgresql":
            raw = connection.cursor().cursor
            for table, columns, rows in (
                ("inbox_message", MESSAGE_COLUMNS, messages),
                ("runs_run", RUN_COLUMNS, runs),
                ("runs_logline", LINE_COLUMNS, lines),
            ):
                with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        else:
            adapt = connection.ops.adapt_datetimefield_value
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO inbox_message ({MESSAGE_COLUMNS}) VALUES (%s, %s, %s, %s, %s)",
                    [(a, b, c, d, adapt(e)) for a, b, c, d, e in messages],
                )
                cursor.executemany(
                    f"INSERT INTO runs_run ({RUN_COLUMNS}) VALUES ({', '.join(['%s'] * 14)})",
                    [(*r[:7], adapt(r[7]), adapt(r[8]), adapt(r[9]), *r[10:]) for r in runs],
                )
                cursor.executemany(
                    f"INSERT INTO runs_logline ({LINE_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    [(a, b, c, adapt(d), e, f, g) for a, b, c, d, e, f, g in lines],
                )


def prepare(size: int, body=None, headers=None):
    from kindling.accounts.models import User
    from kindling.inbox.models import Message
    from kindling.jobs.models import Job, Trigger
    from kindling.projects.models import Project

    user = User.objects.filter(email="bench@example.com").first() or User.objects.create_user(
        "bench@example.com", "bench-password"
    )
    project = Project.objects.filter(slug="bench").first()
    if project and Message.objects.filter(project=project).count() == size:
        return user, on_unlimited_plan(project), False
    if project:
        project.delete()
    project = Project.create("Bench", user)
    triggers = {
        "register": Trigger.objects.create(
            project=project,
            name="registrations",
            kind="message",
            criteria={"formID": "patient_registration_v7"},
            exclusion={"allowedToShare": False},
        ),
        "refer": Trigger.objects.create(
            project=project, name="referrals", kind="message", criteria={"formID": "referral_v2"}
        ),
        "follow": Trigger.objects.create(
            project=project,
            name="follow-ups",
            kind="message",
            criteria={"formID": "followup_v1", "visit": {"type": "inpatient"}},
        ),
        "cron": Trigger.objects.create(project=project, name="nightly", kind="cron", cron="0 2 * * *"),
    }
    jobs = {
        key: Job.objects.create(project=project, name=f"{key}-job", trigger=trigger, enabled=True)
        for key, trigger in triggers.items()
    }
    never = Trigger.objects.create(project=project, name="never", kind="message", criteria={"formID": "none"})
    Job.objects.create(project=project, name="rare-job", trigger=never)
    started = time.monotonic()
    load(project, jobs, size, body=body, headers=headers)
    print(f"loaded {size:,} messages in {time.monotonic() - started:.0f} s", flush=True)
    return user, on_unlimited_plan(project), True


def on_unlimited_plan(project):
    """The bench's runs are not limited by a plan: the Free plan's 100 runs a month would reject a
    bulk reprocess (bench/search.py) and measure the rejection instead."""
    from kindling.plans.models import Plan, Subscription

    plan, _ = Plan.objects.get_or_create(
        name="Bench (unlimited)", defaults={"runs_per_month": None, "max_concurrency": 10}
    )
    Subscription.objects.update_or_create(project=project, defaults={"plan": plan})
    return project


def cases(project):
    from kindling.jobs.models import Job, Trigger

    jobs = {job.name: job.pk for job in Job.objects.filter(project=project)}
    triggers = {t.name: t.pk for t in Trigger.objects.filter(project=project)}
    now = datetime.now(UTC)
    custom = {
        "date": "custom",
        "start": (now - timedelta(days=62)).date().isoformat(),
        "end": (now - timedelta(days=60)).date().isoformat(),
    }
    activity = f"/projects/{project.slug}/activity"
    inbox = f"/projects/{project.slug}/inbox"
    return [
        ("Activity: first page (last 30 days)", activity, {}),
        ("Activity: second page (keyset cursor)", activity, "older"),
        ("Activity: log text, rare", activity, {"q": RARE_LOG}),
        ("Activity: log text, common (ECONNREFUSED)", activity, {"q": "econnrefused"}),
        ("Activity: log text, nowhere", activity, {"q": "no such text anywhere"}),
        ("Activity: last hour", activity, {"date": "hour"}),
        ("Activity: last day", activity, {"date": "day"}),
        ("Activity: last 7 days", activity, {"date": "7d"}),
        ("Activity: last 90 days", activity, {"date": "90d"}),
        ("Activity: custom range, 3 days 2 months ago", activity, custom),
        ("Activity: job (cron job, 2%)", activity, {"job": jobs["cron-job"]}),
        ("Activity: job without runs", activity, {"job": jobs["rare-job"]}),
        ("Activity: status failed", activity, {"status": "failed"}),
        ("Activity: status pending (rare)", activity, {"status": "pending"}),
        ("Activity: job + status lost", activity, {"job": jobs["follow-job"], "status": "lost"}),
        (
            "Activity: text + job + status, 90 days",
            activity,
            {"q": "econnrefused", "job": jobs["refer-job"], "status": "failed", "date": "90d"},
        ),
        ("Inbox: first page (last 30 days)", inbox, {}),
        ("Inbox: second page (keyset cursor)", inbox, "older"),
        ("Inbox: body text, rare", inbox, {"q": RARE_BODY}),
        ("Inbox: body text, common (Kisumu)", inbox, {"q": "kisumu"}),
        ("Inbox: body text, nowhere", inbox, {"q": "no such text anywhere"}),
        ("Inbox: last hour", inbox, {"date": "hour"}),
        ("Inbox: last 90 days", inbox, {"date": "90d"}),
        ("Inbox: custom range, 3 days 2 months ago", inbox, custom),
        ("Inbox: trigger, common (with exclusion)", inbox, {"trigger": triggers["registrations"]}),
        ("Inbox: trigger, nested criteria (3%)", inbox, {"trigger": triggers["follow-ups"]}),
        ("Inbox: trigger matching nothing", inbox, {"trigger": triggers["never"]}),
        ("Inbox: run state failed", inbox, {"state": "failed"}),
        ("Inbox: run state pending (rare)", inbox, {"state": "pending"}),
        ("Inbox: run state aborted (1%)", inbox, {"state": "aborted"}),
        ("Inbox: run state none (2%)", inbox, {"state": "none"}),
        (
            "Inbox: text + trigger + state, 90 days",
            inbox,
            {"q": "kisumu", "trigger": triggers["referrals"], "state": "failed", "date": "90d"},
        ),
    ]


def measure(client, url: str) -> tuple[list[float], str]:
    times, html = [], ""
    for _ in range(REPEAT):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        html = response.content.decode()
    return times, html


def main() -> None:
    args = parse_args()
    setup_django(args.database_url, args.data_dir)
    from django.db import connection
    from django.test import Client

    # Not setup_test_environment(): it instruments every template render for the tests' assertions,
    # which costs more than the page itself.
    size = args.size or (1_000_000 if connection.vendor == "postgresql" else 100_000)
    user, project, _loaded = prepare(size)
    client = Client()
    client.force_login(user)
    from kindling.runs.models import LogLine, Run

    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    print(
        f"project: {size:,} messages, {Run.objects.filter(project=project).count():,} runs, "
        f"{LogLine.objects.filter(run__project=project).count():,} log lines"
    )
    print(f"{'page':<48} {'rows':>5} {'first ms':>9} {'median ms':>10}")
    # Warm the process up (imports, URL resolvers, template compilation) on pages that read no history.
    empty = urlencode({"date": "custom", "start": "2000-01-01", "end": "2000-01-02"})
    for page in ("jobs", f"activity?{empty}", f"inbox?{empty}"):
        assert client.get(f"/projects/{project.slug}/{page}").status_code == 200
    last_html = {}
    worst = 0.0
    for label, path, params in cases(project):
        if params == "older":
            import re
            from html import unescape

            older = re.search(r'href="(\?[^"]*)" rel="next"', last_html[path])
            url = path + unescape(older.group(1))
        else:
            url = f"{path}?{urlencode(params)}" if params else path
        times, html = measure(client, url)
        last_html.setdefault(path, html)
        rows = html.count('<tr id="run-') + html.count('kindling-message" id="message-')
        median = statistics.median(times)
        worst = max(worst, median)
        print(f"{label:<48} {rows:>5} {times[0]:>9.1f} {median:>10.1f}", flush=True)
    print(f"slowest median: {worst:.1f} ms")


if __name__ == "__main__":
    main()
