"""Kernel-level lockdown of a sandboxed process: user namespace, capabilities, seccomp filter.

Why: a normal user cannot create namespaces or switch uids, but an unprivileged *user*
namespace gives it the rights to build the same private view (network, mount, IPC, UTS and pid
namespaces, a new root) that root builds; the capabilities that came with it must then be
dropped before any untrusted byte runs, or the program could undo the view. The seccomp filter
is the same on every path: it refuses (EPERM) the system calls a graded program never needs and
that widen the kernel surface or reach other processes: tracing (``ptrace``,
``process_vm_readv``/``writev``, ``pidfd_getfd``, ``process_madvise``, ``kcmp``), namespaces and
mounts (``unshare``, ``setns``, ``mount``, ``pivot_root``, ``chroot``, the new mount API,
``clone`` with namespace flags), kernel modules, ``kexec``, ``bpf``, ``perf_event_open``,
``userfaultfd``, ``io_uring``, keyrings, ``open_by_handle_at``, ``swapon``, ``reboot`` and the
x32 ABI; ``clone3`` answers ENOSYS so that the C library falls back to ``clone``, whose flags
the filter can read. x86-64 only (``seccomp_supported``); elsewhere no filter is installed and
``reasoning-rl doctor`` says so.

Standard library only: it runs inside the sandbox (loaded by path, ``harness.sibling``).
"""

import ctypes
import os
import platform
import struct

_CLONE_NEWUSER = 0x10000000
_NAMESPACE_FLAGS = 0x7E020000  # NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
_PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _PR_SET_DUMPABLE = 38, 22, 4
_SECCOMP_MODE_FILTER = 2
_AUDIT_ARCH_X86_64 = 0xC000003E
_ALLOW, _KILL = 0x7FFF0000, 0x80000000
_EPERM, _ENOSYS = 0x00050000 | 1, 0x00050000 | 38  # SECCOMP_RET_ERRNO | errno
# x86-64 numbers of the refused system calls.
_DENIED = {"ptrace": 101, "syslog": 103, "pivot_root": 155, "chroot": 161, "acct": 163,
           "mount": 165, "umount2": 166, "swapon": 167, "swapoff": 168, "reboot": 169,
           "init_module": 175, "delete_module": 176, "quotactl": 179, "kexec_load": 246,
           "add_key": 248, "request_key": 249, "keyctl": 250, "unshare": 272,
           "perf_event_open": 298, "name_to_handle_at": 303, "open_by_handle_at": 304,
           "setns": 308, "process_vm_readv": 310, "process_vm_writev": 311,
           "finit_module": 313, "kexec_file_load": 320, "bpf": 321, "userfaultfd": 323,
           "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
           "fsmount": 432, "fspick": 433, "mount_setattr": 442, "lookup_dcookie": 212,
           "kcmp": 312, "io_uring_setup": 425, "io_uring_enter": 426,
           "io_uring_register": 427, "pidfd_getfd": 438, "process_madvise": 440}
_CLONE, _CLONE3 = 56, 435


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        raise OSError(ctypes.get_errno(), f"{what} failed")


def _prctl(option: int, *args: int) -> None:
    values = [ctypes.c_ulong(value) for value in (*args, 0, 0, 0, 0)[:4]]
    _check(_libc().prctl(ctypes.c_int(option), *values), f"prctl({option})")


def enter_user_namespace(flags: int) -> None:
    """``unshare`` a new user namespace with ``flags`` (other namespaces), mapping only this
    process's own uid and gid (all a normal user may map), with ``setgroups`` denied."""
    uid, gid = os.getuid(), os.getgid()
    _check(_libc().unshare(_CLONE_NEWUSER | flags), "unshare(CLONE_NEWUSER)")
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                       ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as handle:
            handle.write(text)


def drop_capabilities() -> None:
    """Drop every capability (effective, permitted, inheritable) and set no_new_privs, so
    nothing this process or its children exec can regain one."""
    _prctl(_PR_SET_NO_NEW_PRIVS, 1)
    header = ctypes.create_string_buffer(struct.pack("Ii", 0x20080522, 0))  # version 3, self
    data = ctypes.create_string_buffer(24)  # two empty (effective, permitted, inheritable) sets
    _check(_libc().capset(header, data), "capset")


def not_dumpable() -> None:
    """Same-uid processes (the program, in a user namespace) can then neither trace nor read
    this one."""
    _prctl(_PR_SET_DUMPABLE, 0)


def seccomp_supported() -> bool:
    """True where ``install_filter`` installs a filter (x86-64 Linux).

    >>> isinstance(seccomp_supported(), bool)
    True
    """
    return platform.system() == "Linux" and platform.machine() in ("x86_64", "AMD64")


def _program() -> bytes:
    """The BPF program: check the architecture, refuse the listed calls, read clone's flags."""
    def op(code: int, jt: int, jf: int, k: int) -> bytes:
        return struct.pack("HBBI", code, jt, jf, k)
    ld_w, jeq, jset, jge, ret = 0x20, 0x15, 0x45, 0x35, 0x06
    denied = sorted(_DENIED.values())
    body = [op(ld_w, 0, 0, 4), op(jeq, 1, 0, _AUDIT_ARCH_X86_64), op(ret, 0, 0, _KILL),
            op(ld_w, 0, 0, 0), op(jge, 0, 1, 0x40000000), op(ret, 0, 0, _EPERM)]  # x32 ABI
    for number in denied:  # match: skip nothing, return EPERM; else jump over the return
        body += [op(jeq, 0, 1, number), op(ret, 0, 0, _EPERM)]
    body += [op(jeq, 0, 1, _CLONE3), op(ret, 0, 0, _ENOSYS),
             op(jeq, 0, 3, _CLONE), op(ld_w, 0, 0, 16),  # args[0], low 32 bits
             op(jset, 0, 1, _NAMESPACE_FLAGS), op(ret, 0, 0, _EPERM),
             op(ret, 0, 0, _ALLOW)]
    return b"".join(body)


def install_filter() -> bool:
    """Install the seccomp filter on this process (and every child); False where unsupported.
    Sets no_new_privs, which the kernel requires of an unprivileged caller."""
    if not seccomp_supported():
        return False
    _prctl(_PR_SET_NO_NEW_PRIVS, 1)
    program = ctypes.create_string_buffer(_program())
    fprog = ctypes.create_string_buffer(
        struct.pack("HxxxxxxQ", (len(program.raw) - 1) // 8, ctypes.addressof(program)))
    _prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.addressof(fprog))
    return True
