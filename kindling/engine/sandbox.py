"""The OS sandbox around a runner process: bubblewrap, a seccomp filter and a network of its own.

The vm sandbox of @openfn/runtime is not a security boundary (job code reaches `process` through
any adaptor function), so job code must be assumed to run native code as whoever starts Node. The
sandbox makes that nobody in particular:

- a user namespace in which the job is uid 65534 with no capability at all (`--cap-drop ALL`), and
  outside of which it is an unprivileged uid of its own when Kindling runs as root (the usual case
  in a container): a file of root's is nothing to it, even through a hole in the namespaces;
- a file system with only what a run needs: the system's programs and libraries, the runner
  package, the adaptor repository (read-only), the process's own scratch folder and a private /tmp.
  The platform's data directory (database file, secret and encryption keys) is simply not there;
- a seccomp filter (seccomp.py) that refuses mount, open_by_handle_at, ptrace, keyctl, bpf,
  new namespaces and the like; no new privileges (no setuid program helps);
- limits on processes (RLIMIT_NPROC) and open files;
- its own network namespace, connected to the internet through slirp4netns, a network stack in user
  mode that does not map the host's loopback: jobs reach APIs, not the host. Routing rules in the
  namespace refuse loopback, link-local (the cloud metadata address), private and shared ranges and
  the host's own addresses, except what KINDLING_JOB_ALLOW_HOSTS opens.

If the machine cannot build this sandbox, runners refuse to start unless the operator sets
KINDLING_NO_SANDBOX=1 ("no sandbox: I trust every job author").
"""

import fcntl
import functools
import ipaddress
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from kindling import env

from . import seccomp

# Public system files a process may need: name resolution, TLS roots, time zone, user names.
ETC_FILES = (
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

SANDBOX_UID = 65534  # the job's uid inside its user namespace ("nobody")
# Outside it, when Kindling runs as root, each runner process gets a uid of its own from this range:
# no file on the machine belongs to it, and no other runner shares its process count.
HOST_UID_BASE = 3_000_000
HOST_UID_SPAN = 1_000_000
MAX_PROCESSES = 128  # tasks (Node's own threads count: ~11) per runner process
MAX_OPEN_FILES = 4096
MAX_FILE_BYTES = 1 << 30

# slirp4netns's fixed addresses inside the namespace.
SLIRP_GATEWAY = "10.0.2.2"  # the host (its loopback, when host loopback is enabled)
SLIRP_DNS = "10.0.2.3"
SLIRP_READY_SECONDS = 10.0
# Destinations refused unless allowed: loopback is the namespace's own, so these are the host's
# networks and whatever sits in private or special ranges beside it.
REFUSED_NETWORKS = (
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "224.0.0.0/3",
)
NS_GET_USERNS = 0xB701  # ioctl: the user namespace that owns a namespace

ALLOW_ENV = "KINDLING_JOB_ALLOW_HOSTS"
NO_SANDBOX_ENV = "KINDLING_NO_SANDBOX"


class SandboxError(Exception):
    """The sandbox could not be built, or a runner would have to start without one."""


@dataclass(frozen=True)
class Network:
    """What a sandboxed process may reach beyond the internet's public addresses."""

    isolated: bool = True
    networks: tuple[ipaddress.IPv4Network, ...] = ()
    ports: tuple[tuple[ipaddress.IPv4Address, int], ...] = ()  # non-loopback host:port
    host_ports: tuple[int, ...] = field(default=())  # the host's loopback ports

    @property
    def loopback_forwards(self) -> tuple[int, ...]:
        return self.host_ports


HOST_NETWORK = Network(isolated=False)


def parse_allowed(text: str) -> Network:
    """KINDLING_JOB_ALLOW_HOSTS: CIDRs or addresses (`10.1.0.0/16`, `10.1.2.3`) and host:port pairs
    (`10.1.2.3:5432`; `127.0.0.1:8080` for a port of this machine), separated by commas or spaces."""
    networks, ports, host_ports = [], [], []
    for entry in text.replace(",", " ").split():
        address, _, port_text = entry.rpartition(":") if ":" in entry else (entry, "", "")
        try:
            if port_text:
                port = int(port_text)
                if not 0 < port < 65536:
                    raise ValueError
                ip = ipaddress.IPv4Address(address)
                if ip.is_loopback:
                    host_ports.append(port)
                else:
                    ports.append((ip, port))
            else:
                network = ipaddress.IPv4Network(entry, strict=False)
                if network.overlaps(ipaddress.IPv4Network("127.0.0.0/8")):
                    raise SandboxError(
                        f"{ALLOW_ENV}: {entry!r} is this machine's loopback; name each port (127.0.0.1:8080)"
                    )
                networks.append(network)
        except ValueError as exc:
            raise SandboxError(
                f"{ALLOW_ENV}: {entry!r} is neither an IPv4 address, a CIDR nor an IPv4 address:port"
            ) from exc
    return Network(True, tuple(networks), tuple(ports), tuple(sorted(set(host_ports))))


def configured_network() -> Network:
    return _parsed(" ".join(filter(None, [os.environ.get(ALLOW_ENV, ""), collections_port()])))


def collections_port() -> str:
    """The portal's own port, open to jobs by default: @openfn/language-collections calls the
    collections API there (KINDLING_COLLECTIONS_URL). Only that port of this machine, and nothing when
    the collections API is elsewhere (then KINDLING_JOB_ALLOW_HOSTS decides, as for any host)."""
    url = urlsplit(env.collections_url())
    if url.hostname not in ("127.0.0.1", "localhost"):
        return ""
    return f"127.0.0.1:{url.port or (443 if url.scheme == 'https' else 80)}"


@functools.cache
def _parsed(text: str) -> Network:
    return parse_allowed(text)


def unsandboxed_allowed() -> bool:
    return os.environ.get(NO_SANDBOX_ENV, "").strip().lower() in ("1", "true", "yes", "on")


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


_uid_counter = itertools.count()
_uid_lock = threading.Lock()


def _host_ids() -> tuple[int, int] | None:
    """The uid and gid a new runner runs as outside its namespace: one of its own when we are root,
    our own (None: no change) otherwise."""
    if os.geteuid() != 0:
        return None
    with _uid_lock:
        slot = next(_uid_counter)
    uid = HOST_UID_BASE + (os.getpid() * 1000 + slot) % HOST_UID_SPAN
    return uid, uid


def _check_readable(path: Path, ids: tuple[int, int] | None) -> None:
    """bubblewrap binds `path` as the runner's own uid: every folder on the way must let it pass."""
    if ids is None:
        return
    for folder in [path, *path.parents]:
        try:
            info = folder.stat()
        except OSError as exc:
            raise SandboxError(f"cannot expose {path} to jobs: {exc}") from exc
        if not info.st_mode & 0o001 and not (folder == path and info.st_mode & 0o004):
            raise SandboxError(
                f"{folder} is closed to other users (mode {oct(info.st_mode & 0o777)}), so jobs cannot "
                f"read {path} inside their sandbox: allow others to pass through it (chmod o+x {folder})"
            )


@dataclass
class Sandboxed:
    """A runner started inside the sandbox: the bubblewrap process and its network stack."""

    process: subprocess.Popen
    network_stack: subprocess.Popen | None = None
    _network_exit: int | None = None

    def close(self) -> None:
        if self._network_exit is not None:
            os.close(self._network_exit)  # slirp4netns exits when this closes (--exit-fd)
            self._network_exit = None
        if self.network_stack is not None:
            try:
                self.network_stack.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.network_stack.kill()
                self.network_stack.wait()


def _pipe_with(data: bytes) -> int:
    read, write = os.pipe()
    os.write(write, data)  # small: the seccomp program and a resolv.conf fit in a pipe's buffer
    os.close(write)
    return read


def _bwrap_args(*, workdir: Path, readable: list[Path], network: Network, fds: dict) -> list[str]:
    args = [
        shutil.which("bwrap"),
        "--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
        "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
        "--cap-drop", "ALL",
        "--new-session",  # no terminal to push input into
        "--die-with-parent",  # if we die, the run dies with us
        *_system_binds(),
        "--proc", "/proc",
        "--dev", "/dev",
        "--tmpfs", "/tmp",
    ]  # fmt: skip
    if network.isolated:
        args += ["--unshare-net", "--ro-bind-data", str(fds["resolv"]), "/etc/resolv.conf"]
        args += ["--info-fd", str(fds["info"]), "--block-fd", str(fds["block"])]
    elif Path("/etc/resolv.conf").exists():
        args += ["--ro-bind", "/etc/resolv.conf", "/etc/resolv.conf"]
    for path in readable:
        resolved = str(Path(path).resolve())
        if not resolved.startswith("/usr/"):
            args += ["--ro-bind", resolved, resolved]
    args += ["--bind", str(workdir), str(workdir), "--chdir", str(workdir)]
    # The sandbox's own root and /dev would otherwise be writable tmpfs: a place where one run of a
    # warm process could leave files for the next. Only the working directory and /tmp stay writable.
    args += ["--remount-ro", "/dev", "--remount-ro", "/"]
    args += ["--seccomp", str(fds["seccomp"]), "--clearenv"]
    return args


def _limits() -> list[str]:
    return [
        shutil.which("prlimit") or "/usr/bin/prlimit",
        f"--nproc={MAX_PROCESSES}",
        f"--nofile={MAX_OPEN_FILES}",
        f"--fsize={MAX_FILE_BYTES}",
        "--core=0",
        "--",
    ]


def _routing_rules(network: Network) -> bytes:
    """`ip -batch` input: what is allowed first, then the refused ranges and the host's addresses."""
    allowed = [
        f"rule add to {SLIRP_DNS}/32 ipproto {proto} dport 53 lookup main pref 100"
        for proto in ("udp", "tcp")
    ]
    allowed += [f"rule add to {net} lookup main pref 100" for net in network.networks]
    allowed += [
        f"rule add to {ip}/32 ipproto tcp dport {port} lookup main pref 100" for ip, port in network.ports
    ]
    allowed += [
        f"rule add to {SLIRP_GATEWAY}/32 ipproto tcp dport {port} lookup main pref 100"
        for port in network.host_ports
    ]
    refused = [f"rule add prohibit to {net} pref 200" for net in (*REFUSED_NETWORKS, *_host_addresses())]
    return ("\n".join(allowed + refused) + "\n").encode()


@functools.cache
def _host_addresses() -> tuple[str, ...]:
    """This machine's own IPv4 addresses: a job reaching one would reach the host's services."""
    try:
        listed = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return ()
    found = []
    for line in listed.stdout.splitlines():
        words = line.split()
        if "inet" in words:
            found.append(f"{words[words.index('inet') + 1].split('/')[0]}/32")
    return tuple(found)


def _read_child_pid(fd: int, process: subprocess.Popen) -> int:
    data = b""
    deadline = time.monotonic() + SLIRP_READY_SECONDS
    while b"}" not in data:
        if time.monotonic() > deadline or process.poll() is not None:
            raise SandboxError("bubblewrap did not start the sandbox")
        chunk = os.read(fd, 4096)
        if not chunk:
            raise SandboxError("bubblewrap did not start the sandbox")
        data += chunk
    return json.loads(data[: data.index(b"}") + 1])["child-pid"]


def _start_network(pid: int, network: Network, ids: tuple[int, int] | None) -> tuple[subprocess.Popen, int]:
    """Connect the namespace of `pid` to the internet; returns slirp4netns and its exit fd."""
    netns = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
    # The namespace's owner, not the child's current user namespace: bubblewrap moves the child into
    # a nested one to give it uid 65534, and that one may not configure the network.
    userns = fcntl.ioctl(netns, NS_GET_USERNS)
    ready_read, ready_write = os.pipe()
    exit_read, exit_write = os.pipe()
    try:
        options = ["--configure", "--mtu=65520", "--enable-seccomp"]
        if not network.host_ports:
            options.append("--disable-host-loopback")
        stack = subprocess.Popen(
            [
                shutil.which("slirp4netns"),
                *options,
                "--ready-fd",
                str(ready_write),
                "--exit-fd",
                str(exit_read),
                "--userns-path",
                f"/proc/self/fd/{userns}",
                "--netns-type=path",
                f"/proc/self/fd/{netns}",
                "tap0",
            ],  # fmt: skip
            pass_fds=(ready_write, exit_read, userns, netns),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={},
            start_new_session=True,
            **_popen_ids(ids),
        )
        os.close(ready_write)
        os.close(exit_read)
        ready = os.read(ready_read, 1)
        if ready != b"1":
            stack.kill()
            error = stack.communicate(timeout=5)[1].decode(errors="replace").strip()
            os.close(exit_write)
            hint = ""
            if "/dev/net/tun" in error and "Permission denied" in error:
                hint = " (/dev/net/tun needs its usual mode 0666: make setup sets it)"
            raise SandboxError(f"slirp4netns could not connect the job's network: {error[-300:]}{hint}")
        stack.stderr.close()
        enter = ["nsenter", f"--net=/proc/self/fd/{netns}"]
        if ids is None:  # not root: act as the namespace's owner
            enter.insert(1, f"--user=/proc/self/fd/{userns}")
        rules = subprocess.run(
            [*enter, "ip", "-batch", "-"],
            input=_routing_rules(network),
            pass_fds=(netns, userns),
            capture_output=True,
            env={},
            timeout=10,
        )
        if rules.returncode != 0:
            os.close(exit_write)
            stack.kill()
            raise SandboxError(
                f"could not set the job network's rules: {rules.stderr.decode(errors='replace')}"
            )
        return stack, exit_write
    finally:
        os.close(ready_read)
        os.close(netns)
        os.close(userns)


def _popen_ids(ids: tuple[int, int] | None) -> dict:
    return {} if ids is None else {"user": ids[0], "group": ids[1], "extra_groups": []}


SPAWN_ATTEMPTS = 3


def spawn(command: list[str], *, workdir: Path, readable: list[Path], network: Network, **popen) -> Sandboxed:
    """Start `command` inside the sandbox, with `workdir` writable and the current directory."""
    ids = _host_ids()
    if ids is not None:
        os.chown(workdir, *ids)
    for path in readable:
        _check_readable(Path(path).resolve(), ids)
    for attempt in range(1, SPAWN_ATTEMPTS + 1):
        try:
            sandboxed = _spawn(command, workdir, readable, network, ids, popen)
        except SandboxError:
            if attempt == SPAWN_ATTEMPTS:
                raise
            continue
        # Under heavy load the kernel now and then refuses bubblewrap the new namespace's loopback
        # address ("loopback: Failed RTM_NEWADDR"), and bubblewrap gives up before the command starts:
        # while it waited for its network, such a sandbox has already ended. Build another.
        if sandboxed.process.poll() is None or not network.isolated or attempt == SPAWN_ATTEMPTS:
            return sandboxed
        sandboxed.close()
        for stream in (sandboxed.process.stdin, sandboxed.process.stdout, sandboxed.process.stderr):
            if stream is not None:
                stream.close()
    raise AssertionError("unreachable")


def _spawn(command, workdir: Path, readable, network: Network, ids, popen: dict) -> Sandboxed:
    fds = {"seccomp": _pipe_with(seccomp.program())}
    parent_ends = []
    if network.isolated:
        fds["resolv"] = _pipe_with(f"nameserver {SLIRP_DNS}\n".encode())
        info_read, fds["info"] = os.pipe()
        fds["block"], block_write = os.pipe()
        parent_ends = [info_read, block_write]
    try:
        process = subprocess.Popen(
            [
                *_limits(),
                *_bwrap_args(workdir=workdir, readable=readable, network=network, fds=fds),
                *command,
            ],
            pass_fds=tuple(fds.values()),
            **_popen_ids(ids),
            **popen,
        )
    finally:
        for fd in fds.values():
            os.close(fd)
    if not network.isolated:
        return Sandboxed(process)
    info_read, block_write = parent_ends
    try:
        stack, exit_fd = _start_network(_read_child_pid(info_read, process), network, ids)
        if process.poll() is None:
            os.write(block_write, b"1")  # the network is ready: bubblewrap may start the command
        return Sandboxed(process, stack, exit_fd)
    except BaseException:
        process.kill()
        process.wait()
        raise
    finally:
        os.close(info_read)
        os.close(block_write)


@functools.cache
def unavailable_reason() -> str | None:
    """None when the full sandbox (namespaces, seccomp, network) works here, else what is missing."""
    for program, package in (("bwrap", "bubblewrap"), ("slirp4netns", "slirp4netns"), ("ip", "iproute2")):
        if shutil.which(program) is None:
            return f"{program} is not installed (Debian package {package})"
    for program in ("prlimit", "nsenter"):
        if shutil.which(program) is None:
            return f"{program} is not installed (Debian package util-linux)"
    try:
        seccomp.program()
    except seccomp.SeccompUnavailable as exc:
        return str(exc)
    try:
        with tempfile.TemporaryDirectory(prefix="kindling-probe-") as workdir:
            sandboxed = spawn(
                ["/usr/bin/env", "true"],
                workdir=Path(workdir),
                readable=[],
                network=Network(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            try:
                _, stderr = sandboxed.process.communicate(timeout=20)
            finally:
                sandboxed.close()
            if sandboxed.process.returncode != 0:
                error = stderr.decode(errors="replace").strip()[-300:]
                return f"bubblewrap cannot build the sandbox here: {error}"
    except (OSError, SandboxError, subprocess.TimeoutExpired) as exc:
        return f"the sandbox cannot be built here: {exc}"
    return None


def available() -> bool:
    return unavailable_reason() is None
