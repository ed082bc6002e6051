"""Claiming (spec section 10): per-project concurrency, creation order, no project starves another,
and no run is claimed twice, also when many threads claim at the same moment."""

from collections import Counter

from kindling.runs import queue
from kindling.runs.models import Run
from tests.domain.conftest import claim_next
from tests.queue.conftest import in_threads, queued


def claim():
    return queue.claim("thread", lease_seconds=60)


def test_threads_claiming_at_once_never_exceed_the_project_concurrency(shared_db, project_with):
    job = project_with(concurrency=2).jobs.get()
    runs = queued(job, 12)
    for start in range(0, 12, 2):  # each round: 8 threads race for the 2 slots
        claimed = in_threads(8, claim)
        assert not [c for c in claimed if isinstance(c, Exception)]
        assert sorted(c.pk for c in claimed if c) == [runs[start].pk, runs[start + 1].pk]
        assert Run.objects.filter(status="running").count() == 2
        for run in claimed:
            if run:
                queue.finish(run, 0, {}, [])


def test_every_run_is_claimed_by_exactly_one_of_many_threads(shared_db, project_with):
    jobs = [project_with(concurrency=10, name=f"P{i}").jobs.get() for i in range(3)]
    runs = [run for job in jobs for run in queued(job, 8)]

    def claim_all():
        mine = []
        while (run := claim()) is not None:
            mine.append(run.pk)
        return mine

    results = in_threads(6, claim_all)
    assert not [r for r in results if isinstance(r, Exception)]
    claims = Counter(pk for mine in results for pk in mine)
    # 3 projects x 10 slots: the 24 runs all fit, each claimed once
    assert sorted(claims) == sorted(run.pk for run in runs)
    assert set(claims.values()) == {1}


def test_a_project_at_its_limit_with_a_long_backlog_does_not_hold_back_another(project_with):
    busy = project_with(concurrency=1, name="Busy").jobs.get()
    queued(busy, 50)
    assert claim_next().job == busy
    other_run = queued(project_with(concurrency=1, name="Other").jobs.get(), 1)[0]
    assert claim_next().pk == other_run.pk
    assert claim_next() is None


def test_the_project_whose_next_run_is_oldest_goes_first(project_with):
    first = project_with(name="First").jobs.get()
    second = project_with(name="Second").jobs.get()
    older = queued(second, 1)[0]
    queued(first, 1)
    assert claim_next().pk == older.pk


def test_runs_of_a_project_with_concurrency_1_start_one_at_a_time_in_creation_order(project_with):
    job = project_with(concurrency=1).jobs.get()
    runs = queued(job, 5)
    order = []
    while (run := claim_next()) is not None:
        assert claim_next() is None  # the next waits until this one ends
        order.append(run.pk)
        queue.finish(run, 0, {}, [])
    assert order == [run.pk for run in runs]


def test_with_concurrency_5_five_runs_start_and_the_sixth_waits(project_with):
    job = project_with(concurrency=5).jobs.get()
    runs = queued(job, 6)
    claimed = [claim_next() for _ in range(6)]
    assert [run and run.pk for run in claimed] == [run.pk for run in runs[:5]] + [None]
    queue.finish(claimed[0], 0, {}, [])
    assert claim_next().pk == runs[5].pk
