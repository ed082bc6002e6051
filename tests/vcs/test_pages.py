"""The Version Control page, the job page's git section and the push webhook, over HTTP."""

import json
import re

from django.urls import reverse

from kindling.jobs.models import Job
from kindling.vcs.models import Delivery, OutboundCommit, Repository
from tests.conftest import make_job
from tests.vcs.conftest import push_payload, signed


def test_an_administrator_links_the_project_on_the_version_control_page(client_for, project, alice, bare):
    url = reverse("project-version-control", args=[project.slug])
    response = client_for(alice).post(url, {"repository": str(bare), "branch": "main", "autodeploy": "on"})
    assert response.status_code == 302
    repo = Repository.objects.get(project=project)
    assert (repo.url, repo.branch, repo.autodeploy) == (str(bare), "main", True)
    page = client_for(alice).get(url).content.decode()
    assert f"/vcs/hooks/{repo.hook_token}" in page and repo.webhook_secret in page


def test_a_bad_repository_is_refused_naming_the_field(client_for, project, alice):
    url = reverse("project-version-control", args=[project.slug])
    response = client_for(alice).post(url, {"repository": "ext::sh -c touch% /tmp/pwned", "branch": "main"})
    assert response.status_code == 400
    assert "is not a repository Kindling can use" in response.content.decode()
    assert not Repository.objects.exists()


def test_collaborators_cannot_open_version_control(client_for, project, bob):
    response = client_for(bob).get(reverse("project-version-control", args=[project.slug]))
    assert response.status_code == 403 and "manage vcs" in response.content.decode()


def test_the_webhook_applies_a_signed_push(client, linked, project, outside):
    job = make_job(project, git_path="a.js")
    sha = outside.commit({"a.js": "fn(s => s); // pushed"})
    body, signature = signed(linked.webhook_secret, push_payload(sha))
    response = client.post(
        reverse("vcs-webhook", args=[linked.hook_token]),
        body,
        content_type="application/json",
        headers={"X-Hub-Signature-256": signature, "X-GitHub-Event": "push"},
    )
    assert response.status_code == 200 and response.json()["applied"] == ["job-1"]
    job.refresh_from_db()
    assert job.expression == "fn(s => s); // pushed"


def test_the_webhook_answers_401_to_a_bad_signature_and_applies_nothing(client, linked, project, outside):
    job = make_job(project, git_path="a.js")
    sha = outside.commit({"a.js": "fn(s => s); // pushed"})
    body, _ = signed(linked.webhook_secret, push_payload(sha))
    _, wrong = signed("guess", push_payload(sha))
    url = reverse("vcs-webhook", args=[linked.hook_token])
    for headers in ({"X-Hub-Signature-256": wrong}, {}):
        response = client.post(url, body, content_type="application/json", headers=headers)
        assert response.status_code == 401 and "X-Hub-Signature-256" in response.json()["error"]
    job.refresh_from_db()
    assert job.expression == "fn(state => state);" and not Delivery.objects.exists()


def test_the_webhook_of_no_project_is_404(client, db):
    response = client.post(
        "/vcs/hooks/00000000-0000-0000-0000-000000000000", b"{}", content_type="application/json"
    )
    assert response.status_code == 404


def test_the_job_page_shows_a_failed_push_and_its_reason(client_for, linked, project, alice, bare):
    hook = bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'branch is protected' >&2\nexit 1\n")
    hook.chmod(0o755)
    job = make_job(project, git_path="a.js")
    client_for(alice).post(
        reverse("job-edit", args=[project.slug, job.pk]),
        {
            "name": job.name,
            "adaptor": job.adaptor,
            "adaptor_version": "3.3.4",
            "expression": "fn(s => s); // new",
            "file_path": "a.js",
        },
    )
    job.refresh_from_db()
    assert job.expression == "fn(s => s); // new"
    page = client_for(alice).get(reverse("job-detail", args=[project.slug, job.pk])).content.decode()
    assert "the push to the repository failed" in page and "branch is protected" in page


def test_job_studio_saves_the_file_path_and_refuses_a_bad_one(client_for, linked, project, alice, outside):
    job = make_job(project)
    url = reverse("job-edit", args=[project.slug, job.pk])
    form = {
        "name": job.name,
        "adaptor": job.adaptor,
        "adaptor_version": "3.3.4",
        "expression": job.expression,
    }
    response = client_for(alice).post(url, {**form, "file_path": "../outside.js"})
    assert response.status_code == 200 and "may not contain" in response.content.decode()
    client_for(alice).post(url, {**form, "file_path": "jobs/one.js"})
    assert Job.objects.get(pk=job.pk).git_path == "jobs/one.js"
    assert outside.show("jobs/one.js") == job.expression


def test_history_and_revert_from_the_job_page(client_for, linked, project, alice, bob, outside):
    job = make_job(project, git_path="a.js")
    outside.commit({"a.js": "fn(s => s); // v1"}, message="First version")
    outside.commit({"a.js": "fn(s => s); // v2"}, message="Second version")
    history = client_for(bob).get(reverse("job-git-history", args=[project.slug, job.pk])).content.decode()
    assert "First version" in history and "Second version" in history and "Revert" in history
    assert re.search(r">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d</time>", history)
    first = outside.log()[1].split()[0]
    response = client_for(bob).post(reverse("job-git-revert", args=[project.slug, job.pk]), {"commit": first})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.expression == "fn(s => s); // v1" and outside.show("a.js") == "fn(s => s); // v1"


def test_resend_from_the_version_control_page(client_for, linked, project, alice, outside):
    job = make_job(project, git_path="a.js")
    sha = outside.commit({"a.js": "fn(s => s); // resent"})
    response = client_for(alice).post(
        reverse("project-version-control-resend", args=[project.slug]), {"commit": sha}
    )
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.expression == "fn(s => s); // resent"
    assert Delivery.objects.get().resend


def test_a_new_webhook_secret_refuses_the_old_one(client, client_for, linked, project, alice):
    old = linked.webhook_secret
    client_for(alice).post(reverse("project-version-control-secret", args=[project.slug]))
    linked.refresh_from_db()
    assert linked.webhook_secret != old
    body, signature = signed(old, {"zen": "hi"})
    response = client.post(
        reverse("vcs-webhook", args=[linked.hook_token]),
        body,
        content_type="application/json",
        headers={"X-Hub-Signature-256": signature, "X-GitHub-Event": "ping"},
    )
    assert response.status_code == 401


def test_the_secret_is_encrypted_at_rest(linked):
    row = Repository.objects.values_list("secret_encrypted", flat=True).get()
    assert linked.webhook_secret not in row and json.dumps(linked.webhook_secret) not in row
    assert not OutboundCommit.objects.exists()


def test_the_page_keeps_an_access_token_it_never_shows(client_for, project, alice):
    url = reverse("project-version-control", args=[project.slug])
    form = {"repository": "https://git.example.org/team/jobs.git", "branch": "main"}
    client_for(alice).post(url, {**form, "access_token": "tok-secret-1"})
    client_for(alice).post(url, {**form, "access_token": ""})
    assert Repository.objects.get().access_token == "tok-secret-1"
    page = client_for(alice).get(url).content.decode()
    assert "tok-secret-1" not in page and "Remove the access token" in page
    client_for(alice).post(url, {**form, "remove_access_token": "on"})
    assert Repository.objects.get().access_token == ""
