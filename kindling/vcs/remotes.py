"""What a repository address and a job's file path may be, checked before git ever sees them.

A repository is `owner/name` (on GitHub, or the GitHub Enterprise server of KINDLING_GITHUB_URL), an
http(s) URL of any git server (Gitea, GitLab...), a local path or a file:// URL (tests, small
installations). Nothing else: git's other transports (ssh, ext::, fd::...) can run programs.
"""

import re
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from django.conf import settings

from kindling.vcs.git import GitError

OWNER_NAME = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
BRANCH_BAD = re.compile(r"(^[-/.])|(\.\.)|([\x00-\x20~^:?*\[\\\x7f])|(@\{)|(//)|([/.]$)|(\.lock$)")
PATH_MAX = 500


class RemoteError(ValueError):
    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


def clean_repository(value: str) -> str:
    url = str(value or "").strip()
    if not url:
        raise RemoteError(
            "Give the repository: owner/name on GitHub, an https:// URL or a local path.", "repository"
        )
    if len(url) > 1000:
        raise RemoteError("The repository address is longer than 1000 characters.", "repository")
    if any(ord(c) < 32 or c == "\x7f" for c in url) or url.startswith("-"):
        raise RemoteError("The repository address has characters no repository address has.", "repository")
    if OWNER_NAME.match(url) and not url.startswith("."):
        return url.removesuffix(".git")
    parts = urlsplit(url)
    if is_local(url):
        if not settings.GIT_LOCAL_REPOSITORIES:
            raise RemoteError(
                "This Kindling does not use repositories on its own disk (its operator can allow them with "
                "KINDLING_GIT_LOCAL_REPOSITORIES=true): give owner/name or an https URL.",
                "repository",
            )
        return url
    if parts.scheme in ("http", "https") and parts.hostname:
        if parts.username or parts.password:
            raise RemoteError(
                "Put no password or token in the repository URL: connect your GitHub account in Account "
                "Settings instead.",
                "repository",
            )
        return url
    raise RemoteError(
        f"{url!r} is not a repository Kindling can use: give owner/name (GitHub), an http(s):// URL, an "
        "absolute local path or a file:// URL.",
        "repository",
    )


def clean_branch(value: str) -> str:
    branch = str(value or "").strip().removeprefix("refs/heads/")
    if not branch:
        raise RemoteError("Give the branch to deploy from and push to, like main.", "branch")
    if len(branch) > 250 or BRANCH_BAD.search(branch):
        raise RemoteError(f"{branch!r} is not a valid git branch name.", "branch")
    return branch


def clean_path(value: str) -> str:
    """A file path from the root of the repository, like some_folder/job.js; empty unlinks the job."""
    path = str(value or "").strip()
    if not path:
        return ""
    if len(path) > PATH_MAX:
        raise RemoteError(f"The file path is longer than {PATH_MAX} characters.", "file_path")
    if path.startswith("/") or "\\" in path:
        raise RemoteError(
            "Give the file path from the root of the repository, like jobs/sample_job.js (no leading /).",
            "file_path",
        )
    if any(ord(c) < 32 or c == "\x7f" for c in path):
        raise RemoteError("The file path has control characters.", "file_path")
    parts = PurePosixPath(path).parts
    if any(part in ("..", ".") for part in path.split("/")) or "" in path.split("/"):
        raise RemoteError("The file path may not contain '..', '.' or empty folders.", "file_path")
    if any(part.lower() == ".git" for part in parts) or any(part.startswith("-") for part in parts):
        raise RemoteError("The file path may not go into .git or have a name starting with '-'.", "file_path")
    return path


def is_local(url: str) -> bool:
    return url.startswith("/") or (url.startswith("file:///") and len(url) > len("file:///"))


def is_github(url: str) -> bool:
    return bool(OWNER_NAME.match(url)) or url.startswith(settings.GITHUB_URL + "/")


def fetch_url(url: str) -> str:
    """The address git is given for a repository as stored."""
    if is_local(url) and not settings.GIT_LOCAL_REPOSITORIES:
        raise GitError(
            "repositories on this server's disk are switched off (KINDLING_GIT_LOCAL_REPOSITORIES)"
        )
    if OWNER_NAME.match(url):
        return f"{settings.GITHUB_URL}/{url}.git"
    return url


def display(url: str) -> str:
    return f"{settings.GITHUB_URL}/{url}" if OWNER_NAME.match(url) else url
