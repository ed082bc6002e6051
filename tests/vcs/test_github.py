"""Connecting an account to GitHub (OAuth with a local GitHub stand-in), and pushing to an owner/name
repository over HTTP with the connected account's token."""

import urllib.request

import pytest
from django.urls import reverse

from kindling.jobs.editing import update_job
from kindling.vcs.commits import push_problem
from kindling.vcs.history import job_commits
from kindling.vcs.link import link_repository
from kindling.vcs.models import GitHubConnection
from tests.conftest import make_job
from tests.vcs import github_standin
from tests.vcs.conftest import git


@pytest.fixture
def github(settings, tmp_path):
    server = github_standin.start(tmp_path / "github")
    (tmp_path / "github").mkdir()
    settings.GITHUB_CLIENT_ID = github_standin.CLIENT_ID
    settings.GITHUB_CLIENT_SECRET = github_standin.CLIENT_SECRET
    settings.GITHUB_URL = server.url
    settings.GITHUB_API_URL = server.url + "/api/v3"
    yield server
    server.shutdown()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kw):
        return None


def authorize(location: str) -> str:
    """What GitHub's authorize page redirects the browser to once the user grants access."""
    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(location)
    except urllib.error.HTTPError as exc:
        return exc.headers["Location"]
    raise AssertionError("the authorize page did not redirect")


def test_connecting_to_github_keeps_the_token_encrypted(client_for, alice, github):
    browser = client_for(alice)
    start = browser.post(reverse("github-connect"))
    assert start.status_code == 302 and start["Location"].startswith(github.url + "/login/oauth/authorize?")
    back = authorize(start["Location"])
    done = browser.get(back.removeprefix("http://testserver"))
    assert done.status_code == 302 and done["Location"] == reverse("account-settings")
    connection = GitHubConnection.objects.get(user=alice)
    assert connection.login == "alice-gh" and connection.token in github.tokens
    assert connection.token not in connection.token_encrypted
    page = browser.get(reverse("account-settings")).content.decode()
    assert 'connected as <strong id="github-login">alice-gh</strong>' in page
    assert connection.token not in page


def test_a_callback_that_is_not_ours_is_refused(client_for, alice, github):
    browser = client_for(alice)
    browser.post(reverse("github-connect"))
    response = browser.get(reverse("github-callback"), {"code": "code-1", "state": "forged"})
    assert response.status_code == 400 and not GitHubConnection.objects.exists()


def test_a_refused_code_says_why(client_for, alice, github):
    browser = client_for(alice)
    start = browser.post(reverse("github-connect"))
    state = start["Location"].split("state=")[1]
    response = browser.get(reverse("github-callback"), {"code": "not-issued", "state": state}, follow=True)
    assert "The code is wrong." in response.content.decode()
    assert not GitHubConnection.objects.exists()


def test_disconnecting_forgets_the_token(client_for, alice, github):
    connect(alice, github)
    client_for(alice).post(reverse("github-disconnect"))
    assert not GitHubConnection.objects.exists()


def test_without_an_oauth_app_connecting_explains(client_for, alice, settings):
    settings.GITHUB_CLIENT_ID = ""
    response = client_for(alice).post(reverse("github-connect"), follow=True)
    assert "KINDLING_GITHUB_CLIENT_ID" in response.content.decode()


def connect(user, github):
    connection = GitHubConnection(user=user, login="alice-gh")
    connection.token = github.issue_token()
    connection.save()
    return connection


def test_edits_are_pushed_to_an_owner_name_repository_over_http(tmp_path, project, alice, github):
    bare = tmp_path / "github" / "acme" / "jobs.git"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    connect(alice, github)
    link_repository(project, alice, "acme/jobs", "main", autodeploy=True)
    job = make_job(project, git_path="jobs/a.js")
    update_job(job, alice, expression="fn(s => s); // over http")
    assert push_problem(job) is None
    assert git(bare, "show", "main:jobs/a.js") == "fn(s => s); // over http"
    assert any(path.endswith("/git-receive-pack") for path in github.git_requests)
    assert [c["author"] for c in job_commits(job)] == ["Alice"]


def test_without_a_github_connection_the_push_waits_and_says_why(tmp_path, project, alice, github):
    bare = tmp_path / "github" / "acme" / "jobs.git"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    link_repository(project, alice, "acme/jobs", "main")
    job = make_job(project, git_path="a.js")
    update_job(job, alice, expression="fn(s => s); // waits")
    problem = push_problem(job)
    assert "connect your account in Account Settings" in problem.error
    job.refresh_from_db()
    assert job.expression == "fn(s => s); // waits"


def test_another_git_server_is_pushed_to_with_the_repositorys_access_token(
    tmp_path, project, alice, settings
):
    server = github_standin.start(tmp_path / "gitea")
    try:
        bare = tmp_path / "gitea" / "team" / "jobs.git"
        git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
        url = f"{server.url}/team/jobs.git"
        link_repository(project, alice, url, "main", access_token="not-issued")
        job = make_job(project, git_path="a.js")
        update_job(job, alice, expression="fn(s => s); // to gitea")
        assert "not-issued" not in push_problem(job).error
        link_repository(project, alice, url, "main", access_token=server.issue_token())
        update_job(job, alice, expression="fn(s => s); // to gitea, 2")
        assert push_problem(job) is None
        assert git(bare, "show", "main:a.js") == "fn(s => s); // to gitea, 2"
        assert git(bare, "rev-list", "--count", "main") == "2"
    finally:
        server.shutdown()
