"""Kindling pipeline benchmark: the inbox and the run queue of a real `kindling serve`, measured with
its own HTTP/1.1 keep-alive load client (asyncio, no dependencies), bounded in requests and in time.

    .venv/bin/python bench/pipeline.py                      # SQLite, in a temporary data dir
    .venv/bin/python bench/pipeline.py --database-url postgres://user@host:5432/kindling_bench

It starts `kindling serve --workers 2 --slots 1` on 127.0.0.1 (two worker processes that execute one
run each at a time; `--slots N` for more; a free port, a temporary data dir; with --database-url, a
PostgreSQL database of its own: it is migrated and filled with bench projects) and prints, in one run:

1. inbox requests accepted per second, 1 KB and 50 KB JSON bodies, 16 connections; then 1 KB bodies
   to inboxes that require an API key (`x-api-key`) and a Basic login, against the open inbox's rate
   measured right before each of them (inbox authentication must cost under 10%);
2. inbox latency p50/p95/p99 at a fixed 50 requests per second with 50 KB bodies (open loop: the
   latency counts from when a request was due, so a slow answer also delays the ones behind it);
3. message-to-run-finished latency p50/p95 of a trivial job, one message at a time, warm;
4. trivial runs finished per second, inbox to finished, project concurrency 10, 2 workers;
5. the resident memory of the whole `kindling serve` process tree (portal, workers, scheduler, Node
   processes) under that load, at its peak: as PSS (each page counted once: a page that n processes
   share, such as the node binary's code, counts 1/n in each; the physical memory the tree holds) and
   as the sum of each process's RSS (shared pages counted once per process).

Phases 1 and 2 post to a project whose trigger matches the bench bodies but whose job is switched
off: the message is stored and matched, no run is created (the queue is measured by phases 3 and 4).
The load client runs on the same machine and takes CPU from the server.
"""

import argparse
import asyncio
import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONNECTIONS = 16
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


# The load client


class Connection:
    def __init__(self, port: int):
        self.port = port
        self.reader = self.writer = None

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        return self

    async def post(self, path: str, body: bytes, headers: str = "") -> int:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nContent-Type: application/json\r\n"
            f"{headers}Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:  # the server closed an idle keep-alive connection: reconnect, send again
            self.close()
            await self.open()
            self.writer.write(head + body)
            await self.writer.drain()
            status_line = await self.reader.readline()
        length, close = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and "close" in value.lower():
                close = True
        await self.reader.readexactly(length)
        if close:
            self.close()
            await self.open()
        return int(status_line.split()[1])

    def close(self):
        if self.writer is not None:
            self.writer.close()


async def closed_loop(
    port, path, make_body, max_requests: int, max_seconds: float, headers: str = ""
) -> dict:
    """CONNECTIONS clients posting back to back until `max_requests` were sent or time is up."""
    connections = [await Connection(port).open() for _ in range(CONNECTIONS)]
    sent, statuses, latencies = 0, {}, []
    start = time.perf_counter()
    deadline = start + max_seconds

    async def client(connection):
        nonlocal sent
        while sent < max_requests and time.perf_counter() < deadline:
            n = sent
            sent += 1
            began = time.perf_counter()
            status = await connection.post(path, make_body(n), headers)
            latencies.append(time.perf_counter() - began)
            statuses[status] = statuses.get(status, 0) + 1

    await asyncio.gather(*(client(c) for c in connections))
    elapsed = time.perf_counter() - start
    for connection in connections:
        connection.close()
    return {"elapsed": elapsed, "statuses": statuses, "latencies": latencies}


async def open_loop(port, path, make_body, rate: float, seconds: float) -> dict:
    """Requests due at a fixed rate, each on a free connection; latency from when it was due."""
    free: asyncio.Queue = asyncio.Queue()
    for _ in range(CONNECTIONS):
        free.put_nowait(await Connection(port).open())
    statuses, latencies = {}, []
    start = time.perf_counter()

    async def one(n: int, due: float):
        connection = await free.get()
        try:
            status = await connection.post(path, make_body(n))
        finally:
            free.put_nowait(connection)
        latencies.append(time.perf_counter() - due)
        statuses[status] = statuses.get(status, 0) + 1

    tasks = []
    for n in range(int(rate * seconds)):
        due = start + n / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(asyncio.create_task(one(n, due)))
    await asyncio.gather(*tasks)
    while not free.empty():
        free.get_nowait().close()
    return {"statuses": statuses, "latencies": latencies}


# The server under test


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database the bench was given if it does not exist yet."""
    import dj_database_url
    import psycopg
    from psycopg import sql

    config = dj_database_url.parse(url)
    params = {"host": config["HOST"] or None, "port": config["PORT"] or None, "user": config["USER"] or None,
              "password": config["PASSWORD"] or None, "dbname": "postgres", "autocommit": True}
    with psycopg.connect(**{k: v for k, v in params.items() if v is not None}) as connection:
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]])
        if not found.fetchone():
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))


def setup_database(env: dict) -> dict:
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

    inbox, pipeline = project("Bench inbox", 1, enabled=False), project("Bench pipeline", 10, enabled=True)
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


def process_tree(pid: int) -> list[int]:
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    pending += [int(child) for child in children.read().split()]
        except (OSError, ValueError):
            pass
    return found


def resident_mb(pid: int) -> tuple[float, float]:
    """Resident memory of one process, (RSS, PSS) in MB: RSS counts every page it maps in full, PSS
    divides a page shared by n processes (the node binary's code, shared libraries) by n."""
    found = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                name, _, rest = line.partition(":")
                if name in ("Rss", "Pss"):
                    found[name] = int(rest.split()[0]) / 1024
    except (OSError, ValueError):
        pass
    return found.get("Rss", 0.0), found.get("Pss", 0.0)


class MemorySampler(threading.Thread):
    """The largest resident memory of a process tree seen while it runs (the sum of its processes'
    RSS, and of their PSS: each shared page counted once), and what it was made of; and the CPU time
    each kind of process used meanwhile (sampled every 0.2 s, so a process that ends between two
    samples loses at most its last 0.2 s: Node processes are replaced now and then)."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = {"rss": 0.0, "pss": 0.0}
        self.parts: dict[str, dict[str, list]] = {"rss": {}, "pss": {}}  # kind -> [count, MB]
        self.done = threading.Event()
        # pid -> (kind, CPU seconds when first seen or 0 for a process born meanwhile, latest CPU seconds)
        self.cpu: dict[int, list] = {}
        self.sample_cpu(first=True)

    def sample_cpu(self, first: bool = False) -> None:
        for pid in process_tree(self.pid):
            used = cpu_seconds(pid)
            if used is None:
                continue
            if pid not in self.cpu:
                self.cpu[pid] = [process_kind(pid), used if first else 0.0, used]
            self.cpu[pid][2] = used

    def cpu_by_kind(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for kind, start, latest in self.cpu.values():
            totals[kind] = totals.get(kind, 0.0) + latest - start
        return totals

    def run(self):
        while not self.done.wait(0.2):
            self.sample_cpu()
            parts: dict[str, dict[str, list]] = {"rss": {}, "pss": {}}
            for pid in process_tree(self.pid):
                kind = self.cpu[pid][0] if pid in self.cpu else process_kind(pid)
                for measure, mb in zip(("rss", "pss"), resident_mb(pid), strict=True):
                    part = parts[measure].setdefault(kind, [0, 0.0])
                    part[0] += 1
                    part[1] += mb
            for measure, by_kind in parts.items():
                total = sum(mb for _count, mb in by_kind.values())
                if total > self.peak[measure]:
                    self.peak[measure], self.parts[measure] = total, by_kind

    def describe(self, measure: str) -> str:
        parts = ", ".join(
            f"{kind} {count} x {mb / count:,.0f} MB" if count > 1 else f"{kind} {mb:,.0f} MB"
            for kind, (count, mb) in sorted(self.parts[measure].items(), key=lambda item: -item[1][1])
        )
        return f"{self.peak[measure]:,.0f} MB ({parts})"


def process_kind(pid: int) -> str:
    """What a process of the tree is: node, web (uvicorn), worker, serve (the scheduler), bubblewrap
    (the sandbox around each Node process) or other."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            words = cmdline.read().decode(errors="replace").split("\0")
    except OSError:
        return "other"
    name = os.path.basename(words[0])
    if name == "node":
        return "node"
    if name.startswith("python"):
        return "web" if "uvicorn" in words else "worker" if "worker" in words else "serve"
    return "bubblewrap" if name == "bwrap" else "other"


def cpu_seconds(pid: int) -> float | None:
    """CPU time a process has used so far (user + system), None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def web_cpu_seconds(server_pid: int) -> float:
    """CPU time the tree's web (uvicorn) processes have used so far."""
    return sum(
        cpu_seconds(pid) or 0.0 for pid in process_tree(server_pid) if process_kind(pid) == "web"
    )


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
        out.append(
            f"inbox, {label} JSON, {CONNECTIONS} connections: {accepted / result['elapsed']:,.0f} accepted/s "
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

    # Runs finished per second, inbox to finished, while the tree's memory is sampled.
    sampler = MemorySampler(args.server_pid)
    sampler.start()
    client_before = time.process_time()
    first_sent = time.time()
    offset = 1_000_000
    result = await closed_loop(
        port, pipeline, lambda n: json_body(1024, bench=True, seq=offset + n), args.runs, args.seconds
    )
    accepted = result["statuses"].get(202, 0)
    done = wait_for_runs(project_id, expected + accepted, args.drain_seconds, poll=0.1) - expected
    client_after = time.process_time()
    sampler.done.set()
    sampler.join()
    sampler.sample_cpu()
    burst = [
        (status, finished)
        for body, status, finished in finished_runs(project_id)
        if body and body.get("seq", -1) >= offset
    ]
    last = max(finished for _status, finished in burst).timestamp()
    ok = sum(status == "success" for status, _ in burst)
    out.append(
        f"trivial runs, inbox to finished, concurrency 10, 2 workers x {args.slots} "
        f"slot{'s' if args.slots > 1 else ''}: "
        f"{done / (last - first_sent):,.0f} runs finished/s ({done:,} of {accepted:,} messages, "
        f"{ok:,} success, in {last - first_sent:.1f} s)"
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
    # Two slots per worker: as many as the engine's warm pool keeps per project (KINDLING_POOL_SIZE),
    # so that no run pays for a cold Node start; 4 runs at once are plenty for 2 cores.
    parser.add_argument("--slots", type=int, default=1, help="slots per worker process (default 1)")
    parser.add_argument("--inbox-only", action="store_true", help="stop after the inbox throughput phase")
    parser.add_argument("--auth-rounds", type=int, default=7, help="alternating open/authenticated runs")
    parser.add_argument("--auth-seconds", type=float, default=2.0, help="length of each of those runs")
    args = parser.parse_args()

    env, port = bench_env(args.database_url)
    paths = setup_database(env)
    from django.db import connection

    with serving(env, "--workers", "2", "--slots", str(args.slots)) as server:
        args.server_pid = server.pid
        load = os.getloadavg()[0]
        print(
            f"Kindling pipeline bench: {connection.vendor}, {os.cpu_count()} cores, "
            f"load average {load:.2f} at start, client and server on this machine",
            flush=True,
        )
        asyncio.run(bench(port, paths, args))


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
