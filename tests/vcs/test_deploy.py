"""Pushes from outside: signed webhook deliveries update linked jobs when automatic deploys are on."""

import pytest

from kindling.jobs.editing import update_job
from kindling.vcs.deploy import DeliveryRefused, last_note, receive_push, resend
from kindling.vcs.link import link_repository
from kindling.vcs.models import Delivery, OutboundCommit
from tests.conftest import make_job
from tests.vcs.conftest import push_payload, signed


def deliver(repo, payload, secret=None, event="push"):
    body, signature = signed(secret or repo.webhook_secret, payload)
    return receive_push(repo, body, signature, event)


def test_a_push_updates_the_linked_jobs_expression(linked, project, outside):
    job = make_job(project, git_path="jobs/a.js")
    sha = outside.commit({"jobs/a.js": "fn(s => s); // from git"})
    result = deliver(linked, push_payload(sha))
    job.refresh_from_db()
    assert job.expression == "fn(s => s); // from git"
    assert result["applied"] == ["job-1"]
    assert OutboundCommit.objects.count() == 0  # a deploy is not pushed back


def test_with_automatic_deploys_off_a_push_changes_nothing(linked, project, alice, outside):
    link_repository(project, alice, linked.url, "main", autodeploy=False)
    linked.refresh_from_db()
    job = make_job(project, git_path="a.js")
    sha = outside.commit({"a.js": "fn(s => s); // from git"})
    result = deliver(linked, push_payload(sha))
    job.refresh_from_db()
    assert job.expression == "fn(state => state);" and "off" in result["note"]


def test_files_linked_to_no_job_are_ignored(linked, project, outside):
    job = make_job(project, git_path="a.js", expression="fn(s => s); // mine")
    outside.commit({"a.js": "fn(s => s); // mine"})
    sha = outside.commit({"other.js": "fn(s => s); // not linked"})
    result = deliver(linked, push_payload(sha))
    job.refresh_from_db()
    assert job.expression == "fn(s => s); // mine" and result["applied"] == []


def test_an_empty_file_is_not_applied_and_the_job_says_why(linked, project, outside):
    job = make_job(project, git_path="a.js", expression="fn(s => s); // precious")
    sha = outside.commit({"a.js": "  \n"})
    result = deliver(linked, push_payload(sha))
    job.refresh_from_db()
    assert job.expression == "fn(s => s); // precious"
    assert result["skipped"][0]["kind"] == "empty"
    assert "a.js is empty" in last_note(job)["reason"]


def test_a_wrong_signature_is_refused_with_401_and_nothing_applied(linked, project, outside):
    job = make_job(project, git_path="a.js")
    sha = outside.commit({"a.js": "fn(s => s); // from git"})
    with pytest.raises(DeliveryRefused) as refused:
        deliver(linked, push_payload(sha), secret="not the secret")
    assert refused.value.status == 401
    body, _ = signed(linked.webhook_secret, push_payload(sha))
    for header in (None, "", "sha1=abc", "sha256=" + "0" * 64):
        with pytest.raises(DeliveryRefused):
            receive_push(linked, body, header)
    job.refresh_from_db()
    assert job.expression == "fn(state => state);" and Delivery.objects.count() == 0


def test_a_push_to_another_branch_is_ignored(linked, project, outside):
    make_job(project, git_path="a.js")
    sha = outside.commit({"a.js": "fn(s => s); // x"})
    assert "not to main" in deliver(linked, push_payload(sha, branch="dev"))["note"]


def test_resending_an_old_commit_puts_every_linked_job_back(linked, project, outside):
    one = make_job(project, "one", git_path="one.js")
    two = make_job(project, "two", git_path="two.js")
    first = outside.commit({"one.js": "fn(s => s); // one v1", "two.js": "fn(s => s); // two v1"})
    deliver(linked, push_payload(first))
    second = outside.commit({"one.js": "fn(s => s); // one v2", "two.js": "fn(s => s); // two v2"})
    deliver(linked, push_payload(second))
    delivery = resend(linked, sha=first)
    one.refresh_from_db()
    two.refresh_from_db()
    assert (one.expression, two.expression) == ("fn(s => s); // one v1", "fn(s => s); // two v1")
    assert delivery.resend and sorted(delivery.applied) == ["one", "two"]


def test_resending_works_with_automatic_deploys_off(linked, project, alice, outside):
    job = make_job(project, git_path="a.js")
    sha = outside.commit({"a.js": "fn(s => s); // chosen"})
    link_repository(project, alice, linked.url, "main", autodeploy=False)
    linked.refresh_from_db()
    resend(linked, sha=sha[:10])
    job.refresh_from_db()
    assert job.expression == "fn(s => s); // chosen"


def test_an_unknown_commit_is_reported_not_applied(linked, project, outside):
    outside.commit({"a.js": "fn(s => s);"})
    make_job(project, git_path="a.js")
    delivery = resend(linked, sha="1234567890abcdef1234567890abcdef12345678")
    assert "Could not fetch commit" in delivery.error and delivery.applied == []


def test_a_push_does_not_overwrite_a_change_still_waiting_to_be_pushed(linked, project, alice, outside, bare):
    job = make_job(project, git_path="a.js")
    hook = bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    update_job(job, alice, expression="fn(s => s); // saved here")
    hook.unlink()
    sha = outside.commit({"a.js": "fn(s => s); // pushed there"})
    result = deliver(linked, push_payload(sha))
    job.refresh_from_db()
    assert job.expression == "fn(s => s); // saved here"
    assert "not pushed yet" in result["skipped"][0]["reason"]
    assert "not pushed yet" in last_note(job)["reason"]
