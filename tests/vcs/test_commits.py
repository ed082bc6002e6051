"""A linked job's edits become commits on the branch; a push that fails leaves the job saved."""

from io import StringIO

from kindling.jobs.editing import EditError, create_job, update_job
from kindling.runs.management.commands.scheduler import safe_pass
from kindling.vcs.commits import push_problem, retry_pending
from kindling.vcs.models import OutboundCommit
from tests.conftest import make_job
from tests.vcs.conftest import git


def test_saving_a_linked_jobs_expression_pushes_one_commit_by_its_editor(linked, project, alice, outside):
    job = make_job(project, git_path="jobs/patients.js")
    update_job(job, alice, expression="fn(state => ({...state, n: 1}));")
    assert outside.show("jobs/patients.js") == "fn(state => ({...state, n: 1}));"
    [line] = outside.log()
    assert "Alice <alice@example.com> Update job job-1 (jobs/patients.js)" in line


def test_each_save_is_its_own_commit(linked, project, alice, bob, outside):
    job = make_job(project, git_path="a.js")
    update_job(job, alice, expression="fn(s => s); // 1")
    update_job(job, bob, expression="fn(s => s); // 2")
    assert [line.split(" ", 1)[1] for line in outside.log()] == [
        "Bob <bob@example.com> Update job job-1 (a.js) from Kindling",
        "Alice <alice@example.com> Update job job-1 (a.js) from Kindling",
    ]


def test_no_commit_when_neither_expression_nor_path_changed(linked, project, alice, outside):
    job = make_job(project, git_path="a.js")
    update_job(job, alice, expression="fn(s => s); // 1")
    update_job(job, alice, name="renamed", enabled=False, expression="fn(s => s); // 1")
    assert len(outside.log()) == 1
    assert OutboundCommit.objects.count() == 1


def test_setting_a_file_path_writes_the_expression_to_that_file(linked, project, alice, outside):
    job = make_job(project, expression="fn(s => s); // mine")
    update_job(job, alice, git_path="folder/mine.js")
    assert outside.show("folder/mine.js") == "fn(s => s); // mine"


def test_a_job_created_with_a_file_path_is_committed(linked, project, alice, outside):
    create_job(project, alice, name="new one", expression="fn(s => s);", git_path="new.js")
    assert outside.show("new.js") == "fn(s => s);"


def test_a_project_without_repository_saves_the_path_and_commits_nothing(project, alice):
    job = make_job(project)
    update_job(job, alice, git_path="jobs/a.js", expression="fn(s => s); // 2")
    job.refresh_from_db()
    assert job.git_path == "jobs/a.js" and OutboundCommit.objects.count() == 0


def test_file_paths_that_could_escape_the_repository_are_refused(linked, project, alice):
    job = make_job(project)
    for bad in ("../etc/passwd", "/abs.js", "a/../b.js", ".git/config", "-x.js", "a//b.js", "a\\b.js"):
        try:
            update_job(job, alice, git_path=bad)
        except EditError as exc:
            assert exc.field == "file_path"
        else:
            raise AssertionError(f"{bad!r} was accepted")
    job.refresh_from_db()
    assert job.git_path == ""


def test_a_rejected_push_leaves_the_job_saved_and_is_retried(linked, project, alice, outside, bare):
    hook = bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected branch: pushes need a review' >&2\nexit 1\n")
    hook.chmod(0o755)
    job = make_job(project, git_path="a.js")
    update_job(job, alice, expression="fn(s => s); // kept")
    job.refresh_from_db()
    assert job.expression == "fn(s => s); // kept"
    problem = push_problem(job)
    assert "protected branch: pushes need a review" in problem.error
    hook.unlink()
    OutboundCommit.objects.update(tried_at=None)
    [pushed] = retry_pending()
    assert pushed.status == "pushed" and push_problem(job) is None
    assert outside.show("a.js") == "fn(s => s); // kept"


def test_an_unreachable_repository_keeps_the_commit_pending(project, alice, tmp_path):
    from kindling.vcs.link import link_repository

    link_repository(project, alice, str(tmp_path / "gone.git"), "main")
    job = make_job(project, git_path="a.js")
    update_job(job, alice, expression="fn(s => s); // 2")
    assert push_problem(job).attempts == 1


def test_a_push_from_outside_in_between_is_kept(linked, project, alice, outside):
    job = make_job(project, git_path="a.js")
    update_job(job, alice, expression="fn(s => s); // 1")
    outside.commit({"README.md": "hello"})
    update_job(job, alice, expression="fn(s => s); // 2")
    assert outside.show("README.md") == "hello"
    assert outside.show("a.js") == "fn(s => s); // 2"
    assert git(outside.bare, "rev-list", "--count", "main") == "3"


def test_the_scheduler_pushes_what_waited(linked, project, alice, outside, bare):
    hook = bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    job = make_job(project, git_path="a.js")
    update_job(job, alice, expression="fn(s => s); // later")
    hook.unlink()
    OutboundCommit.objects.update(tried_at=None)
    out = StringIO()
    safe_pass(out)
    assert "git: pushed a.js" in out.getvalue()
    assert outside.show("a.js") == "fn(s => s); // later"


def test_without_git_installed_the_save_still_succeeds(linked, project, alice, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    job = make_job(project, git_path="a.js")
    update_job(job, alice, expression="fn(s => s); // saved")
    job.refresh_from_db()
    assert job.expression == "fn(s => s); // saved"
    assert "git program is not installed" in push_problem(job).error


def test_an_editor_name_git_would_refuse_is_cleaned(linked, project, alice, outside):
    alice.name = "Alice <the admin>\nSmith"
    alice.save()
    job = make_job(project, git_path="a.js")
    update_job(job, alice, expression="fn(s => s); // named")
    assert "Alice the admin Smith <alice@example.com>" in outside.log()[0]
