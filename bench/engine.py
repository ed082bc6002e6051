"""Kindling engine benchmark: what one run costs the worker that executes it, measured from Python
around `engine.execute` (the worker's own call), with the real Node runner and real adaptors.

    .venv/bin/python bench/engine.py              # 500 warm runs per job
    .venv/bin/python bench/engine.py --runs 100   # quicker

For each trivial job (`fn(state => state)` on language-common and on language-http, and a GET to a
local HTTP server with language-http) it prints, in one run:

1. cold: a fresh Node process per run (start Node, import the runtime and the adaptor, compile, run),
   the median of 5 runs; and a project's first run in a pool with a standby process (what the
   worker pays on a project's first run, or the first after a recycle: Node, the runtime and the
   compiler are loaded ahead, the run imports its adaptor), the median of 5 projects;
2. warm: the median and p95 of `--runs` runs on one warm process of the pool (the default settings:
   recycled after the default share of runs), after 5 runs to warm it up;
3. runs per second with 2 warm processes: 2 threads executing `--runs` runs between them;
4. the resident memory of a warm process (its whole process tree, bubblewrap included) after those
   runs with the default recycling, and after as many runs on a process that is never recycled;
5. the CPU time of one warm run: the Node process's (all its threads, over the first runs of one
   process) and the engine's own in Python. Unlike the times above, it changes little on a busy
   machine.

Every run's exit code is checked. Nothing is asserted about time: a busy machine gives slower figures,
so the load average is printed first and last. The local HTTP server runs in a process of its own.
"""

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kindling import engine  # noqa: E402
from kindling.engine import sandbox  # noqa: E402
from kindling.engine.node import RunnerProcess, node_binary  # noqa: E402
from kindling.engine.pool import MAX_RUNS  # noqa: E402

COMMON = "@openfn/language-common@3.3.4"
HTTP = "@openfn/language-http@7.2.10"
COLD_RUNS = 5
WARM_UP = 5
NO_SNAPSHOT_ENV = "KINDLING_NO_RUNNER_SNAPSHOT"
DEFAULT_POOL = {"size": 2, "max_runs": MAX_RUNS, "max_heap_mb": 256, "idle_seconds": 300}


# A local HTTP system for the language-http job: answers every GET with a small JSON body.
PING_SERVER = """
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Ping(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms wait for an ACK

    def do_GET(self):
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a recycled Node process resets its keep-alive connection: nothing to report

server = Server(("127.0.0.1", 0), Ping)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far, all its threads."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def spec(expression: str, adaptor: str, configuration=None) -> engine.RunSpec:
    return engine.RunSpec(
        run_id=f"bench-{uuid.uuid4()}",
        expression=expression,
        adaptor=adaptor,
        state={"data": {}, "configuration": configuration},
    )


def timed(call) -> float:
    started = time.perf_counter()
    result = call()
    elapsed = time.perf_counter() - started
    if result.exit_code != 0:
        log = "\n".join(f"{line.source} {line.message}" for line in result.log)
        raise SystemExit(f"a benchmark run failed with exit {result.exit_code}:\n{log}")
    return elapsed


def wait_for_standby(pool) -> None:
    deadline = time.monotonic() + 60
    while not pool.standby_pids():
        if time.monotonic() > deadline:
            raise SystemExit("no standby process started within 60 s")
        time.sleep(0.05)
    time.sleep(1.0)  # started is not loaded: give it the time a real worker would have had


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def measure(name: str, expression: str, adaptor: str, configuration, repo: Path, runs: int) -> dict:
    make = lambda: spec(expression, adaptor, configuration)  # noqa: E731
    cold = [timed(lambda: engine.execute(make(), repo_dir=repo)) for _ in range(COLD_RUNS)]

    pool = engine.Pool(**{**DEFAULT_POOL, "standby": 1})
    try:
        timed(lambda: pool.execute(make(), key="seed", repo_dir=repo))  # the pool learns what to start
        first = []
        for n in range(COLD_RUNS):
            wait_for_standby(pool)
            first.append(timed(lambda n=n: pool.execute(make(), key=f"project-{n}", repo_dir=repo)))
    finally:
        pool.close()

    pool = engine.Pool(**DEFAULT_POOL)
    try:
        for _ in range(WARM_UP):
            timed(lambda: pool.execute(make(), key="bench", repo_dir=repo))
        # CPU over runs that the first process serves before it is recycled.
        # A process serves at least three quarters of max_runs (Pool.draw_run_limit).
        counted = min(runs, DEFAULT_POOL["max_runs"] * 3 // 4 - WARM_UP - 1)
        [node] = pool.node_pids("bench")
        node_cpu, engine_cpu = cpu_seconds(node), time.process_time()
        warm = []
        for n in range(runs):
            warm.append(timed(lambda: pool.execute(make(), key="bench", repo_dir=repo)))
            if n + 1 == counted:
                node_cpu = (cpu_seconds(node) - node_cpu) / counted
                engine_cpu = (time.process_time() - engine_cpu) / counted
        rss_recycled = max(pool.rss_mb("bench"))
    finally:
        pool.close()

    pool = engine.Pool(**DEFAULT_POOL)
    try:

        def share():
            for _ in range(runs // 2):
                timed(lambda: pool.execute(make(), key="parallel", repo_dir=repo))

        threads = [threading.Thread(target=share) for _ in range(2)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        per_second = (runs // 2 * 2) / (time.perf_counter() - started)
    finally:
        pool.close()

    never = engine.Pool(**{**DEFAULT_POOL, "max_runs": 10**9, "max_heap_mb": 10**6})
    try:
        for _ in range(WARM_UP + runs):
            timed(lambda: never.execute(make(), key="bench", repo_dir=repo))
        rss_never = max(never.rss_mb("bench"))
    finally:
        never.close()

    return {
        "job": name,
        "cold": statistics.median(cold),
        "first": statistics.median(first),
        "median": statistics.median(warm),
        "p95": percentile(warm, 0.95),
        "per_second": per_second,
        "rss_recycled": rss_recycled,
        "rss_never": rss_never,
        "node_cpu": node_cpu,
        "engine_cpu": engine_cpu,
    }


def network_cost(repo: Path, runs: int) -> dict:
    """Cold and warm runs with the job's own network (slirp4netns and routing rules, what workers
    use) and with the host's network (what `kindling execute` keeps), alternating."""
    make = lambda: spec("fn(state => state);", COMMON)  # noqa: E731
    figures = {"own network (workers)": {"local": False}, "host network (kindling execute)": {"local": True}}
    for row in figures.values():
        row["cold_runs"], row["warm_runs"] = [], []
    for _ in range(COLD_RUNS):
        for row in figures.values():
            row["cold_runs"].append(
                timed(lambda row=row: engine.execute(make(), repo_dir=repo, local=row["local"]))
            )
    pools = {label: engine.Pool(**DEFAULT_POOL, local=row["local"]) for label, row in figures.items()}
    try:
        for pool in pools.values():
            for _ in range(WARM_UP):
                timed(lambda pool=pool: pool.execute(make(), key="bench", repo_dir=repo))
        for _ in range(runs):
            for label, pool in pools.items():
                figures[label]["warm_runs"].append(
                    timed(lambda pool=pool: pool.execute(make(), key="bench", repo_dir=repo))
                )
    finally:
        for pool in pools.values():
            pool.close()
    return {
        label: {
            "cold": statistics.median(row["cold_runs"]),
            "median": statistics.median(row["warm_runs"]),
            "p95": percentile(row["warm_runs"], 0.95),
        }
        for label, row in figures.items()
    }


class NodeCpu:
    """The CPU time of each runner's Node.js process (all its threads) when it sends its result: a
    one-shot process exits, or is killed, right after, and no parent of ours reaps it to count it."""

    def __init__(self):
        self.seconds: list[float] = []
        self._events = RunnerProcess.events

    def __enter__(self):
        cpu, events = self, self._events

        def counted(runner, *args, **kwargs):
            for event in events(runner, *args, **kwargs):
                if event["type"] == "result":
                    cpu.seconds.append(sum(cpu_seconds(pid) for pid in runner.node_pids()))
                yield event

        RunnerProcess.events = counted
        return self

    def __exit__(self, *exc):
        RunnerProcess.events = self._events


def snapshot_cost(repo: Path, runs: int) -> dict:
    """Cold runs (a fresh Node process each, as `kindling execute` and a worker without a standby
    start one) from the runner's startup snapshot and without it (worker.mjs), alternating: the wall
    time of each run and the CPU time of its Node.js process, which load distorts much less."""
    figures = {}
    for job, adaptor in (
        ("language-common fn(state => state)", COMMON),
        ("language-http fn(state => state)", HTTP),
    ):
        for label in ("startup snapshot", "worker.mjs (no snapshot)"):
            figures[(job, label)] = {"adaptor": adaptor, "wall": [], "cpu": []}
    for _ in range(runs):
        for (_job, label), row in figures.items():
            if label == "startup snapshot":
                os.environ.pop(NO_SNAPSHOT_ENV, None)
            else:
                os.environ[NO_SNAPSHOT_ENV] = "1"
            adaptor = row["adaptor"]
            with NodeCpu() as cpu:
                row["wall"].append(
                    timed(
                        lambda adaptor=adaptor: engine.execute(
                            spec("fn(state => state);", adaptor), repo_dir=repo
                        )
                    )
                )
            row["cpu"].append(sum(cpu.seconds))
    os.environ.pop(NO_SNAPSHOT_ENV, None)
    return {
        key: {
            "wall": statistics.median(row["wall"]),
            "wall_min": min(row["wall"]),
            "cpu": statistics.median(row["cpu"]),
        }
        for key, row in figures.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=500, help="warm runs per job (default 500)")
    default_repo = os.environ.get("KINDLING_ADAPTOR_DIR", ROOT / "data" / "adaptors")
    parser.add_argument("--adaptor-dir", default=default_repo)
    parser.add_argument(
        "--network-only", action="store_true", help="only what the job's own network costs (quicker)"
    )
    parser.add_argument(
        "--snapshot-only",
        action="store_true",
        help="only cold runs with the runner's startup snapshot and without it, alternating (--runs each)",
    )
    args = parser.parse_args()
    repo = Path(args.adaptor_dir)
    for adaptor in (COMMON, HTTP):
        engine.ensure_adaptor(adaptor, repo)

    server = subprocess.Popen([sys.executable, "-c", PING_SERVER], stdout=subprocess.PIPE, text=True)
    port = server.stdout.readline().strip()
    base = f"http://127.0.0.1:{port}"
    # Jobs have a network of their own: open the local server's port to them, as an operator would.
    os.environ[sandbox.ALLOW_ENV] = f"127.0.0.1:{port}"

    load = os.getloadavg()
    node = os.popen(f"{node_binary()} --version").read().strip()
    print(f"Kindling engine benchmark: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f}")
    print(
        f"Node.js {node}; {'bubblewrap sandbox' if sandbox.available() else 'no OS sandbox'}; "
        f"pool: recycled after {DEFAULT_POOL['max_runs']} runs; {args.runs} warm runs per job"
    )
    jobs = [
        ("language-common fn(state => state)", "fn(state => state);", COMMON, None),
        ("language-http fn(state => state)", "fn(state => state);", HTTP, None),
        ("language-http get() to a local server", "get('/ping');", HTTP, {"baseUrl": base}),
    ]
    if args.snapshot_only:
        server.kill()
        print_snapshot_cost(snapshot_cost(repo, args.runs), args.runs)
        return
    try:
        rows = [] if args.network_only else [measure(*job, repo=repo, runs=args.runs) for job in jobs]
        isolation = network_cost(repo, args.runs)
    finally:
        server.kill()

    if rows:
        print()
        print(
            "| job | cold run | first run, standby | warm median | warm p95 | runs/s, 2 processes "
            f"| RSS after {args.runs} runs (recycled / never) | CPU per warm run (Node + engine) |"
        )
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for row in rows:
            print(
                f"| {row['job']} | {row['cold'] * 1000:.0f} ms | {row['first'] * 1000:.0f} ms "
                f"| {row['median'] * 1000:.1f} ms "
                f"| {row['p95'] * 1000:.1f} ms | {row['per_second']:.0f} "
                f"| {row['rss_recycled']:.0f} MB / {row['rss_never']:.0f} MB "
                f"| {row['node_cpu'] * 1000:.1f} + {row['engine_cpu'] * 1000:.1f} ms |"
            )
    print()
    print(
        f"What the job's own network costs (language-common fn(state => state), {args.runs} warm runs each):"
    )
    print("| network | cold run | warm median | warm p95 |")
    print("| --- | ---: | ---: | ---: |")
    for label, row in isolation.items():
        print(
            f"| {label} | {row['cold'] * 1000:.0f} ms "
            f"| {row['median'] * 1000:.2f} ms | {row['p95'] * 1000:.2f} ms |"
        )
    load = os.getloadavg()
    print(f"\nload average at the end: {load[0]:.2f} {load[1]:.2f}")


def print_snapshot_cost(figures: dict, runs: int) -> None:
    print()
    print(f"Cold runs with and without the runner's startup snapshot, alternating ({runs} each):")
    print("| job | started from | cold run, median (fastest) | CPU time of Node.js, median |")
    print("| --- | --- | ---: | ---: |")
    for (job, label), row in figures.items():
        print(
            f"| {job} | {label} | {row['wall'] * 1000:.0f} ms ({row['wall_min'] * 1000:.0f} ms) "
            f"| {row['cpu'] * 1000:.0f} ms |"
        )
    load = os.getloadavg()
    print(f"\nload average at the end: {load[0]:.2f} {load[1]:.2f}")


if __name__ == "__main__":
    main()
