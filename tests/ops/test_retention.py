"""Data retention: expired messages and runs go, in batches; pending and running runs, the messages
they belong to, and the usage counts stay; the job-states and the search indexes stay in step."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from kindling.inbox.models import Message
from kindling.lib.history import Window
from kindling.ops import retention
from kindling.ops.retention import Purged, RetentionError, clean_days, purge, retention_pass, set_retention
from kindling.plans.models import Usage
from kindling.runs.models import JobState, LogLine, Run
from kindling.search.console import search
from tests.conftest import make_job, make_trigger, post_message
from tests.portal.conftest import make_run

NOW = timezone.now()
OLD = NOW - timedelta(days=40)


@pytest.fixture
def job(project):
    return make_job(project, trigger=make_trigger(project))


def old_message(project, body):
    message, _runs = post_message(project, body)
    Message.objects.filter(pk=message.pk).update(received_at=OLD)
    Run.objects.filter(message=message).update(created_at=OLD)
    message.refresh_from_db()
    return message


def finished(message, **kw):
    """Every run of the message as a worker leaves it, with a log line."""
    for run in Run.objects.filter(message=message):
        Run.objects.filter(pk=run.pk).update(status=Run.Status.SUCCESS, exit_code=0, **kw)
        LogLine.objects.create(
            run=run, seq=0, time=OLD, source="JOB", level="info", message="zebrafinch done"
        )
    JobState.rebuild([message.pk])


def test_expired_messages_runs_and_logs_go_and_usage_counts_stay(job, project):
    message = old_message(project, {"animal": "zebrafinch"})
    finished(message)
    usage = list(Usage.objects.filter(project=project).values_list("runs", flat=True))

    done = purge(project, NOW - timedelta(days=30))

    assert (done.messages, done.runs, done.log_lines) == (1, 1, 1)
    assert not Message.objects.exists() and not Run.objects.exists() and not LogLine.objects.exists()
    assert not JobState.objects.exists()
    assert list(Usage.objects.filter(project=project).values_list("runs", flat=True)) == usage == [1]


def test_a_pending_run_is_never_deleted_nor_its_message(job, project):
    message = old_message(project, {"a": 1})  # its run waits in the queue
    [run] = Run.objects.filter(message=message)
    assert run.status == Run.Status.PENDING

    done = purge(project, NOW)

    assert (done.messages, done.runs) == (0, 0)
    assert Run.objects.filter(pk=run.pk, status=Run.Status.PENDING).exists()
    assert Message.objects.filter(pk=message.pk).exists()


def test_a_running_run_is_never_deleted(job, project):
    run = make_run(job, status=Run.Status.RUNNING, created_at=OLD)
    assert purge(project, NOW).runs == 0
    assert Run.objects.filter(pk=run.pk).exists()


def test_a_message_keeps_when_a_recent_run_of_it_is_kept_and_its_job_state_follows(job, project):
    message = old_message(project, {"a": 1})
    finished(message)
    recent = make_run(job, message=message, status=Run.Status.FAILED, exit_code=1)  # reprocessed today

    done = purge(project, NOW - timedelta(days=30))

    assert (done.messages, done.runs) == (0, 1)
    assert list(Run.objects.values_list("pk", flat=True)) == [recent.pk]
    assert JobState.objects.get(message=message).state == JobState.State.FAILED


def test_other_projects_and_recent_rows_are_untouched(job, project, alice):
    from tests.conftest import make_project

    other = make_project(alice, name="Other")
    make_job(other, trigger=make_trigger(other))
    finished(old_message(other, {"a": 1}))
    recent, _runs = post_message(project, {"b": 2})

    purge(project, NOW - timedelta(days=30))

    assert Message.objects.filter(project=other).count() == 1
    assert Message.objects.filter(pk=recent.pk).exists()


def test_deletion_goes_in_batches(job, project):
    for n in range(5):
        finished(old_message(project, {"n": n}))
    done = purge(project, NOW, batch=2, max_batches=2)
    assert done.runs == 4 and done.messages == 0
    assert purge(project, NOW, batch=2).messages == 5


def test_the_search_indexes_forget_purged_rows_and_keep_working(job, project):
    finished(old_message(project, {"animal": "zebrafinch"}))
    purge(project, NOW - timedelta(days=30))
    post_message(project, {"animal": "zebrafinch again"})

    hits = search(project, "zebrafinch", kinds=("bodies", "logs"), span=Window(None, None))

    assert len(hits["bodies"]) == 1
    assert hits["logs"] == []
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:  # an external-content FTS5 table out of step raises here
            for table in ("search_log_trgm", "search_log_words"):
                cursor.execute(f"INSERT INTO {table}({table}) VALUES ('integrity-check')")


def test_the_scheduler_deletes_what_is_past_each_projects_retention(job, project):
    finished(old_message(project, {"a": 1}))
    set_retention(project, 30)
    assert retention_pass(force=True)[project.slug].messages == 1
    assert not Message.objects.exists()


def test_the_scheduler_keeps_everything_of_a_project_kept_forever(job, project):
    finished(old_message(project, {"a": 1}))
    set_retention(project, None)
    assert retention_pass(force=True) == {}
    assert Message.objects.count() == 1


def test_the_scheduler_looks_once_a_minute(project, monkeypatch):
    set_retention(project, 30)
    monkeypatch.setattr(retention, "_last_pass", 0.0)
    looked = []
    monkeypatch.setattr(retention, "purge", lambda project, before, **kw: looked.append(project) or Purged())
    retention_pass()
    retention_pass()
    assert looked == [project]


@pytest.mark.parametrize("bad", [0, -3, 3651, "ten", 2.5, True])
def test_retention_refuses_what_is_not_a_number_of_days(bad):
    with pytest.raises(RetentionError, match="whole number of days from 1 to 3650"):
        clean_days(bad)


def test_a_change_of_retention_is_audited(project, alice):
    from kindling.audit.models import AuditEvent

    set_retention(project, 90, alice)
    event = AuditEvent.objects.get(action="retention.changed")
    assert event.details == {"old": None, "new": 90}


def test_purge_dry_run_prints_the_counts_and_deletes_nothing(job, project):
    finished(old_message(project, {"a": 1}))
    out = StringIO()
    call_command("purge", "--project", project.slug, "--before", "2099-01-01", "--dry-run", stdout=out)
    assert "would delete 1 message(s), 1 run(s) and 1 log line(s)" in out.getvalue()
    assert Message.objects.count() == 1 and Run.objects.count() == 1


def test_purge_deletes_on_demand_and_audits_it(job, project):
    from kindling.audit.models import AuditEvent

    finished(old_message(project, {"a": 1}))
    out = StringIO()
    call_command("purge", "--project", project.slug, "--before", "2099-01-01T00:00:00Z", stdout=out)
    assert "deleted 1 message(s), 1 run(s) and 1 log line(s)" in out.getvalue()
    assert not Message.objects.exists()
    assert AuditEvent.objects.get(action="data.purged").details == {"messages": 1, "runs": 1, "log_lines": 1}


def test_purge_names_what_is_wrong(project):
    with pytest.raises(CommandError, match="No project with the slug 'nope'"):
        call_command("purge", "--project", "nope", "--before", "2026-01-01")
    with pytest.raises(CommandError, match="--before must be a date like 2026-01-31"):
        call_command("purge", "--project", project.slug, "--before", "last tuesday")


def test_the_command_line_reads_and_sets_retention(project):
    out = StringIO()
    call_command("retention", project.slug, stdout=out)
    call_command("retention", project.slug, "45", stdout=out)
    call_command("retention", project.slug, "forever", stdout=out)
    assert out.getvalue().splitlines() == [
        f"{project.slug} keeps its messages and runs forever",
        f"{project.slug} keeps its messages and runs 45 day(s)",
        f"{project.slug} keeps its messages and runs forever",
    ]
    with pytest.raises(CommandError, match="whole number of days"):
        call_command("retention", project.slug, "a week")
