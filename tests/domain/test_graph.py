import pytest

from kindling.jobs.graph import CycleError, check_assignment, check_upstream
from kindling.jobs.models import Trigger
from tests.conftest import make_job, make_trigger


@pytest.fixture
def chain(project):
    """a (message) -> b (flow after a) -> c (catch after b)"""
    a = make_job(project, "a", make_trigger(project, "incoming"))
    b = make_job(project, "b", make_trigger(project, "after-a", Trigger.Kind.FLOW, upstream_job=a))
    c = make_job(project, "c", make_trigger(project, "b-failed", Trigger.Kind.CATCH, upstream_job=b))
    return a, b, c


def test_it_refuses_a_job_that_would_start_after_itself(project, chain):
    a, _b, _c = chain
    after_a = Trigger.objects.get(name="after-a")

    with pytest.raises(CycleError, match="start itself forever"):
        check_assignment(a, after_a)


def test_it_refuses_a_job_that_would_start_after_a_job_it_starts_transitively(project, chain):
    a, _b, c = chain
    after_c = make_trigger(project, "after-c", Trigger.Kind.FLOW, upstream_job=c)

    with pytest.raises(CycleError):
        check_assignment(a, after_c)


def test_it_allows_chains_without_a_loop(project, chain):
    _a, _b, c = chain
    d = make_job(project, "d", make_trigger(project, "after-c", Trigger.Kind.FLOW, upstream_job=c))

    check_assignment(d, d.trigger)
    check_assignment(c, make_trigger(project, "cron", Trigger.Kind.CRON, cron="* * * * *"))


def test_it_refuses_pointing_a_trigger_at_a_job_its_jobs_start(project, chain):
    _a, _b, c = chain
    after_a = Trigger.objects.get(name="after-a")  # its job b starts c

    with pytest.raises(CycleError):
        check_upstream(after_a, c)
