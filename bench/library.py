"""Kindling Job Library benchmark: searching the library with thousands of jobs.

    .venv/bin/python bench/library.py                      # SQLite, a temporary dir, 10,000 jobs
    .venv/bin/python bench/library.py --jobs 50000
    .venv/bin/python bench/library.py --database-url postgres://postgres@127.0.0.1:5432/kh_library_bench

The data: 200 projects of JOBS / 200 jobs each, two thirds of them contributing; 10% of the jobs
private and 5% archived (never in the library). Expressions of 5 to 40 operations (0.3 to 3 KB) on
one of 8 adaptors. A second run on the same PostgreSQL database reuses the data.

It measures, REPEAT times each (p50 and p95, milliseconds, in this process), the first page of
`GET /api/v1/library` through Django's test client (the count, the page of jobs and their
operations): no filter, text (rare, common, absent), adaptor, operation, and all three together; and
the Library page. Nothing is asserted about time: a busy machine gives slower figures.
"""

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pages  # noqa: E402 - bench/pages.py: setup_django

REPEAT = 20
PROJECTS = 200
ADAPTORS = ["common", "http", "dhis2", "salesforce", "postgresql", "commcare", "openmrs", "googlesheets"]
OPERATIONS = ["fn", "each", "upsert", "create", "get", "post", "sql", "bulk", "alterState", "dataValue"]
WORDS = "patient visit register clinic referral facility household sample result payment".split()


def expression_of(rng: random.Random, i: int) -> str:
    lines = [f"// {' '.join(rng.choice(WORDS) for _ in range(6))} #{i}"]
    for _ in range(rng.randrange(5, 40)):
        op = rng.choice(OPERATIONS)
        lines.append(f"{op}('{rng.choice(WORDS)}', state => ({{ id: state.data.{rng.choice(WORDS)} }}));")
    return "\n".join(lines)


def load(total: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from kindling.jobs.models import Job, JobOperation
    from kindling.lib.operations import top_level_operations
    from kindling.projects.models import Project

    rng = random.Random(18)
    owner = get_user_model().objects.create_user("library-bench@example.com", "library-bench")
    per_project = max(1, total // PROJECTS)
    for p in range(PROJECTS):
        with transaction.atomic():
            project = Project.create(f"Library bench {p}", owner)
            project.contributes_to_library = p % 3 != 0
            project.save(update_fields=["contributes_to_library"])
            jobs = [
                Job(
                    project=project,
                    name=f"job-{p}-{j}",
                    adaptor=f"@openfn/language-{rng.choice(ADAPTORS)}",
                    adaptor_version="latest",
                    expression=expression_of(rng, p * per_project + j),
                    private=rng.random() < 0.10,
                    archived=rng.random() < 0.05,
                )
                for j in range(per_project)
            ]
            Job.objects.bulk_create(jobs)
            JobOperation.objects.bulk_create(
                [
                    JobOperation(job=job, name=name)
                    for job in jobs
                    for name in top_level_operations(job.expression)
                ]
            )
    # What autovacuum (PostgreSQL) would have done by the time anyone searches: without statistics
    # the freshly loaded tables are planned as if empty.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return owner


def timed(call):
    times, result = [], None
    for _ in range(REPEAT):
        started = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - started) * 1000)
    ordered = sorted(times)
    return statistics.median(ordered), ordered[round(0.95 * (len(ordered) - 1))], result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", default="", help="a PostgreSQL database (default: temporary SQLite)"
    )
    parser.add_argument("--jobs", type=int, default=10_000)
    args = parser.parse_args()
    pages.setup_django(args.database_url)
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from kindling.accounts.models import ApiToken
    from kindling.jobs.models import Job

    user = get_user_model().objects.filter(email="library-bench@example.com").first()
    if user is None:
        started = time.monotonic()
        user = load(args.jobs)
        print(f"loaded in {time.monotonic() - started:.0f} s")
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}; {Job.objects.count():,} jobs")
    client = Client()
    client.force_login(user)
    headers = {"Authorization": f"Bearer {ApiToken.issue(user, 'bench')}"}
    cases = [
        ("no filter", {}),
        ("text: common word", {"q": "patient"}),
        ("text: rare (one job)", {"q": "#4242"}),
        ("text: absent", {"q": "zebra"}),
        ("adaptor", {"adaptor": "dhis2"}),
        ("operation", {"operation": "upsert"}),
        ("operation: absent", {"operation": "insertMany"}),
        ("text + adaptor + operation", {"q": "clinic", "adaptor": "http", "operation": "get"}),
    ]
    print(f"\n{'GET /api/v1/library (first page of 50)':<44} {'found':>7} {'p50 ms':>9} {'p95 ms':>9}")
    for label, params in cases:
        p50, p95, response = timed(
            lambda params=params: client.get("/api/v1/library", params, headers=headers)
        )
        assert response.status_code == 200, response.content
        print(f"{label:<44} {response.json()['count']:>7,} {p50:>9.1f} {p95:>9.1f}")
    print(f"\n{'Library page (first page of 20)':<44} {'':>7} {'p50 ms':>9} {'p95 ms':>9}")
    for label, params in (cases[0], cases[1], cases[5]):
        p50, p95, response = timed(lambda params=params: client.get("/library", params))
        assert response.status_code == 200
        print(f"{label:<44} {'':>7} {p50:>9.1f} {p95:>9.1f}")


if __name__ == "__main__":
    main()
