"""A linked job's history in git, and reverting it to one of its commits."""

import pytest

from kindling.jobs.editing import update_job
from kindling.vcs.history import HistoryError, job_commits, revert_to_commit
from tests.api.conftest import call  # noqa: F401
from tests.conftest import make_job


def test_history_lists_the_commits_that_touched_the_jobs_file(linked, project, alice, outside):
    job = make_job(project, git_path="a.js")
    update_job(job, alice, expression="fn(s => s); // 1")
    outside.commit({"other.js": "x"})
    outside.commit({"a.js": "fn(s => s); // 2"}, message="Tune a.js")
    commits = job_commits(job)
    assert [c["message"] for c in commits] == ["Tune a.js", "Update job job-1 (a.js) from Kindling"]
    assert commits[1]["author"] == "Alice" and len(commits[1]["sha"]) == 40 and commits[1]["date"]


def test_revert_makes_a_new_commit_restoring_that_version(linked, project, alice, bob, outside):
    job = make_job(project, git_path="a.js")
    update_job(job, alice, expression="fn(s => s); // good")
    update_job(job, alice, expression="fn(s => s); // bad")
    good = job_commits(job)[1]["sha"]
    revert_to_commit(job, good, bob)
    job.refresh_from_db()
    assert job.expression == "fn(s => s); // good"
    assert outside.show("a.js") == "fn(s => s); // good"
    newest = outside.log()[0]
    assert f"Bob <bob@example.com> Revert job job-1 to {good[:7]}" in newest
    assert len(outside.log()) == 3


def test_revert_refuses_a_commit_that_did_not_touch_the_file(linked, project, alice, outside):
    job = make_job(project, git_path="a.js")
    update_job(job, alice, expression="fn(s => s); // 1")
    other = outside.commit({"other.js": "x"})
    with pytest.raises(HistoryError) as refused:
        revert_to_commit(job, other, alice)
    assert refused.value.status == 404


def test_revert_refuses_an_empty_version(linked, project, alice, outside):
    job = make_job(project, git_path="a.js")
    empty = outside.commit({"a.js": ""})
    with pytest.raises(HistoryError) as refused:
        revert_to_commit(job, empty, alice)
    assert refused.value.status == 409
    job.refresh_from_db()
    assert job.expression == "fn(state => state);"


def test_an_unlinked_job_has_no_git_history(project, alice):
    with pytest.raises(HistoryError) as refused:
        job_commits(make_job(project))
    assert refused.value.status == 409


def test_the_history_api_lists_versions_and_commits_and_reverts_to_either(
    linked,
    project,
    alice,
    bob,
    outside,
    call,  # noqa: F811
):
    job = make_job(project, git_path="a.js")
    update_job(job, alice, expression="fn(s => s); // good")
    update_job(job, alice, expression="fn(s => s); // bad")

    history = call(bob, "GET", f"/jobs/{job.pk}/history").json()

    assert [c["message"] for c in history["commits"]][-1] == "Update job job-1 (a.js) from Kindling"
    assert len(history["commits"]) == 2 and len(history["versions"]) >= 2
    good = history["commits"][1]["sha"]
    reverted = call(bob, "POST", f"/jobs/{job.pk}/revert", {"commit": good})
    assert reverted.status_code == 200 and reverted.json()["job"]["expression"] == "fn(s => s); // good"
    assert outside.show("a.js") == "fn(s => s); // good"
    both = call(bob, "POST", f"/jobs/{job.pk}/revert", {"commit": good, "version": 1})
    assert both.status_code == 400 and "either" in both.json()["error"]
    unknown = call(bob, "POST", f"/jobs/{job.pk}/revert", {"commit": "0" * 40})
    assert unknown.status_code == 404 and "not in the history" in unknown.json()["error"]


def test_a_job_linked_to_no_file_has_versions_and_no_commits(project, alice, call):  # noqa: F811
    job = make_job(project)
    update_job(job, alice, expression="fn(s => s); // 2")

    history = call(alice, "GET", f"/jobs/{job.pk}/history").json()

    assert history["commits"] == [] and history["versions"]
