"""`kindling project import FILE --name NAME --owner EMAIL`: the v2 project.yaml (spec section 12)."""

import json
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from kindling.credentials.models import Credential
from kindling.jobs.models import Job, Trigger
from kindling.projects.models import Membership, Project

EXAMPLE = Path(__file__).parent / "example_project.yaml"
JOB_NAMES = ["job-1", "recurring-job", "flow-job", "bad-job", "catch-job"]


def import_file(path, name="Example", owner="alice@example.com") -> dict:
    out = StringIO()
    call_command("project", "import", str(path), "--name", name, "--owner", owner, stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1, f"expected one line of JSON, got {out.getvalue()!r}"
    return json.loads(lines[0])


def import_text(tmp_path, text: str, **kw) -> dict:
    path = tmp_path / "project.yaml"
    path.write_text(text)
    return import_file(path, **kw)


def counts() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in (Project, Membership, Job, Trigger, Credential))


@pytest.fixture
def imported(alice):
    return import_file(EXAMPLE)


def test_it_prints_one_json_object_with_slug_inbox_and_jobs_in_file_order(alice):
    printed = import_file(EXAMPLE, name="Example Project")
    project = Project.objects.get()
    assert set(printed) == {"project", "inbox_url", "jobs"}
    assert printed["project"] == project.slug == "example-project"
    assert re.fullmatch(rf"https?://[^/]+/inbox/{project.inbox_uuid}", printed["inbox_url"])
    assert printed["jobs"] == JOB_NAMES


def test_the_importer_owns_the_project(imported, alice):
    project = Project.objects.get(slug=imported["project"])
    assert project.name == "Example"
    assert list(project.memberships.values_list("user__email", "role")) == [("alice@example.com", "owner")]


def test_imported_jobs_are_switched_on_with_their_adaptor(imported):
    jobs = Job.objects.order_by("id")
    assert [job.name for job in jobs] == JOB_NAMES
    assert all(job.enabled and not job.archived and not job.private for job in jobs)
    assert {(job.adaptor, job.adaptor_version) for job in jobs} == {("@openfn/language-common", "latest")}
    assert jobs[0].expression.strip() == (
        "fn(state => { state.data.number = state.data.number * 2; return state; })"
    )


def test_imported_triggers_have_the_right_kinds_and_details(imported):
    triggers = {t.name: t for t in Trigger.objects.select_related("upstream_job")}
    summary = {
        name: (t.kind, t.criteria, t.exclusion, t.cron, t.upstream_job and t.upstream_job.name)
        for name, t in triggers.items()
    }
    assert summary == {
        "trigger-1": ("message", {"number": 2}, None, "", None),
        "trigger-x": ("message", {"premonition": "failure"}, None, "", None),
        "every-minute": ("cron", None, None, "* * * * *", None),
        "after-j1": ("flow", None, None, "", "job-1"),
        "after-failure": ("catch", None, None, "", "bad-job"),
    }


def test_each_job_points_at_its_trigger(imported):
    pairs = dict(Job.objects.values_list("name", "trigger__name"))
    assert pairs == {
        "job-1": "trigger-1",
        "recurring-job": "every-minute",
        "flow-job": "after-j1",
        "bad-job": "trigger-x",
        "catch-job": "after-failure",
    }


def test_the_credential_is_owned_by_the_importer_and_shared_with_the_project(imported, alice):
    credential = Credential.objects.get()
    project = Project.objects.get()
    assert (credential.name, credential.owner) == ("my-secret-credential", alice)
    assert list(credential.projects.all()) == [project]
    assert credential.body == {"username": "user@example.com", "password": "shhh"}
    assert Job.objects.get(name="job-1").credential == credential
    assert not Job.objects.exclude(name="job-1").filter(credential__isnull=False).exists()


def test_the_credential_body_is_encrypted_in_the_database(imported):
    raw = Credential.objects.values_list("body_encrypted", flat=True).get()
    assert "shhh" not in raw and "user@example.com" not in raw


def test_importing_twice_makes_two_projects_with_distinct_inboxes(alice):
    first, second = import_file(EXAMPLE), import_file(EXAMPLE)
    assert (first["project"], second["project"]) == ("example", "example-2")
    assert first["inbox_url"] != second["inbox_url"]
    assert Job.objects.count() == 10


def test_it_accepts_language_pack_and_extra_type_and_label_keys(tmp_path, alice):
    import_text(
        tmp_path,
        """
jobs:
  old-job:
    expression: fn(s => s)
    language_pack: language-common
    trigger: t
    type: job
    label: An old job
triggers:
  t:
    type: message
    label: Everything
    criteria: '{}'
""",
    )
    job = Job.objects.get()
    assert (job.adaptor, job.adaptor_version) == ("@openfn/language-common", "latest")
    assert (job.trigger.kind, job.trigger.criteria) == ("message", {})


def test_it_parses_the_adaptor_version(tmp_path, alice):
    import_text(
        tmp_path,
        """
jobs:
  fetch:
    expression: get('/patients')
    adaptor: '@openfn/language-http@7.2.10'
    trigger: t
triggers:
  t:
    cron: '0 * * * *'
""",
    )
    assert Job.objects.values_list("adaptor", "adaptor_version").get() == ("@openfn/language-http", "7.2.10")


def test_it_imports_an_exclusion_next_to_criteria(tmp_path, alice):
    import_text(
        tmp_path,
        """
jobs:
  share:
    expression: fn(s => s)
    adaptor: '@openfn/language-common'
    trigger: t
triggers:
  t:
    criteria: '{"name":"john doe"}'
    exclusion: '{"allowedToShare":false}'
""",
    )
    trigger = Trigger.objects.get()
    assert (trigger.criteria, trigger.exclusion) == ({"name": "john doe"}, {"allowedToShare": False})


def test_it_imports_the_kindling_block_for_what_v2_cannot_express(tmp_path, alice):
    import_text(
        tmp_path,
        EXAMPLE.read_text()
        + """
kindling:
  concurrency: 3
  jobs:
    bad-job:
      enabled: false
      private: true
      console_disabled: true
""",
    )
    assert Project.objects.get().concurrency == 3
    flags = {
        name: (on, private, quiet)
        for name, on, private, quiet in Job.objects.values_list(
            "name", "enabled", "private", "console_disabled"
        )
    }
    assert flags["bad-job"] == (False, True, True)
    assert flags["job-1"] == (True, False, False)


def test_a_broken_kindling_block_leaves_nothing_behind(tmp_path, alice):
    with pytest.raises(CommandError, match=r"kindling\.jobs\.catch-job: must be a mapping"):
        import_text(tmp_path, EXAMPLE.read_text() + "kindling:\n  jobs:\n    catch-job: 5\n")
    assert counts() == (0, 0, 0, 0, 0)


@pytest.mark.parametrize("concurrency", [0, 11, "two"])
def test_it_refuses_a_concurrency_outside_1_to_10(tmp_path, alice, concurrency):
    with pytest.raises(CommandError, match=r"kindling\.concurrency: must be a whole number from 1 to 10"):
        import_text(tmp_path, EXAMPLE.read_text() + f"kindling:\n  concurrency: {concurrency}\n")
    assert counts() == (0, 0, 0, 0, 0)


GOOD_JOB = """
    expression: fn(s => s)
    adaptor: '@openfn/language-common'
"""

# (yaml, pattern the error must match): each names the key and says what is wrong.
BROKEN_FILES = [
    pytest.param(
        f"""
jobs:
  a:{GOOD_JOB}    trigger: nope
triggers:
  t:
    criteria: '{{}}'
""",
        r"jobs\.a\.trigger: names trigger 'nope', which is not in triggers",
        id="unknown-trigger",
    ),
    pytest.param(
        f"""
jobs:
  a:{GOOD_JOB}    trigger: t
triggers:
  t:
    criteria: '{{"a":1}}'
    cron: '* * * * *'
""",
        r"triggers\.t: a trigger has exactly one of criteria, cron, success, failure "
        r"\(found criteria and cron\)",
        id="two-kinds",
    ),
    pytest.param(
        f"""
jobs:
  a:{GOOD_JOB}    trigger: t
triggers:
  t:
    label: nothing to trigger on
""",
        r"triggers\.t: a trigger has exactly one of .* \(found none of them\)",
        id="no-kind",
    ),
    pytest.param(
        f"""
jobs:
  a:{GOOD_JOB}    trigger: t
triggers:
  t:
    criteria: '{{"number": 2'
""",
        r"triggers\.t\.criteria: is not valid JSON at line 1, column \d+",
        id="invalid-json-criteria",
    ),
    pytest.param(
        f"""
jobs:
  a:{GOOD_JOB}    trigger: t
triggers:
  t:
    criteria: '"intake"'
""",
        r"triggers\.t\.criteria: must be a JSON object",
        id="criteria-not-an-object",
    ),
    pytest.param(
        f"""
jobs:
  a:{GOOD_JOB}    trigger: t
triggers:
  t:
    criteria: '[{{"a": 1}}]'
""",
        r"triggers\.t\.criteria: must be a JSON object",
        id="criteria-an-array",
    ),
    pytest.param(
        f"""
jobs:
  a:{GOOD_JOB}    trigger: t
triggers:
  t:
    criteria: '{{}}'
    exclusion: 'nope'
""",
        r"triggers\.t\.exclusion: is not valid JSON",
        id="invalid-json-exclusion",
    ),
    pytest.param(
        f"""
jobs:
  a:{GOOD_JOB}    trigger: t
  b:{GOOD_JOB}    trigger: after
triggers:
  t:
    criteria: '{{}}'
  after:
    success: ghost
""",
        r"triggers\.after\.success: names job 'ghost', which is not in jobs",
        id="flow-unknown-job",
    ),
    pytest.param(
        f"""
jobs:
  a:{GOOD_JOB}    trigger: t
triggers:
  t:
    failure: ghost
""",
        r"triggers\.t\.failure: names job 'ghost', which is not in jobs",
        id="catch-unknown-job",
    ),
    pytest.param(
        f"""
jobs:
  a:{GOOD_JOB}    trigger: t
triggers:
  t:
    cron: '61 * * * *'
""",
        r"triggers\.t\.cron: '61 \* \* \* \*' is not a valid cron expression",
        id="invalid-cron",
    ),
    pytest.param(
        f"""
jobs:
  a:{GOOD_JOB}    trigger: t
triggers:
  t:
    cron: '* * *'
""",
        r"triggers\.t\.cron: .* must have 5 fields",
        id="cron-with-3-fields",
    ),
    pytest.param(
        f"""
jobs:
  a:{GOOD_JOB}    trigger: after-b
  b:{GOOD_JOB}    trigger: after-a
triggers:
  after-a:
    success: a
  after-b:
    failure: b
""",
        r"jobs\.a\.trigger: trigger 'after-b' would form a cycle",
        id="flow-catch-cycle",
    ),
    pytest.param(
        f"""
jobs:
  a:{GOOD_JOB}    trigger: t
  b:{GOOD_JOB}    trigger: after-c
  c:{GOOD_JOB}    trigger: after-b
triggers:
  t:
    criteria: '{{}}'
  after-b:
    success: b
  after-c:
    success: c
""",
        r"jobs\.b\.trigger: trigger 'after-c' would form a cycle",
        id="flow-cycle-of-two",
    ),
    pytest.param(
        f"""
jobs:
  a:{GOOD_JOB}    trigger: self
triggers:
  self:
    success: a
""",
        r"jobs\.a\.trigger: trigger 'self' would form a cycle",
        id="job-flows-into-itself",
    ),
    pytest.param(
        """
jobs:
  a:
    adaptor: '@openfn/language-common'
    trigger: t
triggers:
  t:
    criteria: '{}'
""",
        r"jobs\.a\.expression: is required",
        id="missing-expression",
    ),
    pytest.param(
        """
jobs:
  a:
    expression: '   '
    adaptor: '@openfn/language-common'
    trigger: t
triggers:
  t:
    criteria: '{}'
""",
        r"jobs\.a\.expression: is required",
        id="blank-expression",
    ),
    pytest.param(
        """
jobs:
  a:
    expression: fn(s => s)
    trigger: t
triggers:
  t:
    criteria: '{}'
""",
        r"jobs\.a\.adaptor: is required",
        id="missing-adaptor",
    ),
    pytest.param(
        """
jobs:
  a:
    expression: fn(s => s)
    adaptor: 'left-pad@1.0.0'
    trigger: t
triggers:
  t:
    criteria: '{}'
""",
        r"jobs\.a\.adaptor: 'left-pad@1\.0\.0' is not an OpenFn adaptor",
        id="not-an-adaptor",
    ),
    pytest.param(
        f"""
jobs:
  a:{GOOD_JOB}    trigger: t
    credential: missing
triggers:
  t:
    criteria: '{{}}'
""",
        r"jobs\.a\.credential: names credential 'missing'",
        id="unknown-credential",
    ),
    pytest.param(
        f"""
jobs:
  a:{GOOD_JOB}    trigger: t
    schedule: daily
triggers:
  t:
    criteria: '{{}}'
""",
        r"jobs\.a\.schedule: unknown key",
        id="unknown-job-key",
    ),
    pytest.param(
        "jobs: [\n  oops", r"\(file\): is not valid YAML at line \d+, column \d+", id="invalid-yaml"
    ),
]


@pytest.mark.parametrize(("text", "error"), BROKEN_FILES)
def test_it_refuses_a_broken_file_naming_the_key_and_creates_nothing(tmp_path, alice, text, error):
    before = counts()
    with pytest.raises(CommandError, match=error):
        import_text(tmp_path, text)
    assert counts() == before == (0, 0, 0, 0, 0)


def test_a_late_error_leaves_nothing_behind_after_credentials_and_triggers_parsed(tmp_path, alice):
    text = EXAMPLE.read_text().replace("trigger: after-failure", "trigger: after-fail")
    with pytest.raises(CommandError, match=r"jobs\.catch-job\.trigger: names trigger 'after-fail'"):
        import_text(tmp_path, text)
    assert counts() == (0, 0, 0, 0, 0)


def test_it_refuses_an_unknown_owner(db):
    with pytest.raises(CommandError, match="no user with email nobody@example.com"):
        import_file(EXAMPLE, owner="nobody@example.com")
    assert counts() == (0, 0, 0, 0, 0)


def test_it_refuses_a_missing_file(alice, tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        import_file(tmp_path / "absent.yaml")
    assert counts() == (0, 0, 0, 0, 0)
