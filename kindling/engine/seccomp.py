"""The seccomp filter every sandboxed runner process starts under (bubblewrap's `--seccomp FD`).

Built with libseccomp (the library bubblewrap, Flatpak and the container runtimes use; on every
Debian system, apt itself depends on it) through ctypes, so the syscall numbers come from the library
for the machine's own architecture. Syscalls of other ABIs (x32, i386 on x86_64) kill the process.

The list follows the container runtimes' defaults: what a Node.js job never needs and what an escape
would: mounting and pivoting, handles to host files (open_by_handle_at), debugging other processes,
kernel keyrings, eBPF, new namespaces, kernel modules, clocks, swap. clone3 and io_uring answer
ENOSYS so that glibc and libuv fall back to clone (whose flags a filter can read) and to the thread pool.
"""

import ctypes
import ctypes.util
import errno
import functools
import os

DENIED = (
    "mount", "umount", "umount2", "pivot_root", "chroot",
    "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
    "open_by_handle_at", "name_to_handle_at",
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd", "process_madvise",
    "keyctl", "add_key", "request_key",
    "bpf", "perf_event_open", "userfaultfd",
    "unshare", "setns",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot",
    "swapon", "swapoff", "syslog", "acct", "quotactl", "quotactl_fd", "lookup_dcookie",
    "nfsservctl", "uselib", "vhangup", "iopl", "ioperm",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
)  # fmt: skip
NOT_IMPLEMENTED = ("clone3", "io_uring_setup", "io_uring_enter", "io_uring_register")

CLONE_NAMESPACE_FLAGS = (
    0x00020000,  # CLONE_NEWNS
    0x02000000,  # CLONE_NEWCGROUP
    0x04000000,  # CLONE_NEWUTS
    0x08000000,  # CLONE_NEWIPC
    0x10000000,  # CLONE_NEWUSER
    0x20000000,  # CLONE_NEWPID
    0x40000000,  # CLONE_NEWNET
)
# Pushing characters into the controlling terminal's input (bubblewrap's --new-session also stops it).
TERMINAL_INJECTION_IOCTLS = (0x5412, 0x541C)  # TIOCSTI, TIOCLINUX

SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_CMP_MASKED_EQ = 7


def _errno_action(code: int) -> int:
    return 0x00050000 | code  # SCMP_ACT_ERRNO(code)


class _ArgCmp(ctypes.Structure):
    _fields_ = [
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    ]


class SeccompUnavailable(Exception):
    pass


def _library():
    name = ctypes.util.find_library("seccomp") or "libseccomp.so.2"
    try:
        lib = ctypes.CDLL(name, use_errno=True)
    except OSError as exc:
        raise SeccompUnavailable(f"libseccomp is not installed ({exc})") from exc
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [
        ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint, ctypes.POINTER(_ArgCmp),
    ]  # fmt: skip
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    return lib


def _add(lib, ctx, action: int, name: str, *conditions: tuple[int, int, int]) -> None:
    number = lib.seccomp_syscall_resolve_name(name.encode())
    if number < 0:  # not a syscall on this architecture (umount on aarch64, iopl off x86)
        return
    array = (_ArgCmp * max(1, len(conditions)))(
        *[_ArgCmp(arg, SCMP_CMP_MASKED_EQ, mask, value) for arg, mask, value in conditions]
    )
    result = lib.seccomp_rule_add_array(ctx, action, number, len(conditions), array)
    if result < 0:
        raise SeccompUnavailable(f"libseccomp refused the rule for {name}: {os.strerror(-result)}")


@functools.cache
def program() -> bytes:
    """The compiled BPF program, as bubblewrap reads it from a file descriptor."""
    lib = _library()
    ctx = lib.seccomp_init(SCMP_ACT_ALLOW)
    if not ctx:
        raise SeccompUnavailable("libseccomp could not start a filter")
    try:
        refuse = _errno_action(errno.EPERM)
        for name in DENIED:
            _add(lib, ctx, refuse, name)
        for name in NOT_IMPLEMENTED:
            _add(lib, ctx, _errno_action(errno.ENOSYS), name)
        for flag in CLONE_NAMESPACE_FLAGS:
            _add(lib, ctx, refuse, "clone", (0, flag, flag))
        for request in TERMINAL_INJECTION_IOCTLS:
            _add(lib, ctx, refuse, "ioctl", (1, 0xFFFFFFFF, request))
        fd = os.memfd_create("kindling-seccomp")
        try:
            result = lib.seccomp_export_bpf(ctx, fd)
            if result < 0:
                raise SeccompUnavailable(f"libseccomp could not export the filter: {os.strerror(-result)}")
            os.lseek(fd, 0, os.SEEK_SET)
            chunks = []
            while chunk := os.read(fd, 65536):
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)
    finally:
        lib.seccomp_release(ctx)
