"""Message job-state (spec section 8): per (message, job), the status of the last finished run."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kindling.inbox.models import Message
from kindling.runs.models import Run
from kindling.runs.states import job_states, job_states_by_message
from tests.conftest import make_job, make_trigger

NOW = timezone.now()


@pytest.fixture
def job(project):
    return make_job(project, "job-1", make_trigger(project))


@pytest.fixture
def message(project):
    return Message.objects.create(project=project, body={"n": 1})


def a_run(job, message, status, finished=None, started=None):
    """finished/started: seconds after NOW, or None."""
    return Run.objects.create(
        project_id=job.project_id,
        job=job,
        message=message,
        cause="message",
        status=status,
        started_at=None if started is None else NOW + timedelta(seconds=started),
        finished_at=None if finished is None else NOW + timedelta(seconds=finished),
    )


def test_the_run_that_finished_last_decides_whatever_the_order_they_were_created(job, message):
    a_run(job, message, "success", finished=5, started=1)
    a_run(job, message, "failed", finished=3, started=2)  # created later, finished earlier
    assert job_states(message) == {job.pk: "success"}


def test_a_newer_run_that_has_not_finished_does_not_change_the_state(job, message):
    a_run(job, message, "failed", finished=3, started=1)
    a_run(job, message, "pending")
    a_run(job, message, "running", started=4)
    assert job_states(message) == {job.pk: "failed"}


def test_equal_finish_times_are_decided_by_start_time_then_by_id(job, message):
    a_run(job, message, "success", finished=5, started=2)
    a_run(job, message, "failed", finished=5, started=1)
    assert job_states(message) == {job.pk: "success"}
    a_run(job, message, "lost", finished=5, started=2)
    assert job_states(message) == {job.pk: "lost"}


def test_a_run_aborted_before_it_started_loses_a_tie_with_one_that_ran(job, message):
    a_run(job, message, "success", finished=5, started=1)
    a_run(job, message, "aborted", finished=5)
    assert job_states(message) == {job.pk: "success"}


def test_a_job_with_no_finished_run_shows_running_or_pending(project, job, message):
    other = make_job(project, "job-2", job.trigger)
    a_run(job, message, "running", started=1)
    a_run(job, message, "pending")
    a_run(other, message, "pending")
    assert job_states(message) == {job.pk: "running", other.pk: "pending"}


def test_each_job_has_its_own_state_and_other_messages_do_not_count(project, job, message):
    other_job = make_job(project, "job-2", job.trigger)
    other_message = Message.objects.create(project=project, body={})
    a_run(job, message, "success", finished=1, started=0)
    a_run(other_job, message, "failed", finished=1, started=0)
    a_run(job, other_message, "failed", finished=9, started=8)
    assert job_states(message) == {job.pk: "success", other_job.pk: "failed"}


def test_the_states_of_a_page_of_messages_take_one_query(project, job, message):
    quiet = Message.objects.create(project=project, body={})
    second = Message.objects.create(project=project, body={})
    a_run(job, message, "success", finished=1, started=0)
    a_run(job, second, "aborted", finished=1)
    with CaptureQueriesContext(connection) as queries:
        states = job_states_by_message([message.pk, quiet.pk, second.pk])
    assert len(queries) == 1
    assert states == {message.pk: {job.pk: "success"}, quiet.pk: {}, second.pk: {job.pk: "aborted"}}
