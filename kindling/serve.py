"""`kindling serve`: the portal (uvicorn) and the workers, each a process of its own, started and
watched by this one. It loads no Django (kindling/cli.py hands `serve` straight here), so it costs
~10 MB instead of ~55 MB: the scheduler (cron and the janitor) runs as a thread of the first worker,
or as a `kindling scheduler` process of its own when there is no worker."""

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from kindling import env
from kindling.stopping import StopOnSignal


def parser() -> argparse.ArgumentParser:
    parse = argparse.ArgumentParser(
        prog="kindling serve",
        description="Start the portal (uvicorn) and the workers, and the scheduler (cron, janitor).",
    )
    parse.add_argument("--host", default=os.environ.get("KINDLING_HOST", "127.0.0.1"))
    parse.add_argument("--port", type=int, default=env.port())
    parse.add_argument("--workers", type=int, default=1, help="number of worker processes (default 1)")
    parse.add_argument(
        "--slots",
        type=int,
        default=env.worker_slots(),
        help="runs each worker process executes at once (default %(default)s)",
    )
    parse.add_argument("--no-scheduler", action="store_true", help="run no scheduler (cron, janitor)")
    return parse


def commands(args: argparse.Namespace) -> list[list[str]]:
    python = sys.executable
    kindling = [python, "-m", "kindling.cli"]
    started = [
        [
            python,
            "-m",
            "uvicorn",
            "kindling.asgi:application",
            "--host",
            args.host,
            "--port",
            str(args.port),
            "--no-access-log",
            "--lifespan",
            "off",
            *log_config(),
        ]
    ]
    for n in range(args.workers):
        scheduler = ["--scheduler"] if n == 0 and not args.no_scheduler else []
        started.append([*kindling, "worker", "--slots", str(args.slots), *scheduler])
    if args.workers == 0 and not args.no_scheduler:
        started.append([*kindling, "scheduler"])
    return started


def log_config() -> list[str]:
    """KINDLING_LOG_FORMAT=json: uvicorn's own lines are JSON objects too."""
    if os.environ.get("KINDLING_LOG_FORMAT", "").strip().lower() != "json":
        return []
    from kindling.ops.logs import UVICORN_CONFIG

    return ["--log-config", UVICORN_CONFIG]


def share_metrics() -> None:
    """The web process and the workers count into one directory (prometheus_client's multiprocess
    mode), so that the portal's /metrics shows the whole machine; emptied at each start."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    data = Path(os.environ.get("KINDLING_DATA_DIR") or Path(__file__).resolve().parent.parent / "data")
    directory = data / "metrics"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


def main(argv: list[str]) -> None:
    try:
        args = parser().parse_args(argv)
    except ImproperlyConfigured as exc:  # a setting in the environment that cannot be used
        sys.exit(f"kindling serve: {exc}")
    if args.workers < 0 or args.slots < 1:
        sys.exit("kindling serve: --workers must be 0 or more and --slots at least 1")
    stop = StopOnSignal()
    share_metrics()
    # The workers give jobs the portal's address for collections (KINDLING_COLLECTIONS_URL's default),
    # and their sandbox opens that port: --port must reach them too.
    environment = {**os.environ, "PORT": str(args.port)}
    children = [subprocess.Popen(command, env=environment) for command in commands(args)]
    print(f"Kindling is running at http://{args.host}:{args.port}/  (Ctrl+C stops it)", flush=True)
    while not stop.requested and all(child.poll() is None for child in children):
        time.sleep(0.2)
    for child in children:
        if child.poll() is None:
            child.terminate()
    # Workers finish their current runs first.
    deadline = time.monotonic() + env.run_timeout_seconds() + 5
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    failed = [" ".join(child.args[2:4]) for child in children if child.returncode not in (0, -15)]
    if failed and not stop.requested:
        sys.exit(f"a Kindling process stopped unexpectedly: {failed}")
