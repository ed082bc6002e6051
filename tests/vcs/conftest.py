"""Local bare git repositories standing in for a project's repository, and an "outside" clone that
pushes to them as a developer would."""

import hashlib
import hmac
import json
import subprocess
from pathlib import Path

import pytest

from kindling.vcs.link import link_repository

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Dev Outside",
    "GIT_AUTHOR_EMAIL": "dev@example.org",
    "GIT_COMMITTER_NAME": "Dev Outside",
    "GIT_COMMITTER_EMAIL": "dev@example.org",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
    "PATH": "/usr/bin:/bin",
    "HOME": "/tmp",
}


def git(cwd, *args) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


class Outside:
    """A developer's clone of the bare repository."""

    def __init__(self, bare: Path, clone: Path):
        self.bare, self.clone = bare, clone

    def commit(self, files: dict, message="Change from outside") -> str:
        git(self.clone, "pull", "--quiet", "--rebase", "origin", "main") if self.has_remote_main() else None
        for path, text in files.items():
            target = self.clone / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            git(self.clone, "add", "--", path)
        git(self.clone, "commit", "--quiet", "-m", message)
        git(self.clone, "push", "--quiet", "origin", "HEAD:main")
        return git(self.clone, "rev-parse", "HEAD")

    def has_remote_main(self) -> bool:
        return bool(git(self.bare, "branch", "--list", "main"))

    def show(self, path: str, ref: str = "main") -> str:
        return git(self.bare, "show", f"{ref}:{path}")

    def log(self, *args) -> list[str]:
        out = git(self.bare, "log", "--format=%H %an <%ae> %s", "main", *args)
        return out.splitlines() if out else []


@pytest.fixture
def bare(tmp_path) -> Path:
    path = tmp_path / "jobs.git"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(path))
    return path


@pytest.fixture
def outside(tmp_path, bare) -> Outside:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", str(bare), str(clone))
    git(clone, "checkout", "--quiet", "-B", "main")
    return Outside(bare, clone)


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    # The tests' repositories are on this disk (off by default: tests/vcs/test_api.py checks that)
    settings.GIT_LOCAL_REPOSITORIES = True


@pytest.fixture
def linked(project, alice, bare):
    """The project linked to the bare repository by path, automatic deploys on."""
    return link_repository(project, alice, str(bare), "main", autodeploy=True)


def signed(secret: str, payload: dict) -> tuple[bytes, str]:
    body = json.dumps(payload).encode()
    return body, "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def push_payload(sha: str, branch="main", files=()) -> dict:
    return {"ref": f"refs/heads/{branch}", "after": sha, "commits": [{"id": sha, "modified": list(files)}]}
