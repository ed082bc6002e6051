"""The runner's V8 startup snapshot (docs/engine.md, "Start-up snapshot").

A fresh runner spends most of its start loading and compiling @openfn/runtime, the compiler and
their ~150 files. `runner/build-snapshot.mjs` bundles them with the runner into one script and has
Node build a startup snapshot of its heap once they are loaded; a runner started with
`--snapshot-blob` has all of that already and runs `main()` at once.

V8 accepts a snapshot only from a process with the same V8 flags, heap sizes included, so there is
one snapshot per run memory limit: `make setup` builds the one for KINDLING_RUN_MEMORY_MB, and one
for another limit is built in the background the first time a runner needs it. A snapshot is used
only while it matches the installed Node.js binary, the runner's folder and its sources; otherwise,
or while one is being built, runners start from worker.mjs as before, and the log says so once.
"""

import functools
import hashlib
import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

RUNNER_DIR = Path(__file__).resolve().parent / "runner"
BUILD_DIR = RUNNER_DIR / "build"
BUILDER = RUNNER_DIR / "build-snapshot.mjs"
BUILD_TIMEOUT_SECONDS = 300

_lock = threading.Lock()
_building: set[int] = set()  # memory limits whose snapshot a thread of this process is building
_said: set[str] = set()  # what the log already said, once per process
_refused: set[int] = set()  # memory limits whose snapshot Node refused to load in this process


def blob_path(memory_mb: int) -> Path:
    return BUILD_DIR / f"runner-{memory_mb}mb.blob"


def _manifest_path(blob: Path) -> Path:
    return blob.with_suffix(".json")


def sources_digest() -> str:
    """What the snapshot is made of: the runner's own modules and its dependencies' lock file (not
    hidden files: a test puts a script of its own beside the runner for a moment)."""
    digest = hashlib.sha256()
    names = sorted(
        path.name
        for path in RUNNER_DIR.iterdir()
        if not path.name.startswith(".")
        and (path.suffix in (".mjs", ".cjs") or path.name == "package-lock.json")
    )
    for name in names:
        digest.update(name.encode() + b"\0" + (RUNNER_DIR / name).read_bytes() + b"\0")
    return digest.hexdigest()


def _node_identity(node: str) -> str:
    # Node refuses a snapshot of another build of itself; a stat tells a new binary without starting it.
    real = Path(node).resolve()
    stat = real.stat()
    return f"{real}:{stat.st_size}:{stat.st_mtime_ns}"


def expected_manifest(node: str, flags: list[str]) -> dict:
    return {
        "node": _node_identity(node),
        "runner": str(RUNNER_DIR),
        "sources": _digest_cached(),
        "flags": flags,
    }


@functools.cache
def _digest_cached() -> str:
    return sources_digest()


def _read_manifest(blob: Path) -> dict | None:
    try:
        return json.loads(_manifest_path(blob).read_text())
    except (OSError, ValueError):
        return None


def _say_once(key: str, message: str, *args) -> None:
    with _lock:
        if key in _said:
            return
        _said.add(key)
    log.warning(message, *args)


def usable_blob(node: str, memory_mb: int, flags: list[str]) -> Path | None:
    """The snapshot a runner with these flags may start from, or None (it then starts worker.mjs).
    A missing or stale snapshot is built in the background, when its builder is installed."""
    if os.environ.get("KINDLING_NO_RUNNER_SNAPSHOT"):
        return None
    blob = blob_path(memory_mb)
    with _lock:
        refused = memory_mb in _refused
    if refused:
        return None
    try:
        expected = expected_manifest(node, flags)
    except OSError:
        return None
    if _read_manifest(blob) == expected and blob.is_file():
        return blob
    _say_once(
        f"missing-{memory_mb}",
        "no up-to-date startup snapshot of the runner for %s MB (%s): Node.js processes start without it "
        "(slower) until it is built",
        memory_mb,
        blob,
    )
    build_in_background(node, memory_mb, flags)
    return None


def refused(memory_mb: int, reason: str) -> None:
    """Node would not start from the snapshot: this process starts runners without it from now on."""
    with _lock:
        _refused.add(memory_mb)
    _say_once(f"refused-{memory_mb}", "Node.js refused the runner's startup snapshot: %s", reason)


def build(node: str, memory_mb: int, flags: list[str]) -> Path:
    """Build the snapshot for these flags now; raises RuntimeError with Node's reason when it cannot."""
    if not (RUNNER_DIR / "node_modules" / "esbuild").is_dir():
        raise RuntimeError("esbuild is not installed: npm ci --prefix kindling/engine/runner")
    blob = blob_path(memory_mb)
    BUILD_DIR.mkdir(exist_ok=True)
    expected = expected_manifest(node, flags)
    try:
        # The builder writes the manifest itself, last: a build outlives the process that started it.
        done = subprocess.run(
            [node, str(BUILDER), str(blob), json.dumps(expected), *flags],
            cwd=RUNNER_DIR,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_SECONDS,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RuntimeError(f"the snapshot build did not finish: {exc}") from exc
    if done.returncode != 0:
        raise RuntimeError((done.stderr or done.stdout).strip()[-2000:])
    return blob


def _claim_build(blob: Path) -> bool:
    """Whether this process may build `blob`: not while another process builds it (`kindling
    execute`s one after the other, or several workers), unless that build is older than any build
    takes (its process died)."""
    mark = blob.with_name(blob.name + ".building")
    try:
        BUILD_DIR.mkdir(exist_ok=True)
        os.close(os.open(mark, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        return True
    except FileExistsError:
        try:
            if time.time() - mark.stat().st_mtime < BUILD_TIMEOUT_SECONDS:
                return False
            mark.touch()
            return True
        except OSError:
            return False
    except OSError:
        return False  # a runner folder this process cannot write: runners start without a snapshot


def build_in_background(node: str, memory_mb: int, flags: list[str]) -> None:
    if not (RUNNER_DIR / "node_modules" / "esbuild").is_dir():
        return
    with _lock:
        if memory_mb in _building:
            return
        _building.add(memory_mb)
    if not _claim_build(blob_path(memory_mb)):
        return  # _building keeps it: this process does not try again

    def run() -> None:
        try:
            build(node, memory_mb, flags)
            log.info("built the runner's startup snapshot for %s MB", memory_mb)
        except (OSError, RuntimeError) as exc:
            _say_once(f"failed-{memory_mb}", "could not build the runner's startup snapshot: %s", exc)
        finally:
            with _lock:
                _building.discard(memory_mb)

    threading.Thread(target=run, name=f"runner-snapshot-{memory_mb}", daemon=True).start()


def main(argv: list[str]) -> int:
    """Build the snapshots for these memory limits (`make setup` calls it): without any, for
    KINDLING_RUN_MEMORY_MB (512 by default). Does nothing for a snapshot that is up to date."""
    from .node import node_binary, snapshot_flags

    limits = [int(arg) for arg in argv] or [int(os.environ.get("KINDLING_RUN_MEMORY_MB") or 512)]
    for memory_mb in limits:
        node = node_binary()
        flags = snapshot_flags(memory_mb)
        if _read_manifest(blob_path(memory_mb)) == expected_manifest(node, flags):
            print(f"The runner's startup snapshot for {memory_mb} MB is up to date")
            continue
        try:
            blob = build(node, memory_mb, flags)
        except RuntimeError as exc:
            print(f"Could not build the runner's startup snapshot: {exc}", file=sys.stderr)
            return 1
        print(f"Built the runner's startup snapshot for {memory_mb} MB: {blob}")
    return 0
