"""A job's credential at run start, through the worker and the real Node engine (language-common 3.3.4):
given as `configuration` for that run only, never stored, scrubbed from the log; a deleted or revoked
credential fails the run with exit 3 and says why."""

import base64
import json
from urllib.parse import quote

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection

from kindling.credentials.editing import delete_credential
from kindling.credentials.sharing import CredentialError, attach, set_projects
from kindling.credentials.transfer import transfer
from kindling.runs import queue
from kindling.runs.models import LogLine, Run
from kindling.runs.worker import process_one
from tests.conftest import make_credential, make_job, make_project

USERNAME = "ada.lovelace@example.org"
# Spaces, reserved URL characters, a quote and a non-ASCII letter: each encoding below differs.
PASSWORD = 'p@ss w0rd/+&é:"q'


@pytest.fixture
def secret(alice, project):
    return make_credential(
        alice, name="openhim", body={"username": USERNAME, "password": PASSWORD}, projects=[project]
    )


def run_job(project, expression, credential=None, name="job") -> Run:
    job = make_job(project, name, expression=expression, credential=credential)
    queue.enqueue(job, Run.Cause.MANUAL, {"data": {"n": 1}})
    run = process_one("test-worker")
    assert run is not None
    return run


def log_of(run) -> list[str]:
    return list(run.log_lines.order_by("seq").values_list("message", flat=True))


def test_the_body_is_the_runs_configuration_and_is_never_stored(project, secret):
    run = run_job(project, "fn(state => ({ ...state, seen: Object.keys(state.configuration) }))", secret)

    assert (run.status, run.exit_code) == ("success", 0), log_of(run)
    assert run.final_state["seen"] == ["username", "password"]
    assert "configuration" not in run.final_state and "configuration" not in run.initial_state


def test_a_job_without_a_credential_gets_no_values(project, secret):
    # `secret` is shared with the project, but this job does not use it.
    run = run_job(project, "fn(state => ({ ...state, seen: Object.keys(state.configuration || {}) }))")

    assert run.final_state["seen"] == []


def test_a_deleted_credential_fails_the_run_with_exit_3_naming_it(alice, project, secret):
    job = make_job(project, "uses-it", expression="fn(state => state)", credential=secret)
    delete_credential(secret, alice)
    queue.enqueue(job, Run.Cause.MANUAL, {})

    run = process_one("test-worker")

    assert (run.status, run.exit_code) == ("failed", 3)
    assert log_of(run) == [
        "The credential 'openhim' of job 'uses-it' was deleted. Choose another credential for this job; "
        "its runs cannot start until then."
    ]


def test_a_revoked_credential_fails_the_run_with_exit_3_and_says_so(alice, project, secret):
    job = make_job(project, "uses-it", expression="fn(state => state)", credential=secret)
    set_projects(secret, alice, [])
    queue.enqueue(job, Run.Cause.MANUAL, {})

    run = process_one("test-worker")

    assert (run.status, run.exit_code) == ("failed", 3)
    [line] = log_of(run)
    assert "The credential 'openhim' of job 'uses-it' is no longer shared with this project" in line
    assert "alice@example.com" in line


def test_after_a_transfer_the_shared_project_keeps_using_it(alice, charlie, project, secret):
    transfer(secret, alice, charlie.email, charlie.user_number)

    run = run_job(project, "fn(state => ({ ...state, user: state.configuration.username.length }))", secret)

    assert (run.exit_code, run.final_state["user"]) == (0, len(USERNAME))


def test_a_credential_not_shared_with_the_project_cannot_be_attached(alice, bob, project, secret):
    elsewhere = make_credential(alice, name="elsewhere", projects=[make_project(alice, name="Elsewhere")])
    job = make_job(project)

    with pytest.raises(CredentialError, match="'elsewhere' is not shared with project 'Health Ministry'"):
        attach(job, elsewhere, alice)
    attach(job, secret, bob)  # any member may select a credential shared with the project

    job.refresh_from_db()
    assert job.credential == secret


def test_a_deleted_credential_cannot_be_attached_nor_by_an_outsider(alice, charlie, project, secret):
    job = make_job(project)
    other = make_credential(alice, name="gone", projects=[project])
    make_job(project, "keeps-the-row", credential=other)
    delete_credential(other, alice)

    with pytest.raises(CredentialError):
        attach(job, other, alice)
    with pytest.raises(PermissionDenied):
        attach(job, secret, charlie)


PRINT_EVERY_FORM = """
fn(state => {
  const { username, password } = state.configuration;
  console.log('plain:', password, username);
  console.log('json:', JSON.stringify(state.configuration));
  console.log('basic:', 'Authorization: Basic ' + Buffer.from(username + ':' + password).toString('base64'));
  const query = 'user=' + encodeURIComponent(username) + '&pass=' + encodeURIComponent(password);
  console.log('url:', 'https://example.org/?' + query);
  console.log('object:', state.configuration);
  return state;
});
"""


def forms_of_the_secret() -> dict[str, str]:
    return {
        "plain": PASSWORD,
        "plain username": USERNAME,
        "json": json.dumps(PASSWORD, ensure_ascii=False)[1:-1],
        "basic": base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode(),
        "url": quote(PASSWORD, safe="-_.!~*'()"),  # encodeURIComponent
        "url username": quote(USERNAME, safe="-_.!~*'()"),
    }


def test_a_job_that_prints_the_secret_in_every_form_stores_none_of_them(project, secret):
    run = run_job(project, PRINT_EVERY_FORM, secret)

    assert (run.status, run.exit_code) == ("success", 0), log_of(run)
    printed = [
        line for line in log_of(run) if line.split(":")[0] in {"plain", "json", "basic", "url", "object"}
    ]
    assert len(printed) == 5, "the job did not print every form"
    stored = "\n".join(LogLine.objects.values_list("message", flat=True))
    for name, form in forms_of_the_secret().items():
        assert form not in stored, f"the {name} form of the secret is in the stored log"
    assert all("[REDACTED]" in line for line in printed)


def test_encode_uri_of_the_secret_is_scrubbed_too(project, secret):
    run = run_job(
        project,
        "fn(state => { console.log('uri:', encodeURI(state.configuration.password)); return state; })",
        secret,
    )

    assert quote(PASSWORD, safe=";,/?:@&=+$#-_.!~*'()") not in "\n".join(log_of(run))


def test_no_table_holds_the_secret_after_a_run(project, secret):
    run_job(project, PRINT_EVERY_FORM, secret)

    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            text = json.dumps(
                [[str(value) for value in row] for row in cursor.fetchall()], ensure_ascii=False
            )
            found += [(table, name) for name, form in forms_of_the_secret().items() if form in text]
    assert found == []


def test_a_body_no_configured_key_decrypts_fails_the_run_with_exit_3(project, secret):
    from cryptography.fernet import Fernet

    from kindling.credentials.models import Credential

    job = make_job(project, "uses-it", expression="fn(state => state)", credential=secret)
    Credential.objects.filter(pk=secret.pk).update(
        body_encrypted=Fernet(Fernet.generate_key()).encrypt(b"{}").decode()
    )
    queue.enqueue(job, Run.Cause.MANUAL, {})

    run = process_one("test-worker")

    assert (run.status, run.exit_code) == ("failed", 3)
    assert "The credential 'openhim' of job 'uses-it' cannot be decrypted" in log_of(run)[0]


def test_the_job_form_refuses_a_credential_not_shared_with_the_project(client_for, alice, project, secret):
    from kindling.jobs.models import Job

    elsewhere = make_credential(alice, name="elsewhere", projects=[make_project(alice, name="Elsewhere")])
    client = client_for(alice)
    form = {
        "name": "j",
        "adaptor": "@openfn/language-common",
        "adaptor_version": "3.3.4",
        "expression": "fn(s => s)",
    }

    refused = client.post(f"/projects/{project.slug}/jobs/new", {**form, "credential": elsewhere.pk})
    accepted = client.post(f"/projects/{project.slug}/jobs/new", {**form, "credential": secret.pk})

    assert refused.status_code != 302
    assert accepted.status_code == 302
    assert list(Job.objects.values_list("name", "credential__name")) == [("j", "openhim")]
