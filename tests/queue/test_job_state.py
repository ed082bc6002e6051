"""The Inbox's run-state filter reads runs.JobState, which enqueue, finish, abort, the janitor and
run deletion keep: it must return what deriving the state from the runs returns (spec section 8)."""

import importlib
import random
from datetime import timedelta
from types import SimpleNamespace
from unittest import mock

import pytest
from django.db import connection
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kindling.inbox.filters import RUN_STATES, filter_messages
from kindling.inbox.models import Message
from kindling.runs import queue
from kindling.runs.janitor import mark_lost_runs
from kindling.runs.models import JobState, Run
from kindling.runs.reprocess import CannotRun, reprocess_message, reprocess_run, run_now
from tests.conftest import make_job, make_trigger

T0 = timezone.now() - timedelta(days=1)
STATE_TABLE = JobState._meta.db_table


def derived(project, state: str) -> set[int]:
    """The messages in `state`, derived from the runs at each request as the Inbox did before."""
    runs = Run.objects.filter(message_id=OuterRef("pk"))
    if state == "none":
        condition = ~Q(Exists(runs))
    else:
        deciding = (
            Run.objects.filter(message_id=OuterRef("message_id"), job_id=OuterRef("job_id"))
            .order_by(F("finished_at").desc(nulls_last=True), F("started_at").desc(nulls_last=True), "-id")
            .values("pk")[:1]
        )
        condition = Q(Exists(runs.filter(status__in=RUN_STATES[state][1], pk=Subquery(deciding))))
    return set(Message.objects.filter(project=project).filter(condition).values_list("pk", flat=True))


def filtered(project, state: str) -> set[int]:
    found = filter_messages(Message.objects.filter(project=project), state=state)
    return set(found.values_list("pk", flat=True))


def assert_filters_match_the_runs(project) -> None:
    for state in RUN_STATES:
        assert filtered(project, state) == derived(project, state), state


def rows() -> list[tuple]:
    kept = JobState.objects.order_by("message_id", "job_id")
    return list(kept.values_list("message_id", "job_id", "project_id", "received_at", "state"))


class Clock:
    """timezone.now() for the code under test: whole seconds in a short span, so that runs often end
    (and start) at the same moment and the ties of the spec's order are exercised."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def __call__(self):
        return T0 + timedelta(seconds=self.rng.randint(0, 2))


@pytest.fixture
def inbox(project):
    forms = make_trigger(project, "forms", criteria={"form": "a"})
    others = make_trigger(project, "others", criteria={"kind": "x"})
    jobs = [
        make_job(project, "first", forms, enabled=True),
        make_job(project, "second", forms, enabled=True),
        make_job(project, "third", others, enabled=True),
    ]
    messages = [
        Message.objects.create(project=project, body={"form": "a", "kind": "x" if i % 2 else "y", "n": i})
        for i in range(14)
    ]
    return jobs, messages


def start(run: Run, at) -> None:
    # What claim's UPDATE does (pending -> running), for a run chosen here rather than the oldest.
    Run.objects.filter(pk=run.pk, status=Run.Status.PENDING).update(
        status=Run.Status.RUNNING, started_at=at, worker="w", lease_until=T0 + timedelta(days=1)
    )


def lose(run: Run, now) -> None:
    Run.objects.filter(pk=run.pk).update(lease_until=now - timedelta(seconds=1))
    mark_lost_runs(now)


def play(rng: random.Random, jobs, messages, clock: Clock) -> None:
    """One random step of a project's life, through the functions the portal, API and worker call."""
    runs = list(Run.objects.exclude(message=None).order_by("id"))
    pending = [run for run in runs if run.status == Run.Status.PENDING]
    running = [run for run in runs if run.status == Run.Status.RUNNING]
    # The last two messages never get a run: they stay in state "none".
    message, job = rng.choice(messages[:-2]), rng.choice(jobs)
    action = rng.choice(
        [
            "enqueue",
            "enqueue",
            "start",
            "start",
            "finish",
            "finish",
            "finish",
            "abort",
            "lose",
            "reprocess",
            "reprocess message",
            "run now",
            "delete",
            "delete one",
        ]
    )
    if action in ("reprocess", "reprocess message", "run now"):
        # Out of the 10-second window of every (message, job) pair: created_at is not on `clock`.
        Run.objects.update(created_at=T0 - timedelta(hours=1))
    try:
        if action == "enqueue":
            queue.enqueue(job, Run.Cause.MESSAGE, {}, message=message)
        elif action == "start" and pending:
            start(rng.choice(pending), clock())
        elif action == "finish" and running:
            queue.finish(rng.choice(running), rng.choice([0, 0, 1, 2]), {}, [])
        elif action == "abort" and (pending or running):
            rng.choice(pending + running).abort()
        elif action == "lose" and running:
            lose(rng.choice(running), clock())
        elif action == "reprocess" and runs:
            reprocess_run(rng.choice(runs))
        elif action == "reprocess message":
            reprocess_message(message)
        elif action == "run now":
            run_now(job, message)
        elif action == "delete" and runs:
            Run.objects.filter(pk__in=[run.pk for run in rng.sample(runs, min(3, len(runs)))]).delete()
        elif action == "delete one" and runs:
            rng.choice(runs).delete()
    except CannotRun:
        pass  # the 10-second rule of a (message, job) pair refused it


@pytest.mark.parametrize("seed", [1, 2])
def test_the_run_state_filters_return_what_the_runs_say_through_a_random_history(project, inbox, seed):
    jobs, messages = inbox
    rng = random.Random(seed)
    clock = Clock(rng)
    seen = set()
    with mock.patch("django.utils.timezone.now", clock):
        for step in range(260):
            play(rng, jobs, messages, clock)
            if step % 20 == 19:
                assert_filters_match_the_runs(project)
                seen |= {state for state in RUN_STATES if filtered(project, state)}
    assert_filters_match_the_runs(project)
    assert seen == set(RUN_STATES)
    # What the runs kept, row for row, is what deriving every pair again from its runs gives.
    kept = rows()
    JobState.rebuild()
    assert rows() == kept


def a_run(job, message, status, finished=None, started=None) -> Run:
    """A run written directly (no JobState row): finished/started in seconds after T0, or None."""
    return Run.objects.create(
        project_id=job.project_id,
        job=job,
        message=message,
        cause=Run.Cause.MESSAGE,
        status=status,
        started_at=None if started is None else T0 + timedelta(seconds=started),
        finished_at=None if finished is None else T0 + timedelta(seconds=finished),
    )


def test_the_migration_fills_the_states_of_the_runs_already_there(project, inbox):
    (first, second, third), messages = inbox
    rng = random.Random(7)
    statuses = list(Run.Status.values)
    for message in messages[:-2]:
        for job in (first, second, third):
            for _ in range(rng.randint(0, 3)):
                status = rng.choice(statuses)
                finished = None if status in ("pending", "running") else rng.randint(0, 2)
                started = None if status == "pending" or rng.random() < 0.2 else rng.randint(0, 2)
                a_run(job, message, status, finished, started)
    # The ties of the spec's order: equal finish times are decided by start time, then by id.
    a_run(first, messages[-1], "failed", finished=5, started=1)
    a_run(first, messages[-1], "success", finished=5, started=2)
    a_run(second, messages[-1], "success", finished=5)
    a_run(second, messages[-1], "aborted", finished=5)
    assert not JobState.objects.exists()

    migration = importlib.import_module("kindling.runs.migrations.0004_job_state")
    migration.fill(None, SimpleNamespace(connection=connection))

    assert_filters_match_the_runs(project)
    assert dict(JobState.objects.filter(message=messages[-1]).values_list("job_id", "state")) == {
        first.pk: "success",
        second.pk: "aborted",
    }


def finishing(run, exit_code=0, at=None):
    with mock.patch("django.utils.timezone.now", lambda: at or T0):
        queue.finish(run, exit_code, {}, [])


def running(job, message, started=0):
    run = queue.enqueue(job, Run.Cause.MESSAGE, {}, message=message)
    start(run, T0 + timedelta(seconds=started))
    run.refresh_from_db()
    return run


def state_of(message, job) -> str:
    return JobState.objects.get(message=message, job=job).state


def test_a_pair_is_pending_from_its_first_run_until_one_finishes(project, inbox):
    (job, *_), (message, *_) = inbox
    run = running(job, message)
    assert state_of(message, job) == "pending"
    finishing(run, exit_code=1)
    assert state_of(message, job) == "failed"


def test_a_reprocess_leaves_the_state_to_the_last_finished_run_until_it_ends(project, inbox):
    (job, *_), (message, *_) = inbox
    failed = running(job, message)
    finishing(failed, exit_code=1)
    Run.objects.update(created_at=T0)  # out of the pair's 10-second window
    again = reprocess_run(failed)
    assert state_of(message, job) == "failed" and filtered(project, "failed") == {message.pk}
    start(again, T0 + timedelta(seconds=30))
    again.refresh_from_db()
    finishing(again, at=T0 + timedelta(seconds=31))
    assert state_of(message, job) == "success" and filtered(project, "failed") == set()


def test_a_run_that_ends_earlier_than_the_deciding_one_does_not_replace_it(project, inbox):
    # Two workers' clocks: the run recorded second finished earlier by its worker's clock.
    (job, *_), (message, *_) = inbox
    late, early = running(job, message, started=1), running(job, message, started=2)
    finishing(late, exit_code=1, at=T0 + timedelta(seconds=9))
    finishing(early, exit_code=0, at=T0 + timedelta(seconds=8))
    assert state_of(message, job) == "failed"


def test_equal_finish_times_are_decided_by_start_time_then_by_id_whatever_order_they_end_in(project, inbox):
    (job, other, _), (message, *_) = inbox
    older, newer = running(job, message, started=2), running(job, message, started=2)
    finishing(newer, exit_code=1, at=T0 + timedelta(seconds=5))
    finishing(older, exit_code=0, at=T0 + timedelta(seconds=5))
    assert state_of(message, job) == "failed"
    ran = running(other, message, started=1)
    never_started = queue.enqueue(other, Run.Cause.MESSAGE, {}, message=message)
    finishing(ran, exit_code=0, at=T0 + timedelta(seconds=5))
    with mock.patch("django.utils.timezone.now", lambda: T0 + timedelta(seconds=5)):
        never_started.abort()
    assert state_of(message, other) == "success"
    assert_filters_match_the_runs(project)


def test_aborted_and_lost_runs_decide_their_pair(project, inbox):
    (job, other, _), (message, *_) = inbox
    queue.enqueue(job, Run.Cause.MESSAGE, {}, message=message).abort()
    lose(running(other, message), timezone.now())
    assert (state_of(message, job), state_of(message, other)) == ("aborted", "failed")
    assert filtered(project, "aborted") == filtered(project, "failed") == {message.pk}


def test_deleting_the_deciding_run_gives_the_pair_back_to_the_one_before(project, inbox):
    (job, *_), (message, *_) = inbox
    first = running(job, message)
    finishing(first, exit_code=0, at=T0 + timedelta(seconds=5))
    second = running(job, message, started=6)
    finishing(second, exit_code=1, at=T0 + timedelta(seconds=7))
    second.delete()
    assert state_of(message, job) == "success"
    Run.objects.filter(message=message).delete()
    assert not JobState.objects.filter(message=message).exists()
    assert message.pk in filtered(project, "none")


def test_ending_a_run_writes_its_job_state_in_one_statement(project, inbox):
    (job, *_), (message, *_) = inbox
    run = running(job, message)
    cron = make_job(project, "nightly", make_trigger(project, "nightly", kind="cron", cron="0 2 * * *"))
    unrelated = queue.enqueue(cron, Run.Cause.CRON, {})
    start(unrelated, T0)
    unrelated.refresh_from_db()

    with CaptureQueriesContext(connection) as message_run:
        queue.finish(run, 0, {}, [])
    with CaptureQueriesContext(connection) as cron_run:
        queue.finish(unrelated, 0, {}, [])

    assert len([q for q in message_run.captured_queries if STATE_TABLE in q["sql"]]) == 1
    assert [q for q in cron_run.captured_queries if STATE_TABLE in q["sql"]] == []


def test_the_states_and_the_filter_keys_agree(db):
    for key, (_label, statuses) in RUN_STATES.items():
        if key != "none":
            assert set(statuses) == {s for s, state in JobState.OF_STATUS.items() if state == key}
