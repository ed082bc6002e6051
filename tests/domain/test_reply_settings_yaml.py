"""project.yaml carries the synchronous inbox reply settings in its `kindling:` block (which other
OpenFn tools ignore): a trigger's `reply: after_completion` and a job's `reply_with_data: false`."""

import pytest
import yaml
from django.core.management import CommandError

from kindling.jobs.models import Job, Trigger
from kindling.projects.models import Project
from kindling.projects.portability import export_project, import_project
from tests.conftest import make_job, make_trigger
from tests.domain.test_import import EXAMPLE, counts, import_text

REPLY_BLOCK = """
kindling:
  triggers:
    trigger-1:
      reply: after_completion
  jobs:
    job-1:
      reply_with_data: false
"""


def test_it_imports_a_trigger_that_replies_after_its_runs_and_a_job_that_gives_statuses_only(tmp_path, alice):
    import_text(tmp_path, EXAMPLE.read_text() + REPLY_BLOCK)
    replies = dict(Trigger.objects.values_list("name", "reply"))
    assert replies["trigger-1"] == "after_completion"
    assert replies["trigger-x"] == "accepted"
    with_data = dict(Job.objects.values_list("name", "reply_with_data"))
    assert with_data["job-1"] is False
    assert with_data["bad-job"] is True


def test_a_file_without_the_block_keeps_v1s_answers(tmp_path, alice):
    import_text(tmp_path, EXAMPLE.read_text())
    assert set(Trigger.objects.values_list("reply", flat=True)) == {"accepted"}
    assert set(Job.objects.values_list("reply_with_data", flat=True)) == {True}


def test_it_exports_only_the_settings_that_differ_from_v1(project):
    replying = make_trigger(project, "replying", reply=Trigger.Reply.AFTER_COMPLETION)
    make_trigger(project, "quiet")
    make_job(project, "statuses-only", trigger=replying, reply_with_data=False)
    make_job(project, "with-data", trigger=replying)
    exported = yaml.safe_load(export_project(project))
    assert exported["kindling"]["triggers"] == {"replying": {"reply": "after_completion"}}
    assert exported["kindling"]["jobs"] == {"statuses-only": {"reply_with_data": False}}
    # The v2 part is what other tools read, unchanged.
    assert exported["triggers"]["replying"] == {"criteria": "{}"}


def test_a_project_with_v1_replies_exports_no_kindling_block(project):
    make_job(project, "plain", trigger=make_trigger(project))
    assert "kindling" not in yaml.safe_load(export_project(project))


def test_the_settings_survive_an_export_and_an_import(project, alice):
    replying = make_trigger(project, "replying", reply=Trigger.Reply.AFTER_COMPLETION)
    make_job(project, "statuses-only", trigger=replying, reply_with_data=False, retry_attempts=2)
    make_job(project, "with-data", trigger=make_trigger(project, "quiet"))
    copy = import_project(export_project(project), "Copy", alice)
    assert dict(copy.triggers.values_list("name", "reply")) == {
        "replying": "after_completion",
        "quiet": "accepted",
    }
    assert dict(copy.jobs.values_list("name", "reply_with_data")) == {
        "statuses-only": False,
        "with-data": True,
    }
    assert copy.jobs.get(name="statuses-only").retry_attempts == 2
    assert export_project(copy) == export_project(project)


@pytest.mark.parametrize(
    ("block", "error"),
    [
        (
            "  triggers:\n    trigger-1:\n      reply: later\n",
            r"kindling\.triggers\.trigger-1\.reply: 'later' is not a reply; use accepted or after_completion",
        ),
        (
            "  triggers:\n    every-minute:\n      reply: after_completion\n",
            r"kindling\.triggers\.every-minute\.reply: only a message trigger",
        ),
        (
            "  triggers:\n    no-such-trigger:\n      reply: after_completion\n",
            r"kindling\.triggers\.no-such-trigger: names trigger 'no-such-trigger', which is not in triggers",
        ),
        (
            "  triggers:\n    trigger-1:\n      wait: 30\n",
            r"kindling\.triggers\.trigger-1\.wait: unknown key",
        ),
        (
            "  triggers:\n    trigger-1: after_completion\n",
            r"kindling\.triggers\.trigger-1: must be a mapping",
        ),
        ("  triggers: [trigger-1]\n", r"kindling\.triggers: must be a mapping"),
        (
            "  jobs:\n    job-1:\n      reply_with_data: 'no'\n",
            r"kindling\.jobs\.job-1\.reply_with_data: must be true .* or false .*, not 'no'",
        ),
    ],
)
def test_a_bad_reply_setting_names_the_key_and_imports_nothing(tmp_path, alice, block, error):
    with pytest.raises(CommandError, match=error):
        import_text(tmp_path, EXAMPLE.read_text() + "kindling:\n" + block)
    assert counts() == (0, 0, 0, 0, 0)
    assert not Project.objects.exists()
