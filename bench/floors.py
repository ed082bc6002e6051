"""The floors that bench/pipeline.py measures in the same run, on the same machine, before it starts
Kindling, so that each of Kindling's figures is printed with its ratio to what the machine allows:

1. a bare ASGI app under uvicorn that reads the body and answers 202 (what the inbox could accept
   per second if storing a message cost nothing);
2. a bare insert-and-commit loop of 1 KB rows on the same database (SQLite with Kindling's settings
   in a file under the bench's root, or the PostgreSQL server given; one connection, one row per
   commit: what one writer that commits each message alone can reach);
3. the raw warm runtime: trivial runs, one after the other, on one warm Node process of the engine's
   pool, sandboxed as a worker runs them (what one project with concurrency 1 could finish per second
   if the platform cost nothing).
"""

import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAYLOAD = "x" * 1024


async def bare_app(scope, receive, send) -> None:
    """Reads the request's body and answers 202 with a small JSON body (uvicorn bench.floors:bare_app)."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    body = b'{"meta": {"message": "Data accepted and processing has begun."}, "data": ["trivial"]}'
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 202, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def bare_inbox_rate(port: int, closed_loop, path_body, requests: int, seconds: float) -> float:
    """Accepted/s of the bare app, with the bench's own load client (`closed_loop`)."""
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.floors:bare_app",
            "--port",
            str(port),
            "--no-access-log",
            "--lifespan",
            "off",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        result = asyncio.run(closed_loop(port, "/inbox/bare", path_body, requests, seconds))
    finally:
        server.terminate()
        server.wait(10)
    return result["statuses"].get(202, 0) / result["elapsed"]


def insert_commit_rate(root: Path, database_url: str | None, seconds: float) -> float:
    """Rows inserted and committed one at a time per second, 1 KB each."""
    if database_url:
        import psycopg

        connection = psycopg.connect(database_url)
        connection.execute("CREATE TEMP TABLE floor (id bigserial PRIMARY KEY, body jsonb)")
        connection.commit()
        insert = "INSERT INTO floor (body) VALUES (%s)"
    else:
        connection = sqlite3.connect(root / "floor.sqlite3", isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("CREATE TABLE floor (id INTEGER PRIMARY KEY, body TEXT)")
        insert = "INSERT INTO floor (body) VALUES (?)"
    body = f'{{"bench": true, "pad": "{PAYLOAD}"}}'
    done, started = 0, time.perf_counter()
    try:
        while time.perf_counter() - started < seconds:
            if database_url:
                connection.execute(insert, [body])
                connection.commit()
            else:
                connection.execute("BEGIN IMMEDIATE")
                connection.execute(insert, [body])
                connection.execute("COMMIT")
            done += 1
    finally:
        connection.close()
    return done / (time.perf_counter() - started)


def warm_runtime_rate(repo: Path, seconds: float) -> float:
    """Trivial runs finished per second, one after the other, on one warm process of the pool."""
    sys.path.insert(0, str(ROOT))
    from kindling import engine

    def trivial() -> engine.RunSpec:
        return engine.RunSpec(
            run_id=f"floor-{uuid.uuid4()}",
            expression="fn(state => state);",
            adaptor="@openfn/language-common@3.3.4",
            state={"data": {}, "configuration": None},
        )

    engine.ensure_adaptor("@openfn/language-common@3.3.4", repo)
    pool = engine.Pool(size=1)
    try:
        for _ in range(20):  # the process starts, then warms up
            pool.execute(trivial(), key="floor", repo_dir=repo)
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            result = pool.execute(trivial(), key="floor", repo_dir=repo)
            if result.exit_code != 0:
                raise SystemExit(f"a floor run failed with exit {result.exit_code}")
            done += 1
        return done / (time.perf_counter() - started)
    finally:
        pool.close()


def adaptor_repo() -> Path:
    return Path(os.environ.get("KINDLING_ADAPTOR_DIR", ROOT / "data" / "adaptors"))
