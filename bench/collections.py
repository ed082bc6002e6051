"""Collections bench: a job sets 10,000 items in a collection, another reads them all back, through the
real @openfn/language-collections 0.8.0 and the portal's collections API, on a real `kindling serve`.

    .venv/bin/python bench/collections.py                      # SQLite, in a temporary data dir
    .venv/bin/python bench/collections.py --database-url postgres://user@host:5432/kindling_bench

It starts `kindling serve --workers 1` as bench/pipeline.py does (the adaptor is installed into the
adaptors folder first if it is not there), creates a project with a collection and two jobs, and
posts two messages with `?wait=60`: the first carries the items (`{"id": "item-00001", "n": 1, ...}`)
that the `set` job stores with `collections.set('bench', item => item.id, $.data.items)` (the adaptor
uploads them in batches of 1,000); the second starts the `get` job, `collections.get('bench', '*')`,
which pages through them (1,000 a page) into its final state. It prints each run's time as the worker
recorded it (start to end, Node included), the items per second, and checks the count read back.
"""

import argparse
import http.client
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline import bench_env, serving, setup_database  # noqa: E402

ADAPTOR, VERSION = "@openfn/language-collections", "0.8.0"


def make_project() -> str:
    from kindling.accounts.models import User
    from kindling.collections import store
    from kindling.jobs.models import Job, Trigger
    from kindling.plans.models import Plan, Subscription
    from kindling.projects.models import Project

    project = Project.create("Bench collections", User.objects.get(email="bench@example.com"))
    Subscription.objects.create(project=project, plan=Plan.objects.get(name="Bench"))
    store.create_collection(project, "bench")
    for phase, expression in (
        ("set", "collections.set('bench', item => item.id, $.data.items);"),
        ("get", "collections.get('bench', '*');"),
    ):
        trigger = Trigger.objects.create(
            project=project, name=phase, kind=Trigger.Kind.MESSAGE, criteria={"phase": phase}
        )
        Job.objects.create(
            project=project,
            name=phase,
            trigger=trigger,
            expression=expression,
            adaptor=ADAPTOR,
            adaptor_version=VERSION,
            enabled=True,
            reply_with_data=False,
        )
    return f"/inbox/{project.inbox_uuid}?wait=60"


def post(port: int, path: str, body: dict) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    response = connection.getresponse()
    return response.status, json.loads(response.read())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a PostgreSQL database of its own (default: SQLite)")
    parser.add_argument("--items", type=int, default=10_000)
    args = parser.parse_args()

    env, port = bench_env(args.database_url)
    setup_database(env)
    from django.db import connection as db

    from kindling import engine
    from kindling.collections.models import Item
    from kindling.runs.models import Run

    engine.ensure_adaptor(f"{ADAPTOR}@{VERSION}", Path(env["KINDLING_ADAPTOR_DIR"]))
    path = make_project()
    items = [
        {"id": f"item-{n:05d}", "n": n, "name": f"Patient {n}", "village": "Kasese"}
        for n in range(args.items)
    ]
    with serving(env, "--workers", "1"):
        print(
            f"Kindling collections bench: {db.vendor}, {os.cpu_count()} cores, load average "
            f"{os.getloadavg()[0]:.2f}, {args.items:,} items of ~{len(json.dumps(items[-1]))} bytes"
        )
        for phase, body in (("set", {"phase": "set", "items": items}), ("get", {"phase": "get"})):
            began = time.perf_counter()
            status, answer = post(port, path, body)
            elapsed = time.perf_counter() - began
            if status != 200 or answer["data"][0]["status"] != "success":
                run_id = (answer.get("data") or answer.get("runs") or [{}])[0].get("id")
                log = Run.objects.get(pk=run_id).log_text()[-2000:] if run_id else ""
                sys.exit(f"{phase}: {status} {answer}\n{log}")
            run = Run.objects.get(pk=answer["data"][0]["id"])
            seconds = (run.finished_at - run.started_at).total_seconds()
            if phase == "set":
                extra = f"{Item.objects.filter(collection__name='bench').count():,} items stored"
            else:
                extra = f"{len(run.final_state['data']):,} items read back into the final state"
            print(
                f"{phase}: run {seconds * 1000:,.0f} ms ({args.items / seconds:,.0f} items/s), "
                f"whole request {elapsed * 1000:,.0f} ms; {extra}"
            )


if __name__ == "__main__":
    main()
