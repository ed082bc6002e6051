"""Kindling pipeline benchmark: the inbox and the run queue of a real `kindling serve`, measured with
its own HTTP/1.1 keep-alive load client (asyncio, no dependencies), bounded in requests and in time.

    .venv/bin/python bench/pipeline.py                      # SQLite, in a temporary data dir
    .venv/bin/python bench/pipeline.py --database-url postgres://user@host:5432/kindling_bench

It starts `kindling serve` as `make run` does (one worker process with 4 slots; the bench project has
concurrency 1, as a new project has in v1) on 127.0.0.1, with a free port and a temporary data dir
(with --database-url, a PostgreSQL database of its own: it is migrated and filled with bench
projects). `--workers 2 --slots 1 --concurrency 10` measures a scale-out layout instead. Everything
it writes on disk is under one temporary root, deleted at the end. Before Kindling starts, it
measures the floors of bench/floors.py (a bare uvicorn app, a bare insert-and-commit loop on the same
database, the raw warm runtime), and prints each figure's ratio to its floor. It prints, in one run:

1. inbox requests accepted per second, 1 KB and 50 KB JSON bodies, 16 connections; then 1 KB bodies
   to inboxes that require an API key (`x-api-key`) and a Basic login, against the open inbox's rate
   measured right before each of them (inbox authentication must cost under 10%);
2. inbox latency p50/p95/p99 at a fixed 50 requests per second with 50 KB bodies (open loop: the
   latency counts from when a request was due, so a slow answer also delays the ones behind it);
3. message-to-run-finished latency p50/p95 of a trivial job, one message at a time, warm;
4. trivial runs finished per second, inbox to finished, while 16 connections post messages that start
   them (the job switched on): during that load, after it (the backlog it left), and how long the
   backlog took to drain once the load ended;
5. the resident memory of the whole `kindling serve` process tree (portal, workers, scheduler, Node
   processes) under that load, at its peak: as PSS (each page counted once: a page that n processes
   share, such as the node binary's code, counts 1/n in each; the physical memory the tree holds) and
   as the sum of each process's RSS (shared pages counted once per process).

Phases 1 and 2 post to a project whose trigger matches the bench bodies but whose job is switched
off: the message is stored and matched, no run is created (phases 3 and 4 measure it with the job on).
The load client runs on the same machine and takes CPU from the server.
"""

import argparse
import asyncio
import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import floors  # noqa: E402
from bench.loadclient import CONNECTIONS, Connection, closed_loop, open_loop  # noqa: E402
from bench.memory import MemorySampler, cpu_seconds, process_kind, process_tree  # noqa: E402

BASIC_PASSWORD = "bench-basic-password"
TRIVIAL_JOB = "fn(state => state);"


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile: an observed value, never an interpolation."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def json_body(size: int, **fields) -> bytes:
    """A JSON object of exactly `size` bytes holding `fields` and padding."""
    base = json.dumps({**fields, "pad": ""}, separators=(",", ":")).encode()
    return json.dumps({**fields, "pad": "x" * (size - len(base))}, separators=(",", ":")).encode()


# The server under test


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database the bench was given if it does not exist yet."""
    import dj_database_url
    import psycopg
    from psycopg import sql

    config = dj_database_url.parse(url)
    params = {
        "host": config["HOST"] or None,
        "port": config["PORT"] or None,
        "user": config["USER"] or None,
        "password": config["PASSWORD"] or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**{k: v for k, v in params.items() if v is not None}) as connection:
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]])
        if not found.fetchone():
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))


def setup_database(env: dict, concurrency: int = 1) -> dict:
    """Migrate, and create the bench projects; returns their inbox paths and ids."""
    if "DATABASE_URL" in env:
        ensure_database(env["DATABASE_URL"])
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kindling.settings")
    # This process only reads results between its own asyncio phases; no event loop serves requests.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    import django

    django.setup()
    from django.core.management import call_command

    from kindling.accounts.models import User
    from kindling.jobs.models import Job, Trigger
    from kindling.plans.models import Plan, Subscription
    from kindling.projects.models import Project

    call_command("migrate", verbosity=0)
    owner = User.objects.filter(email="bench@example.com").first() or User.objects.create_user(
        "bench@example.com", "bench-password-1"
    )

    # The Free plan would cap the bench at 100 runs, one at a time: the bench projects get a plan of
    # their own, with no limit on runs and concurrency up to 10.
    plan = Plan.objects.update_or_create(
        name="Bench", defaults={"runs_per_month": None, "max_concurrency": 10, "run_timeout": 100}
    )[0]

    def project(name: str, concurrency: int, enabled: bool) -> Project:
        created = Project.create(name, owner)
        created.concurrency = concurrency
        created.save()
        Subscription.objects.create(project=created, plan=plan)
        trigger = Trigger.objects.create(
            project=created, name="bench", kind=Trigger.Kind.MESSAGE, criteria={"bench": True}
        )
        Job.objects.create(
            project=created,
            name="trivial",
            trigger=trigger,
            expression=TRIVIAL_JOB,
            adaptor="@openfn/language-common",
            adaptor_version="3.3.4",
            enabled=enabled,
        )
        return created

    from kindling.inbox.auth_methods import add_method

    inbox = project("Bench inbox", 1, enabled=False)
    pipeline = project("Bench pipeline", concurrency, enabled=True)
    keyed = project("Bench inbox with API key", 1, enabled=False)
    basic = project("Bench inbox with Basic", 1, enabled=False)
    key = add_method(keyed, None, "api_key", "bench").secret
    add_method(basic, None, "basic", "bench", username="bench", password=BASIC_PASSWORD)
    return {
        "keyed": f"/inbox/{keyed.inbox_uuid}",
        "key": key,
        "basic": f"/inbox/{basic.inbox_uuid}",
        "inbox": f"/inbox/{inbox.inbox_uuid}",
        "pipeline": f"/inbox/{pipeline.inbox_uuid}",
        "pipeline_id": pipeline.pk,
    }


def wait_for_port(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit("kindling serve exited early")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    sys.exit("kindling serve never started listening")


def web_cpu_seconds(server_pid: int) -> float:
    """CPU time the tree's web (uvicorn) processes have used so far."""
    return sum(cpu_seconds(pid) or 0.0 for pid in process_tree(server_pid) if process_kind(pid) == "web")


def finished_runs(project_id: int) -> list[tuple]:
    from kindling.runs.models import Run

    return list(
        Run.objects.filter(project_id=project_id, status__in=Run.FINISHED).values_list(
            "message__body", "status", "finished_at"
        )
    )


def wait_for_runs(project_id: int, count: int, max_seconds: float, poll: float = 0.005) -> int:
    from kindling.runs.models import Run

    deadline = time.monotonic() + max_seconds
    done = 0
    while time.monotonic() < deadline:
        done = Run.objects.filter(project_id=project_id, status__in=Run.FINISHED).count()
        if done >= count:
            break
        time.sleep(poll)
    return done


# The phases


class Report(list):
    def append(self, line: str) -> None:
        print(line, flush=True)
        super().append(line)


async def bench(port: int, paths: dict, args) -> list[str]:
    out = Report()
    ms = lambda seconds: f"{seconds * 1000:.1f} ms"  # noqa: E731

    # The portal process loads lazily (URL resolver, static files list): its first requests are slow.
    await closed_loop(port, paths["inbox"], lambda n: json_body(1024, bench=True, seq=n), 200, 30)
    for size, label in ((1024, "1 KB"), (50 * 1024, "50 KB")):
        body = json_body(size, bench=True, seq=0)
        result = await closed_loop(
            port, paths["inbox"], lambda n, body=body: body, args.requests, args.seconds
        )
        accepted = result["statuses"].get(202, 0)
        rate = accepted / result["elapsed"]
        bare, commits = args.floors["bare uvicorn"], args.floors["insert and commit"]
        out.append(
            f"inbox, {label} JSON, {CONNECTIONS} connections: {rate:,.0f} accepted/s "
            f"({rate / bare:.2f} of the bare uvicorn app, "
            f"{rate / commits:.2f} of the bare insert-and-commit loop) "
            f"({accepted:,} in {result['elapsed']:.1f} s; statuses {result['statuses']}; "
            f"p50 {ms(percentile(result['latencies'], 50))}, p95 {ms(percentile(result['latencies'], 95))})"
        )

    # Inbox authentication: each authenticated run right after an open one, so that both see the
    # same machine (the load of other processes changes over a bench).
    body = json_body(1024, bench=True, seq=0)
    basic = "Authorization: Basic " + base64.b64encode(f"bench:{BASIC_PASSWORD}".encode()).decode() + "\r\n"
    for label, path, headers in (
        ("API key", paths["keyed"], f"x-api-key: {paths['key']}\r\n"),
        ("Basic", paths["basic"], basic),
    ):
        # A sender's first request: for Basic, the one check with the slow password hash (then remembered).
        connection = await Connection(port).open()
        began = time.perf_counter()
        first = await connection.post(path, body, headers)
        first_ms = (time.perf_counter() - began) * 1000
        connection.close()
        # Short runs, alternating with the open inbox, compared by their medians: on a shared machine
        # the load of other processes drifts more over a minute than the cost being measured.
        # The web process's CPU time per accepted request is compared too: unlike a rate, it hardly
        # moves with the load of other processes.
        rates: dict[str, list[float]] = {"open": [], label: []}
        cpu: dict[str, list[float]] = {"open": [], label: []}
        for _round in range(args.auth_rounds):
            for run, run_path, run_headers in (("open", paths["inbox"], ""), (label, path, headers)):
                cpu_before = web_cpu_seconds(args.server_pid)
                result = await closed_loop(
                    port, run_path, lambda n, body=body: body, args.requests, args.auth_seconds, run_headers
                )
                accepted = result["statuses"].get(202, 0)
                rates[run].append(accepted / result["elapsed"])
                cpu[run].append((web_cpu_seconds(args.server_pid) - cpu_before) / max(accepted, 1) * 1000)
                statuses = result["statuses"]
        auth_rate, open_rate = percentile(rates[label], 50), percentile(rates["open"], 50)
        auth_cpu, open_cpu = percentile(cpu[label], 50), percentile(cpu["open"], 50)
        out.append(
            f"inbox, 1 KB JSON, {label}: median {auth_rate:,.0f} accepted/s against {open_rate:,.0f} for the "
            f"open inbox ({(auth_rate / open_rate - 1) * 100:+.1f}%); web CPU per accepted request "
            f"{auth_cpu:.2f} ms against {open_cpu:.2f} ms ({(auth_cpu / open_cpu - 1) * 100:+.1f}%); "
            f"{args.auth_rounds} alternating runs of {args.auth_seconds:.0f} s: "
            f"{', '.join(f'{r:,.0f}' for r in rates[label])} against "
            f"{', '.join(f'{r:,.0f}' for r in rates['open'])} accepted/s; last statuses {statuses}; "
            f"the sender's first request: {first}, {first_ms:.0f} ms"
        )
    if args.inbox_only:
        return out

    body = json_body(50 * 1024, bench=True, seq=0)
    result = await open_loop(port, paths["inbox"], lambda n: body, 50, args.latency_seconds)
    lat = result["latencies"]
    out.append(
        f"inbox latency at 50 req/s, 50 KB JSON ({len(lat)} requests, statuses {result['statuses']}): "
        f"p50 {ms(percentile(lat, 50))}, p95 {ms(percentile(lat, 95))}, p99 {ms(percentile(lat, 99))}"
    )

    # Message to run finished: warm the workers' Node processes first, then one message at a time.
    pipeline, project_id = paths["pipeline"], paths["pipeline_id"]
    connection = await Connection(port).open()
    expected = 0
    for n in range(args.warmup):
        await connection.post(pipeline, json_body(1024, bench=True, seq=-1 - n))
    expected += args.warmup
    if wait_for_runs(project_id, expected, 120) < expected:
        out.append("warm-up runs did not finish within 120 s")
        return out
    sent_at = {}
    for n in range(args.single):
        sent_at[n] = time.time()
        await connection.post(pipeline, json_body(1024, bench=True, seq=n))
        expected += 1
        wait_for_runs(project_id, expected, 30)
    connection.close()
    single = [
        (finished.timestamp() - sent_at[body["seq"]])
        for body, status, finished in finished_runs(project_id)
        if body and body.get("seq") in sent_at and status == "success"
    ]
    out.append(
        f"message to run finished, trivial job, warm, one at a time ({len(single)} runs): "
        f"p50 {ms(percentile(single, 50))}, p95 {ms(percentile(single, 95))}"
    )

    # Runs finished per second, inbox to finished, while the inbox is loaded with messages that start
    # them, and after; the tree's memory is sampled meanwhile.
    sampler = MemorySampler(args.server_pid)
    sampler.start()
    client_before = time.process_time()
    first_sent = time.time()
    offset = 1_000_000
    result = await closed_loop(
        port, pipeline, lambda n: json_body(1024, bench=True, seq=offset + n), args.runs, args.seconds
    )
    load_ended = time.time()
    accepted = result["statuses"].get(202, 0)
    done = wait_for_runs(project_id, expected + accepted, args.drain_seconds, poll=0.1) - expected
    client_after = time.process_time()
    sampler.done.set()
    sampler.join()
    sampler.sample_cpu()
    burst = [
        (status, finished.timestamp())
        for body, status, finished in finished_runs(project_id)
        if body and body.get("seq", -1) >= offset
    ]
    last = max(finished for _status, finished in burst)
    ok = sum(status == "success" for status, _ in burst)
    during = sum(finished <= load_ended for _status, finished in burst)
    during_rate = during / (load_ended - first_sent)
    after_rate = (done - during) / (last - load_ended) if last > load_ended else float("nan")
    runtime = args.floors["warm runtime"]
    layout = f"{args.workers} worker{'s' if args.workers > 1 else ''} x {args.slots} slots"
    out.append(
        f"inbox with the job on, 1 KB JSON, {CONNECTIONS} connections: {accepted / result['elapsed']:,.0f} "
        f"accepted/s ({accepted:,} in {result['elapsed']:.1f} s; statuses {result['statuses']})"
    )
    out.append(
        f"trivial runs, inbox to finished, concurrency {args.concurrency}, {layout}: "
        f"{during_rate:,.0f} runs finished/s during the load "
        f"({during_rate / runtime:.2f} of the warm runtime), {after_rate:,.0f}/s after it "
        f"({after_rate / runtime:.2f}); during / after {during_rate / after_rate:.2f}; "
        f"backlog left when the load ended: {max(0.0, last - load_ended):.1f} s "
        f"({done:,} of {accepted:,} messages finished, {ok:,} success, in {last - first_sent:.1f} s)"
    )
    used = sampler.cpu_by_kind()
    used["load client"] = client_after - client_before
    per_run = {kind: seconds / max(done, 1) * 1000 for kind, seconds in sorted(used.items())}
    out.append(
        "CPU per run finished in that phase: "
        + ", ".join(f"{kind} {ms_used:.1f} ms" for kind, ms_used in per_run.items())
        + f"; {sum(per_run.values()):.1f} ms in all"
    )
    out.append(
        "resident memory of the whole process tree under that load, at its peak: "
        f"PSS {sampler.describe('pss')}; RSS summed per process {sampler.describe('rss')}"
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a PostgreSQL database of its own (default: SQLite)")
    parser.add_argument("--requests", type=int, default=20_000, help="cap per throughput phase")
    parser.add_argument("--seconds", type=float, default=10.0, help="time cap per throughput phase")
    parser.add_argument("--latency-seconds", type=float, default=10.0, help="length of the 50 req/s phase")
    parser.add_argument("--warmup", type=int, default=30, help="runs before the latency measurement")
    parser.add_argument("--single", type=int, default=50, help="messages timed one at a time")
    parser.add_argument("--runs", type=int, default=3_000, help="messages of the runs-per-second phase")
    parser.add_argument("--drain-seconds", type=float, default=120.0, help="time cap for those runs")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1: make run)")
    parser.add_argument("--slots", type=int, default=4, help="slots per worker process (default 4: make run)")
    parser.add_argument("--concurrency", type=int, default=1, help="the bench project's (default 1)")
    parser.add_argument("--floor-seconds", type=float, default=5.0, help="length of each floor")
    parser.add_argument("--inbox-only", action="store_true", help="stop after the inbox throughput phase")
    parser.add_argument("--auth-rounds", type=int, default=7, help="alternating open/authenticated runs")
    parser.add_argument("--auth-seconds", type=float, default=2.0, help="length of each of those runs")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="kindling-bench-"))  # everything written on disk; deleted
    try:
        run_bench(args, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def measure_floors(args, root: Path) -> dict[str, float]:
    body = json_body(1024, bench=True, seq=0)
    found = {
        "bare uvicorn": floors.bare_inbox_rate(
            free_port(), closed_loop, lambda n: body, args.requests, args.floor_seconds
        ),
        "insert and commit": floors.insert_commit_rate(root, args.database_url, args.floor_seconds),
        "warm runtime": floors.warm_runtime_rate(floors.adaptor_repo(), args.floor_seconds),
    }
    print(
        f"floors, measured now: a bare uvicorn app {found['bare uvicorn']:,.0f} answers/s (1 KB, "
        f"{CONNECTIONS} connections); a bare insert-and-commit loop "
        f"{found['insert and commit']:,.0f} rows/s; "
        f"the raw warm runtime {found['warm runtime']:,.0f} trivial runs/s on one Node process",
        flush=True,
    )
    return found


def run_bench(args, root: Path) -> None:
    data = root / "data"
    data.mkdir()
    port = free_port()
    env = {
        "KINDLING_DATA_DIR": str(data),
        "KINDLING_ADAPTOR_DIR": str(floors.adaptor_repo()),
        "PORT": str(port),
        "KINDLING_LOG_LEVEL": "WARNING",
    }
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    paths = setup_database(env, args.concurrency)
    from django.db import connection

    print(
        f"Kindling pipeline bench: {connection.vendor}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.2f} at start, client and server on this machine",
        flush=True,
    )
    args.floors = measure_floors(args, root)
    command = ["serve", "--workers", str(args.workers), "--slots", str(args.slots)]
    server = subprocess.Popen(
        [sys.executable, "-m", "kindling.cli", *command],
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, server)
        time.sleep(1.0)  # the workers and the scheduler start after the portal
        args.server_pid = server.pid
        asyncio.run(bench(port, paths, args))
        print(f"load average at the end: {os.getloadavg()[0]:.2f}", flush=True)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()


def bench_env(database_url: str | None) -> tuple[dict, int]:
    """The environment of a bench's `kindling serve` (a temporary data dir, a free port; SQLite unless
    `database_url`), and its port."""
    port = free_port()
    env = {
        "KINDLING_DATA_DIR": tempfile.mkdtemp(prefix="kindling-bench-"),
        "KINDLING_ADAPTOR_DIR": os.environ.get("KINDLING_ADAPTOR_DIR", str(ROOT / "data" / "adaptors")),
        "PORT": str(port),
        "KINDLING_LOG_LEVEL": "WARNING",
    }
    if database_url:
        env["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    return env, port


@contextlib.contextmanager
def serving(env: dict, *args: str):
    """`kindling serve *args` with `env`, listening and with its workers started; stopped after."""
    server = subprocess.Popen(
        [sys.executable, "-m", "kindling.cli", "serve", *args],
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for_port(int(env["PORT"]), server)
        time.sleep(1.0)  # the workers and the scheduler start after the portal
        yield server
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
