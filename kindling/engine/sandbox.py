"""The OS sandbox around a runner process: bubblewrap, where the machine has it and it works.

The vm sandbox of @openfn/runtime is not a security boundary (job code reaches `process` through
any adaptor function), so job code must be assumed to run as our user. bubblewrap shows it a
file system with only what a run needs: the system's programs and libraries, the runner package,
the adaptor repository (read-only), the process's own scratch folder and a private /tmp; nothing
else is writable. The platform's data directory (database file, secret and encryption keys) is
simply not there. The network stays shared: adaptors call APIs.
"""

import functools
import shutil
import subprocess
import tempfile
from pathlib import Path

# Public system files a process may need: name resolution, TLS roots, time zone, user names (Node
# asks for the home directory at start-up).
ETC_FILES = (
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/nsswitch.conf",
    "/etc/host.conf",
    "/etc/gai.conf",
    "/etc/passwd",
    "/etc/group",
    "/etc/localtime",
    "/etc/ssl",
    "/etc/ca-certificates",
)
TOP_LEVEL_SYSTEM_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in TOP_LEVEL_SYSTEM_DIRS:
        path = Path(name)
        if path.is_symlink():  # merged /usr: /lib -> usr/lib
            args += ["--symlink", str(path.readlink()), name]
        elif path.is_dir():
            args += ["--ro-bind", name, name]
    for name in ETC_FILES:
        if Path(name).exists():
            args += ["--ro-bind", name, name]
    return args


def wrap(command: list[str], *, workdir: Path, readable: list[Path]) -> list[str]:
    """`command` inside bubblewrap; `workdir` is writable and the current directory."""
    bwrap = shutil.which("bwrap")
    args = [
        bwrap,
        "--die-with-parent",  # if we die, the run dies with us
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        *_system_binds(),
        "--proc", "/proc",
        "--dev", "/dev",
        "--tmpfs", "/tmp",
    ]  # fmt: skip
    for path in readable:
        resolved = str(Path(path).resolve())
        if not resolved.startswith("/usr/"):
            args += ["--ro-bind", resolved, resolved]
    args += ["--bind", str(workdir), str(workdir), "--chdir", str(workdir)]
    # The sandbox's own root and /dev would otherwise be writable tmpfs: a place where one run of a
    # warm process could leave files for the next. Only the working directory and /tmp stay writable.
    args += ["--remount-ro", "/dev", "--remount-ro", "/", "--clearenv"]
    return args + command


@functools.cache
def available() -> bool:
    """bubblewrap is installed and allowed to create namespaces here (containers often refuse)."""
    if shutil.which("bwrap") is None:
        return False
    try:
        with tempfile.TemporaryDirectory(prefix="kindling-probe-") as workdir:
            probe = subprocess.run(
                wrap(["/usr/bin/env", "true"], workdir=Path(workdir), readable=[]),
                capture_output=True,
                timeout=10,
            )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0
