"""KINDLING_LOG_FORMAT=json: one JSON object per line, with the run and project ids where known."""

import json
import logging
import sys

from kindling.ops.logs import JsonFormatter, about
from tests.ops.conftest import kindling, python
from tests.ops.test_backup import ARRANGE

QUEUE_ONE = """
import django; django.setup()
from kindling.inbox.receive import receive
from kindling.projects.models import Project
project = Project.objects.get()
_message, [run] = receive(project.pk, {"a": 1}, {})
print(run.pk, project.pk)
"""


def record(message="hello", **extra):
    made = logging.LogRecord("kindling.test", logging.WARNING, __file__, 1, message, (), None)
    for name, value in extra.items():
        setattr(made, name, value)
    return made


def test_a_line_is_one_json_object_with_the_ids_of_the_run_it_concerns():
    with about(run_id=12, project_id=3):
        line = JsonFormatter().format(record("run 12 slow"))
    entry = json.loads(line)
    assert "\n" not in line
    assert entry["run_id"] == 12 and entry["project_id"] == 3
    assert (entry["level"], entry["logger"], entry["message"]) == ("warning", "kindling.test", "run 12 slow")


def test_ids_given_with_a_line_are_kept_and_a_traceback_stays_on_the_line():
    try:
        raise ValueError("broken\nin two lines")
    except ValueError:
        made = record("failed", run_id=5)
        made.exc_info = sys.exc_info()
    line = JsonFormatter().format(made)
    assert "\n" not in line
    assert json.loads(line)["run_id"] == 5 and "ValueError" in json.loads(line)["exception"]


def test_outside_a_run_no_ids_are_invented():
    assert "run_id" not in json.loads(JsonFormatter().format(record()))


def test_a_worker_with_json_logs_prints_only_json_lines_naming_its_run(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    kindling(data, "migrate", "--no-input")
    python(data, ARRANGE)
    run_id, project_id = map(int, python(data, QUEUE_ONE).split())

    done = kindling(data, "worker", "--once", "--slots", "1", env={"KINDLING_LOG_FORMAT": "json"})

    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is JSON
    [finished] = [e for e in entries if e["message"].startswith(f"run {run_id} ")]
    assert finished["run_id"] == run_id and finished["project_id"] == project_id
    assert "success" in finished["message"]


def test_an_unknown_log_format_is_refused_at_start(tmp_path):
    refused = kindling(tmp_path, "migrate", "--check", check=False, env={"KINDLING_LOG_FORMAT": "xml"})
    assert refused.returncode != 0
    assert "KINDLING_LOG_FORMAT must be plain or json, not 'xml'" in refused.stderr
