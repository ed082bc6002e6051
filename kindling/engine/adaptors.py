"""The adaptor repository: the folder of installed `@openfn/language-*` packages runs link against.

Its layout is the one @openfn/runtime's linker reads: `package.json` lists each adaptor version as
a dependency named `<name>_<version>` (an npm alias), installed in `node_modules/<name>_<version>/`.
Several versions of one adaptor live side by side, and a version, once installed, never changes.
"""

import fcntl
import json
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ADAPTOR_NAME = re.compile(r"^@openfn/language-[a-z0-9-]+$")
EXACT_VERSION = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
DIST_TAGS = ("latest", "next")
NPM_TIMEOUT_SECONDS = 300
# How long a "latest" lookup is trusted; a long-lived worker should still notice new releases.
LATEST_TTL_SECONDS = 3600
# Lightning gives a job whose code names `collections.` the collections adaptor beside its own, imported
# by name (`collections`); the version is the one whose HTTP API kindling/collections/api.py serves.
COLLECTIONS_ADAPTOR = "@openfn/language-collections@0.8.0"

Note = Callable[[str, str], None]  # (level, message), for the run's log

_latest: dict[str, tuple[str, float]] = {}
_published: dict[str, tuple[list[str], float]] = {}
_latest_lock = threading.Lock()


class AdaptorUnavailable(Exception):
    """The adaptor cannot be used: bad name, unknown version, npm failure. `details`: npm's reasons."""

    def __init__(self, message: str, details: list[str] | None = None):
        super().__init__(message)
        self.details = details or []


def expand_shorthand(spec: str) -> str:
    """OpenFn's CLI shorthand: "http@7.2.10" means "@openfn/language-http@7.2.10"."""
    if spec and not spec.startswith("@") and "/" not in spec:
        return f"@openfn/language-{spec}"
    return spec


def parse_adaptor(spec: str) -> tuple[str, str | None]:
    """Split "@openfn/language-http@7.2.10" into ("@openfn/language-http", "7.2.10"); no version: None."""
    at = spec.rfind("@")
    name, version = (spec[:at], spec[at + 1 :]) if at > 0 else (spec, None)
    if not ADAPTOR_NAME.match(name):
        raise AdaptorUnavailable(
            f"{spec!r} is not an adaptor Kindling can run: names look like @openfn/language-http"
        )
    if version is not None and not (EXACT_VERSION.match(version) or version in DIST_TAGS):
        raise AdaptorUnavailable(
            f"{spec!r} has an invalid version {version!r}: use an exact version (7.2.10) or latest"
        )
    return name, version


# package.json as last read, per repository: (modification time in ns, size, parsed). Every run asks
# whether its adaptor is installed; the file changes only when npm installs another version.
_repo_packages: dict[Path, tuple[int, int, dict]] = {}


def _read_repo_package(repo_dir: Path) -> dict:
    path = Path(repo_dir) / "package.json"
    try:
        stat = path.stat()
        known = _repo_packages.get(path)
        if known is not None and known[:2] == (stat.st_mtime_ns, stat.st_size):
            return known[2]
        parsed = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError:
        # Read while npm rewrites it: "not installed" sends the caller to the locked path, which
        # reads it again once npm is done.
        return {}
    if isinstance(parsed, dict):
        _repo_packages[path] = (stat.st_mtime_ns, stat.st_size, parsed)
    return parsed


def package_dir(repo_dir: Path, name: str, version: str) -> Path:
    """Where an installed adaptor version lives: `node_modules/<name>_<version>/` (the npm alias)."""
    return Path(repo_dir) / "node_modules" / f"{name}_{version}"


def adaptors_beside(adaptor: str, expression: str) -> list[str]:
    """The adaptors a run loads beside its own: the collections adaptor when the job's code names
    `collections.` (Lightning's rule) and its own adaptor is not that one already; else none."""
    if "collections." not in (expression or ""):
        return []
    if parse_adaptor(adaptor)[0] == parse_adaptor(COLLECTIONS_ADAPTOR)[0]:
        return []
    return [COLLECTIONS_ADAPTOR]


def version_key(version: str) -> tuple:
    """Sorts 7.10.0 after 7.9.2, and a release after its pre-releases."""
    core = re.split(r"[-+]", version, maxsplit=1)[0]
    return tuple(int(part) if part.isdigit() else 0 for part in core.split(".")), "-" not in version


def is_installed(repo_dir: Path, name: str, version: str) -> bool:
    # The dependency key is what the runtime's linker checks; the folder must be there too.
    dependencies = _read_repo_package(repo_dir).get("dependencies") or {}
    if f"{name}_{version}" not in dependencies:
        return False
    return (package_dir(repo_dir, name, version) / "package.json").is_file()


def list_installed(repo_dir: Path) -> list[tuple[str, str]]:
    """(name, version) of every adaptor version in the repository."""
    found = []
    for alias in _read_repo_package(repo_dir).get("dependencies") or {}:
        name, _, version = alias.rpartition("_")
        if (
            ADAPTOR_NAME.match(name)
            and EXACT_VERSION.match(version)
            and is_installed(repo_dir, name, version)
        ):
            found.append((name, version))
    return sorted(found)


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise AdaptorUnavailable("npm is not installed on this machine: adaptors cannot be installed")
    return npm


def _npm_reasons(output: str) -> list[str]:
    """The `npm error` lines worth showing a user (not the pointer to npm's own debug log)."""
    reasons = []
    for line in output.splitlines():
        match = re.match(r"^npm (?:error|ERR!)\s?(.*)$", line)
        if match and match.group(1).strip():
            text = match.group(1).strip()
            if not re.match(r"^(A complete log of this run|\S+debug-\d\.log$)", text):
                reasons.append(text)
    return reasons[:10] or [line for line in output.splitlines() if line.strip()][-5:]


def _run_npm(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [_npm(), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=NPM_TIMEOUT_SECONDS,
        # npm runs no package scripts (--ignore-scripts), so it may see the platform's environment:
        # it needs HOME, PATH and any npm_config_* registry settings.
        env={**os.environ, "npm_config_update_notifier": "false"},
    )


def resolve_version(name: str, tag: str, repo_dir: Path, note: Note) -> str:
    with _latest_lock:
        cached = _latest.get(f"{name}@{tag}")
    if cached and time.monotonic() - cached[1] < LATEST_TTL_SECONDS:
        return cached[0]
    try:
        completed = _run_npm(["view", f"{name}@{tag}", "version"])
    except subprocess.TimeoutExpired:
        completed = None
    version = (
        completed.stdout.strip().splitlines()[-1].strip() if completed and completed.returncode == 0 else ""
    )
    if EXACT_VERSION.match(version):
        with _latest_lock:
            _latest[f"{name}@{tag}"] = (version, time.monotonic())
        note("info", f"Resolved {name}@{tag} to version {version}")
        return version
    # The registry is unreachable or says no: an installed version is better than no run at all.
    installed = sorted((v for n, v in list_installed(repo_dir) if n == name), key=version_key)
    if installed:
        note(
            "warn",
            f"Could not look up {name}@{tag} on npm; using the newest installed version {installed[-1]}",
        )
        return installed[-1]
    reasons = _npm_reasons(completed.stderr if completed else "npm view timed out")
    raise AdaptorUnavailable(f"Could not find the version of {name}@{tag} on npm", reasons)


def published_versions(name: str) -> list[str]:
    """The released versions of an adaptor on npm, newest first (pre-releases left out); trusted for
    as long as a "latest" lookup. Raises AdaptorUnavailable for a bad name or when npm cannot say."""
    name, _version = parse_adaptor(name)
    with _latest_lock:
        cached = _published.get(name)
    if cached and time.monotonic() - cached[1] < LATEST_TTL_SECONDS:
        return cached[0]
    try:
        completed = _run_npm(["view", name, "versions", "--json"])
    except subprocess.TimeoutExpired:
        completed = None
    if completed is not None and completed.returncode == 0:
        try:
            listed = json.loads(completed.stdout or "[]")
        except json.JSONDecodeError:
            listed = []
        listed = [listed] if isinstance(listed, str) else listed  # npm prints one version bare
        versions = sorted(
            (v for v in listed if isinstance(v, str) and EXACT_VERSION.match(v) and "-" not in v),
            key=version_key,
            reverse=True,
        )
        if versions:
            with _latest_lock:
                _published[name] = (versions, time.monotonic())
            return versions
    reasons = _npm_reasons(completed.stderr if completed else "npm view timed out")
    raise AdaptorUnavailable(f"Could not list the versions of {name} on npm", reasons or ["npm listed none"])


@contextmanager
def _install_lock(repo_dir: Path) -> Iterator[None]:
    # One npm install at a time per repository, across processes and threads: two concurrent
    # installs rewrite package.json and node_modules over each other.
    repo_dir.mkdir(parents=True, exist_ok=True)
    with open(repo_dir / ".install.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _install(repo_dir: Path, name: str, version: str, note: Note) -> None:
    with _install_lock(repo_dir):
        if is_installed(repo_dir, name, version):  # another process got there while we waited
            return
        package = repo_dir / "package.json"
        if not package.exists():
            package.write_text(
                json.dumps({"name": "kindling-adaptors", "private": True, "dependencies": {}}, indent=2)
            )
        note("info", f"Installing {name}@{version} into the adaptor repository")
        started = time.monotonic()
        alias = f"{name}_{version}@npm:{name}@{version}"
        try:
            completed = _run_npm(
                # --save-exact: without it npm records "^7.2.10", and a later install could move the
                # folder named _7.2.10 to another version.
                ["install", "--no-audit", "--no-fund", "--ignore-scripts", "--save-exact", alias],
                cwd=repo_dir,
            )
        except subprocess.TimeoutExpired as exc:
            raise AdaptorUnavailable(
                f"Installing {name}@{version} took longer than {NPM_TIMEOUT_SECONDS} s and was stopped"
            ) from exc
        if completed.returncode != 0 or not is_installed(repo_dir, name, version):
            raise AdaptorUnavailable(
                f"Could not install {name}@{version}", _npm_reasons(completed.stderr + completed.stdout)
            )
        note("info", f"Installed {name}@{version} in {time.monotonic() - started:.1f} s")


def ensure_adaptor(spec: str, repo_dir: Path, *, note: Note | None = None) -> tuple[str, str]:
    """(name, exact version) of the adaptor, installing it first if needed; raises AdaptorUnavailable.

    An exact version that is installed is answered from the repository alone, without npm.
    """
    note = note or (lambda level, message: None)
    repo_dir = Path(repo_dir)
    name, version = parse_adaptor(spec)
    if version is None or version in DIST_TAGS:
        version = resolve_version(name, version or "latest", repo_dir, note)
    if not is_installed(repo_dir, name, version):
        _install(repo_dir, name, version, note)
    return name, version
