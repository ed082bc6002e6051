"""project.yaml export: the v2 format, credential values masked as '******'; it imports again."""

from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from kindling.credentials.editing import delete_credential
from kindling.credentials.sharing import set_projects
from kindling.jobs.models import Job, Trigger
from kindling.projects.portability import export_project, import_project
from tests.conftest import make_credential, make_job

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "example-project.yaml"


@pytest.fixture
def example(alice):
    return import_project(EXAMPLE.read_text(), "Example", alice)


def shape(project) -> dict:
    jobs = {
        j.name: (
            j.trigger.name if j.trigger else None,
            j.adaptor,
            j.adaptor_version,
            j.expression.strip(),
            j.credential.name if j.credential else None,
            j.enabled,
            j.private,
            j.console_disabled,
            j.archived,
        )
        for j in project.jobs.select_related("trigger", "credential")
    }
    triggers = {
        t.name: (t.kind, t.criteria, t.exclusion, t.cron, t.upstream_job.name if t.upstream_job else None)
        for t in project.triggers.select_related("upstream_job")
    }
    return {"jobs": jobs, "triggers": triggers, "concurrency": project.concurrency}


def test_the_example_exports_as_plain_v2_with_masked_credentials(example):
    data = yaml.safe_load(export_project(example))

    assert list(data) == ["jobs", "triggers", "credentials"]
    assert data["credentials"] == {"my-secret-credential": {"username": "******", "password": "******"}}
    assert data["jobs"]["job-1"] == {
        "expression": "fn(state => { state.data.number = state.data.number * 2; return state; })\n",
        "adaptor": "@openfn/language-common",
        "trigger": "trigger-1",
        "credential": "my-secret-credential",
    }
    assert data["triggers"]["trigger-1"] == {"criteria": '{"number":2}'}
    assert data["triggers"]["after-j1"] == {"success": "job-1"}
    assert data["triggers"]["after-failure"] == {"failure": "bad-job"}
    assert data["triggers"]["every-minute"] == {"cron": "* * * * *"}


def test_no_secret_value_is_in_the_export(example):
    text = export_project(example)

    assert "shhh" not in text and "user@example.com" not in text


def test_an_export_imports_again_into_the_same_project(example, alice):
    example.concurrency = 3
    example.save()
    Job.objects.filter(name="bad-job").update(
        enabled=False,
        private=True,
        console_disabled=True,
        adaptor_version="3.3.4",
        expression="fn(s => s);\nfn(s => s);\n",
    )
    Job.objects.filter(name="catch-job").update(archived=True)
    Trigger.objects.filter(name="trigger-x").update(exclusion={"test": True})

    again = import_project(export_project(example), "Again", alice)

    assert shape(again) == shape(example)
    assert again.credentials.get().body == {"username": "******", "password": "******"}


def test_the_kindling_block_says_only_what_v2_cannot(example):
    Job.objects.filter(name="bad-job").update(enabled=False)

    data = yaml.safe_load(export_project(example))

    assert data["kindling"] == {"jobs": {"bad-job": {"enabled": False}}}


def test_a_job_whose_trigger_was_deleted_exports_without_one_and_imports_again(example, alice):
    Trigger.objects.filter(name="every-minute").delete()

    again = import_project(export_project(example), "Again", alice)

    assert again.jobs.get(name="recurring-job").trigger is None


def test_a_revoked_or_deleted_credential_a_job_still_names_is_kept_and_said_missing(alice, project):
    revoked = make_credential(alice, name="revoked", projects=[project])
    deleted = make_credential(alice, name="deleted", projects=[project])
    make_job(project, "a", credential=revoked)
    make_job(project, "b", credential=deleted)
    set_projects(revoked, alice, [])
    delete_credential(deleted, alice)

    text = export_project(project)
    data = yaml.safe_load(text)

    assert data["credentials"] == {"revoked": {"username": "******", "password": "******"}, "deleted": {}}
    assert data["jobs"]["a"]["credential"] == "revoked" and data["jobs"]["b"]["credential"] == "deleted"
    assert text.splitlines()[:2] == [
        "# Missing credential: 'revoked' of job 'a' is no longer shared with this project; its runs fail "
        "until its owner shares it again.",
        "# Missing credential: 'deleted' of job 'b' was deleted; it is exported without values. Give the "
        "job another credential.",
    ]
    again = import_project(text, "Again", alice)
    assert again.jobs.get(name="b").credential.name == "deleted"


def test_the_command_says_on_stderr_which_credentials_are_missing(alice, project):
    deleted = make_credential(alice, name="deleted", projects=[project])
    make_job(project, "b", credential=deleted)
    delete_credential(deleted, alice)
    out, err = StringIO(), StringIO()

    call_command("project", "export", project.slug, stdout=out, stderr=err)

    assert err.getvalue().startswith("Missing credential: 'deleted' of job 'b' was deleted")
    assert yaml.safe_load(out.getvalue())["jobs"]["b"]["credential"] == "deleted"


def test_two_credentials_with_one_name_get_distinct_names(alice, bob, project):
    first = make_credential(alice, name="api", projects=[project])
    second = make_credential(bob, name="api", projects=[project])
    make_job(project, "a", credential=first)
    make_job(project, "b", credential=second)

    data = yaml.safe_load(export_project(project))

    assert set(data["credentials"]) == {"api", "api-2"}
    assert {data["jobs"]["a"]["credential"], data["jobs"]["b"]["credential"]} == {"api", "api-2"}


def test_the_command_prints_the_export(example):
    out = StringIO()

    call_command("project", "export", example.slug, stdout=out)

    assert out.getvalue() == export_project(example)


def test_the_command_writes_a_file_with_output(example, tmp_path):
    call_command("project", "export", example.slug, "--output", str(tmp_path / "p.yaml"), stdout=StringIO())

    assert (tmp_path / "p.yaml").read_text() == export_project(example)


def test_the_command_names_an_unknown_project(db):
    with pytest.raises(CommandError, match="no project with slug nope"):
        call_command("project", "export", "nope", stdout=StringIO())
