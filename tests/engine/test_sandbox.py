"""What a job that sets out to escape tries, and what stops it (docs/engine.md, "Threat model").

Each test runs real job code in a real sandboxed runner, as the worker would start it, and attacks
the way an attacker did when Kindling ran as root: through `fn.constructor` into the host realm,
then `child_process` and native programs (python3 with ctypes for raw syscalls).
"""

import json
import os
import socket
import subprocess
import uuid

import pytest
from django.conf import settings

from kindling.engine import sandbox
from kindling.engine.node import RunnerProcess
from tests.engine.conftest import log_text, process_note

pytestmark = pytest.mark.skipif(
    not sandbox.available(), reason=f"the OS sandbox cannot be built here: {sandbox.unavailable_reason()}"
)

# Job code: run a program inside the sandbox through Node's own process binding (what
# child_process.spawnSync calls), reached from the host realm, and return what it printed.
SHELL = """fn(state => {{
  const host = fn.constructor('return process')();
  const pipe = {{ type: 'pipe', readable: true, writable: true }};
  const r = host.binding('spawn_sync').spawn({{
    file: {program}, args: [{program}, ...{args}], envPairs: [], stdio: [pipe, pipe, pipe],
    maxBuffer: 1e7, killSignal: 15, timeout: 20000, windowsHide: false,
    windowsVerbatimArguments: false, detached: false,
  }});
  const text = i => r.output && r.output[i] ? r.output[i].toString() : '';
  return {{ data: {{ status: r.status, out: text(1), err: text(2), error: r.error ?? null }} }};
}});"""


def in_sandbox(run_job, program: str, *args: str, **kw):
    result = run_job(SHELL.format(program=json.dumps(program), args=json.dumps(list(args))), **kw)
    assert result.exit_code == 0, log_text(result)
    return result.final_state["data"]


def python(run_job, code: str):
    return in_sandbox(run_job, "/usr/bin/python3", "-c", code)


def test_the_job_runs_as_an_unprivileged_uid_without_capabilities(run_job):
    data = python(
        run_job,
        "import os; status = open('/proc/self/status').read().splitlines()\n"
        "print(os.getuid(), [l.split()[1] for l in status if l.startswith('CapEff')][0],"
        " [l.split()[1] for l in status if l.startswith('NoNewPrivs')][0],"
        " [l.split()[1] for l in status if l.startswith('Seccomp:')][0])",
    )

    assert data["out"].split() == ["65534", "0000000000000000", "1", "2"], data


@pytest.mark.skipif(os.geteuid() != 0, reason="only a root Kindling maps jobs to a uid of their own")
def test_outside_its_namespace_the_job_is_no_user_of_this_machine(run_warm, pool):
    run_warm(pool, "fn(state => state);")
    uids = []
    for pid in pool.node_pids("project-1"):
        with open(f"/proc/{pid}/status") as status:
            uids += [int(line.split()[1]) for line in status if line.startswith("Uid:")]

    assert uids and all(uid >= sandbox.HOST_UID_BASE for uid in uids), uids


def test_the_read_only_adaptor_repository_cannot_be_remounted(run_job, adaptor_repo):
    data = in_sandbox(
        run_job, "/bin/sh", "-c", f"mount -o remount,rw {adaptor_repo}; touch {adaptor_repo}/written; echo $?"
    )

    assert not (adaptor_repo / "written").exists()
    assert data["out"].strip() != "0", data


@pytest.mark.parametrize(
    "syscall",
    [
        # name_to_handle_at(AT_FDCWD, "/", ...) then open_by_handle_at: the way out to the host's root.
        pytest.param(
            "libc.name_to_handle_at(-100, b'/', buf, ctypes.byref(mount), 0)", id="name_to_handle_at"
        ),
        pytest.param("libc.syscall(304, 3, buf, 0)", id="open_by_handle_at"),
        pytest.param("libc.syscall(101, 16, 1, 0, 0)", id="ptrace attach"),
        pytest.param("libc.syscall(321, 0, 0, 0)", id="bpf"),
        pytest.param("libc.syscall(250, 0, 0, 0, 0, 0)", id="keyctl"),
        pytest.param("libc.unshare(0x10000000)", id="unshare a user namespace"),
        pytest.param("libc.mount(b'none', b'/tmp', b'tmpfs', 0, None)", id="mount"),
    ],
)
def test_dangerous_syscalls_are_refused(run_job, syscall):
    if os.uname().machine != "x86_64" and "syscall(" in syscall:
        pytest.skip("raw syscall numbers of x86_64")
    data = python(
        run_job,
        "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "buf = ctypes.create_string_buffer(136); ctypes.c_uint.from_buffer(buf).value = 128\n"
        "mount = ctypes.c_int()\n"
        f"result = {syscall}\nprint(result, os.strerror(ctypes.get_errno()))",
    )

    assert data["out"].startswith("-1 Operation not permitted"), data


def test_the_platforms_data_directory_is_not_there(run_job):
    data = in_sandbox(
        run_job, "/bin/sh", "-c", f"ls {settings.DATA_DIR}; cat {settings.DATA_DIR}/encryption.key"
    )

    assert data["status"] != 0
    assert "No such file or directory" in data["err"], data


def test_a_fork_bomb_stops_at_the_process_limit(run_job):
    data = python(
        run_job,
        "import os, time\nstarted = 0\n"
        "try:\n"
        "    for _ in range(300):\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(5); os._exit(0)\n"
        "        started += 1\n"
        "except OSError as e:\n"
        "    print(started, e.strerror)\n",
    )

    started, _, error = data["out"].strip().partition(" ")
    assert int(started) < sandbox.MAX_PROCESSES, data
    assert error == "Resource temporarily unavailable", data


def listening_port() -> socket.socket:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    return server


@pytest.fixture
def host_service():
    """A service of this machine listening on loopback, as PostgreSQL and the portal do."""
    server = listening_port()
    yield server.getsockname()[1]
    server.close()


def connect_from_job(run_job, host: str, port: int) -> str:
    data = python(
        run_job,
        "import errno, socket\ns = socket.socket(); s.settimeout(3)\n"
        f"code = s.connect_ex(({host!r}, {port}))\n"
        "print('connected' if code == 0 else errno.errorcode.get(code, code))",
    )
    return data["out"].strip()


def host_addresses() -> list[str]:
    return [address.split("/")[0] for address in sandbox._host_addresses() if not address.startswith("127.")]


def test_a_job_cannot_reach_services_on_the_hosts_loopback(run_job, host_service):
    assert connect_from_job(run_job, "127.0.0.1", host_service) == "ECONNREFUSED"  # its own loopback
    assert connect_from_job(run_job, sandbox.SLIRP_GATEWAY, host_service) != "connected"


def test_a_job_cannot_reach_the_hosts_own_addresses_or_private_and_link_local_ranges(run_job, host_service):
    targets = [*host_addresses(), "169.254.169.254", "10.1.2.3", "192.168.1.1", "172.16.0.1"]
    outcomes = {target: connect_from_job(run_job, target, host_service) for target in targets}

    assert all(outcome in ("EACCES", "EHOSTUNREACH", "ENETUNREACH") for outcome in outcomes.values()), (
        outcomes
    )


def test_an_allowed_local_port_is_reachable_and_no_other(run_job, host_service, monkeypatch):
    other = listening_port()
    try:
        monkeypatch.setenv(sandbox.ALLOW_ENV, f"127.0.0.1:{host_service}")

        assert connect_from_job(run_job, "127.0.0.1", host_service) == "connected"
        assert connect_from_job(run_job, sandbox.SLIRP_GATEWAY, other.getsockname()[1]) != "connected"
    finally:
        other.close()


def test_a_bad_allow_list_is_refused_with_the_reason():
    with pytest.raises(sandbox.SandboxError, match="'db.internal:5432' is neither"):
        sandbox.parse_allowed("10.0.0.0/8, db.internal:5432")
    with pytest.raises(sandbox.SandboxError, match="name each port"):
        sandbox.parse_allowed("127.0.0.0/8")
    allowed = sandbox.parse_allowed("10.1.0.0/16 10.2.3.4:443,127.0.0.1:8080")
    assert [str(n) for n in allowed.networks] == ["10.1.0.0/16"]
    assert allowed.host_ports == (8080,)


def test_a_detached_child_does_not_outlive_its_run(run_warm, pool):
    marker = f"{uuid.uuid4().int % 10**6 + 1000}"
    first = run_warm(
        pool,
        SHELL.format(
            program='"/bin/sh"', args=json.dumps(["-c", f"setsid /bin/sleep {marker} >/dev/null 2>&1 &"])
        ),
    )
    second = run_warm(pool, "fn(state => state);")

    assert first.exit_code == 0, log_text(first)
    sleepers = subprocess.run(["pgrep", "-f", f"sleep {marker}"], capture_output=True, text=True)
    assert sleepers.stdout == "", "the detached child survived its run"
    assert process_note(second) == "a new warm Node.js process"


def test_without_a_sandbox_runners_refuse_to_start_unless_the_operator_opts_out(monkeypatch):
    monkeypatch.setattr(sandbox, "available", lambda: False)
    monkeypatch.setattr(sandbox, "unavailable_reason", lambda: "bwrap is not installed")
    monkeypatch.delenv(sandbox.NO_SANDBOX_ENV, raising=False)

    with pytest.raises(sandbox.SandboxError, match="bwrap is not installed"):
        RunnerProcess(256)
    monkeypatch.setenv(sandbox.NO_SANDBOX_ENV, "1")
    assert RunnerProcess(256).sandboxed is False
