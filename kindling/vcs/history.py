"""A linked job's change history in git: the commits that touched its file, and a revert that makes a
new commit putting the file (and the job) back as it was at one of them.

`job_commits` and `revert_to_commit` are what the job's page and the REST API's
/jobs/{id}/history and /jobs/{id}/revert call for git; versions kept without git are the jobs app's.
"""

from kindling.jobs.editing import update_job
from kindling.vcs import commits, git, remotes
from kindling.vcs.link import push_token, repository_of


class HistoryError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _fetched(job):
    repo = repository_of(job.project)
    if repo is None:
        raise HistoryError(
            409, "This project is not linked to a repository: set one on its Version Control page."
        )
    if not job.git_path:
        raise HistoryError(409, f"Job {job.name} is linked to no file: give it a file path first.")
    mirror = git.ensure_mirror(job.project_id)
    try:
        head = git.fetch(mirror, remotes.fetch_url(repo.url), repo.branch, push_token(repo))
    except git.GitError as exc:
        raise HistoryError(502, f"Could not fetch {remotes.display(repo.url)}: {exc}") from None
    return mirror, head


def job_commits(job, limit: int = 100) -> list[dict]:
    """The commits of the project's branch that touched the job's file, newest first:
    [{"sha", "date" (ISO 8601), "author", "email", "message"}]."""
    with git.locked(job.project_id):
        mirror, head = _fetched(job)
        if head is None:
            return []
        return git.log(mirror, head, job.git_path, limit)


def revert_to_commit(job, sha: str, user):
    """Put the job's expression back to its file at `sha` (a commit of the branch that touched it) and
    push that as a new commit. Returns the job; raises HistoryError saying why not."""
    sha = str(sha or "").strip().lower()
    if not git.SHA.match(sha):
        raise HistoryError(400, "Give the commit's SHA (7 to 64 hexadecimal characters).")
    with git.locked(job.project_id):
        mirror, head = _fetched(job)
        touched = git.log(mirror, head, job.git_path, limit=10000) if head else []
        found = next((c for c in touched if c["sha"].startswith(sha)), None)
        if found is None:
            raise HistoryError(
                404, f"Commit {sha[:12]} is not in the history of {job.git_path} on the project's branch."
            )
        content = git.file_at(mirror, found["sha"], job.git_path)
    if content is None or not content.strip():
        raise HistoryError(
            409,
            f"{job.git_path} is empty or missing at commit {found['sha'][:7]}: reverting would erase it.",
        )
    update_job(job, user, from_git=True, expression=content)
    job.refresh_from_db()
    commits.queue_commit(job, user, f"Revert job {job.name} to {found['sha'][:7]} ({found['message'][:80]})")
    commits.push_pending(job.project)
    return job
