"""What isolation this machine gives graded programs, and the launch-time gate on it.

The minimum for training with code rewards: the program runs (1) under another uid or in a
user namespace that holds no capability, (2) in a private file-system view without the project,
its data or home folders, and (3) without network. Root (``mode == "root"``) and a normal user
with unprivileged user namespaces (``"user"``) both meet it; the ``weak`` path (rlimits and a
temp folder only) does not: a program there can read the data set (and pass by running the
reference solution), write the user's files and use the network. A recipe with code rewards
therefore stops at launch on the weak path unless it sets the loudly named opt-in
``run.unsafe_weak_code_sandbox: true`` (``reasoning_rl.training``).
"""

from __future__ import annotations

from pathlib import Path

from rewards.sandbox import lockdown
from rewards.sandbox.launcher import Capabilities, capabilities

MINIMUM = ("a separate uid or a user namespace without capabilities, a private file-system "
           "view without the project, its data or home folders, and no network")
OPT_IN_KEY = "run.unsafe_weak_code_sandbox"


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def how_to_enable() -> list[str]:
    """Hints for turning on unprivileged user namespaces, from this machine's settings.

    >>> all(isinstance(line, str) for line in how_to_enable())
    True
    """
    hints = []
    if _read("/proc/sys/user/max_user_namespaces") == "0":
        hints.append("user namespaces are off: sysctl -w user.max_user_namespaces=15000")
    if _read("/proc/sys/kernel/unprivileged_userns_clone") == "0":
        hints.append("unprivileged user namespaces are off (Debian): "
                     "sysctl -w kernel.unprivileged_userns_clone=1")
    if _read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1":
        hints.append("AppArmor restricts unprivileged user namespaces (Ubuntu 23.10+): "
                     "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor "
                     "profile allowing userns for this interpreter")
    hints.append("in a container: run it with a seccomp profile that allows unshare/clone of "
                 "user namespaces (e.g. docker run --security-opt seccomp=unconfined), or as root")
    return hints


def describe(caps: Capabilities | None = None) -> list[str]:
    """Lines saying what a graded program gets on this machine (``reasoning-rl doctor``).

    >>> describe(Capabilities(False, "/usr/bin/python3"))[0]
    'code sandbox: weak (below the minimum for training with code rewards)'
    """
    caps = caps or capabilities()
    contained = {
        "root": "network, mount, IPC, UTS and pid namespaces; private read-only root without "
                "the project, data or home folders; throwaway uids per run; rlimits; "
                + (f"memory cgroup {caps.cgroup}" if caps.cgroup else
                   "no memory cgroup (per-process memory limit, no forking)"),
        "user": "unprivileged user namespace (the user's own uid, every capability dropped) "
                "with network, mount, IPC, UTS and pid namespaces; private read-only root "
                "without the project, data or home folders; rlimits (per-process memory limit, "
                "no forking: no cgroup)",
        "weak": "rlimits, a process group, a temp folder, a clean environment and the seccomp "
                "filter only: the program can read your files and the data set, write your "
                "files and use the network",
    }[caps.mode]
    verdict = "meets" if caps.strong else "below"
    seccomp = ("installed on every run" if lockdown.seccomp_supported()
               else "not available on this architecture")
    lines = [f"code sandbox: {caps.mode} ({verdict} the minimum for training with code rewards)",
             f"  contains: {contained}", f"  seccomp filter: {seccomp}",
             f"  interpreter: {caps.python}", f"  minimum: {MINIMUM}"]
    lines += [f"  note: {note}" for note in caps.notes]
    if not caps.strong:
        lines += [f"  to enable: {hint}" for hint in how_to_enable()]
    return lines


def doctor() -> int:
    """Print ``describe()``; the exit code is 0 where the minimum is met, else 2."""
    print("\n".join(describe()))
    return 0 if capabilities().strong else 2


def launch_problem(allow_weak: bool, caps: Capabilities | None = None) -> str | None:
    """Why a run with code rewards must not start here, or None. ``allow_weak`` is the
    recipe's ``run.unsafe_weak_code_sandbox``.

    >>> launch_problem(False, Capabilities(False, "/usr/bin/python3")).splitlines()[0]
    'code rewards need sandbox isolation this machine does not give (mode: weak)'
    >>> launch_problem(True, Capabilities(False, "/usr/bin/python3")) is None
    True
    """
    caps = caps or capabilities()
    if caps.strong or allow_weak:
        return None
    return "\n".join([
        f"code rewards need sandbox isolation this machine does not give (mode: {caps.mode})",
        f"missing: {MINIMUM}",
        *(f"to enable: {hint}" for hint in how_to_enable()),
        f"or accept running policy code with your own rights: set {OPT_IN_KEY}: true",
        "(`reasoning-rl doctor` shows what this machine gives)"])
