"""Running the `git` program for a project: a bare mirror per project under the data dir, where commits
are built with plumbing commands (no working tree), fetched and pushed.

Nothing a user typed ever becomes an option: the remote address and file paths are validated
(kindling/vcs/remotes.py), passed after `--` or inside an argument that starts with a SHA, and git may
only use the file, http and https transports (GIT_ALLOW_PROTOCOL). Every call has a timeout: a slow
server makes a push fail and retry later, it never holds a request for long. A file lock serialises
the work on one project's mirror between threads and processes.
"""

import base64
import contextlib
import fcntl
import os
import re
import subprocess
from pathlib import Path

from django.conf import settings

SHA = re.compile(r"^[0-9a-f]{7,64}$")
REMOTE_REF = "refs/kindling/head"


class GitError(Exception):
    """git failed; the message is git's own reason, without any token."""


def mirrors_dir() -> Path:
    return Path(settings.DATA_DIR) / "vcs"


def mirror_path(project_id: int) -> Path:
    return mirrors_dir() / f"project-{project_id}.git"


@contextlib.contextmanager
def locked(project_id: int):
    mirrors_dir().mkdir(parents=True, exist_ok=True)
    with open(mirrors_dir() / f"project-{project_id}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def base_env(token: str | None = None) -> dict:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(mirrors_dir()),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ALLOW_PROTOCOL": "file:http:https",
        "LANG": "C",
        "LC_ALL": "C",
    }
    # A bare mirror owned by this process's user: git's "dubious ownership" check is for shared trees.
    config = [("safe.directory", "*"), ("protocol.file.allow", "always")]
    if token:
        # The token goes in a header through the environment: never on a command line (other users can
        # read those in ps) nor in a URL (git writes those into error messages).
        # "user:token" for a server that wants its user name; else any name does (GitHub, Gitea, GitLab).
        user, _, secret = token.rpartition(":")
        basic = base64.b64encode(f"{user or 'x-access-token'}:{secret}".encode()).decode()
        config.append(("http.extraHeader", f"Authorization: Basic {basic}"))
    env["GIT_CONFIG_COUNT"] = str(len(config))
    for number, (key, value) in enumerate(config):
        env[f"GIT_CONFIG_KEY_{number}"] = key
        env[f"GIT_CONFIG_VALUE_{number}"] = value
    return env


def run(mirror: Path, *args: str, input: str | None = None, token: str | None = None, extra_env=None) -> str:
    env = base_env(token)
    env.update(extra_env or {})
    try:
        done = subprocess.run(
            ["git", f"--git-dir={mirror}", *args],
            input=input.encode() if input is not None else None,
            capture_output=True,
            env=env,
            timeout=settings.GIT_TIMEOUT,
            cwd=mirror if mirror.exists() else None,
        )
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} took longer than {settings.GIT_TIMEOUT} seconds") from None
    except FileNotFoundError:
        raise GitError("the git program is not installed on this server") from None
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip() or done.stdout.decode(errors="replace").strip()
        raise GitError(clean_reason(reason, token))
    return done.stdout.decode(errors="replace")


def clean_reason(reason: str, token: str | None) -> str:
    if token:
        reason = reason.replace(token, "***")
    lines = [line.removeprefix("remote: ").strip() for line in reason.splitlines() if line.strip()]
    return " ".join(lines)[:1000] or "git failed without saying why"


def ensure_mirror(project_id: int) -> Path:
    mirror = mirror_path(project_id)
    if not (mirror / "HEAD").exists():
        mirror.mkdir(parents=True, exist_ok=True)
        run(mirror, "init", "--bare", "--quiet")
    return mirror


def fetch(mirror: Path, url: str, branch: str, token: str | None = None) -> str | None:
    """Fetch the branch into REMOTE_REF; its head's SHA, or None when the branch does not exist yet (an
    empty repository: the first commit starts it)."""
    listed = run(mirror, "ls-remote", "--heads", "--", url, f"refs/heads/{branch}", token=token)
    if not listed.strip():
        run(mirror, "update-ref", "-d", REMOTE_REF)
        return None
    run(mirror, "fetch", "--quiet", "--no-tags", "--", url, f"+refs/heads/{branch}:{REMOTE_REF}", token=token)
    return run(mirror, "rev-parse", "--verify", "--quiet", REMOTE_REF).strip()


def has_commit(mirror: Path, sha: str) -> bool:
    try:
        run(mirror, "cat-file", "-e", f"{sha}^{{commit}}")
    except GitError:
        return False
    return True


def file_at(mirror: Path, sha: str, path: str) -> str | None:
    """The file's text at a commit, or None when the commit has no such file."""
    try:
        kind = run(mirror, "cat-file", "-t", f"{sha}:{path}").strip()
    except GitError:
        return None
    if kind != "blob":
        return None
    return run(mirror, "cat-file", "blob", f"{sha}:{path}")


def commit_file(mirror: Path, parent: str | None, path: str, content: str, message: str, author) -> str:
    """A new commit on `parent` (None: the first of the branch) where `path` holds `content`; its SHA.
    `author`: (name, email). The tree is built in an index of its own, never in a working tree."""
    index = mirror / "kindling-index"
    index.unlink(missing_ok=True)
    env = {"GIT_INDEX_FILE": str(index)}
    name, email = author
    env.update(
        GIT_AUTHOR_NAME=name,
        GIT_AUTHOR_EMAIL=email,
        GIT_COMMITTER_NAME="Kindling",
        GIT_COMMITTER_EMAIL="kindling@localhost",
    )
    try:
        if parent:
            run(mirror, "read-tree", parent, extra_env=env)
        blob = run(mirror, "hash-object", "-w", "--stdin", input=content).strip()
        run(mirror, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", extra_env=env)
        tree = run(mirror, "write-tree", extra_env=env).strip()
        parents = ["-p", parent] if parent else []
        return run(mirror, "commit-tree", tree, *parents, input=message, extra_env=env).strip()
    finally:
        index.unlink(missing_ok=True)


def push(mirror: Path, url: str, sha: str, branch: str, token: str | None = None) -> None:
    run(mirror, "push", "--quiet", "--", url, f"{sha}:refs/heads/{branch}", token=token)


LOG_FIELDS = "%H%x1f%aI%x1f%an%x1f%ae%x1f%s%x1e"


def log(mirror: Path, head: str, path: str, limit: int = 100) -> list[dict]:
    out = run(mirror, "log", f"--max-count={limit}", f"--format={LOG_FIELDS}", head, "--", path)
    commits = []
    for record in out.split("\x1e"):
        record = record.strip("\n")
        if not record:
            continue
        sha, date, name, email, subject = record.split("\x1f")
        commits.append({"sha": sha, "date": date, "author": name, "email": email, "message": subject})
    return commits
