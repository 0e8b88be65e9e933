"""One memory cgroup per sandbox run, so a run's processes share one memory limit.

Why: ``RLIMIT_AS`` limits each process; a program that forks can multiply it (measured: 3.3 GB
of RSS under a 300 MB limit). A cgroup counts every process of the run, and the files it
writes to its private tmpfs, against one number, and the kernel's OOM killer ends the run when
it goes over. We use the cgroup v1 memory controller under this process's own cgroup when it is
writable (root in a container, as on CI); elsewhere ``base()`` says None and the launcher falls
back to per-process limits times the process cap (documented in docs/sandbox.md).
"""

from __future__ import annotations

import os
import secrets
import signal
import time

_V1_ROOT = "/sys/fs/cgroup/memory"


def base() -> str | None:
    """A folder to make run cgroups in, or None when there is no writable memory controller.

    >>> base() is None or base().endswith("rewards-sandbox")
    True
    """
    try:
        with open("/proc/self/cgroup") as table:
            own = next((line.strip().split(":", 2)[2] for line in table
                        if line.split(":")[1:2] == ["memory"]), None)
    except OSError:
        return None
    if own is None or not os.path.isdir(_V1_ROOT):
        return None
    folder = os.path.join(_V1_ROOT + own, "rewards-sandbox")
    try:
        os.makedirs(folder, exist_ok=True)
        probe = create(folder, 64)
        remove(probe)
    except OSError:
        return None
    return folder


def create(folder: str, memory_mb: int) -> str:
    """Make a run's cgroup limited to ``memory_mb`` (swap included where the kernel counts it)."""
    path = os.path.join(folder, "run-" + secrets.token_hex(8))
    os.mkdir(path)
    limit = str(memory_mb << 20)
    with open(os.path.join(path, "memory.limit_in_bytes"), "w") as handle:
        handle.write(limit)
    swap = os.path.join(path, "memory.memsw.limit_in_bytes")
    if os.path.exists(swap):
        with open(swap, "w") as handle:
            handle.write(limit)
    return path


def _oom_killed(path: str) -> bool:
    try:
        with open(os.path.join(path, "memory.oom_control")) as control:
            fields = dict(line.split() for line in control if len(line.split()) == 2)
        return int(fields.get("oom_kill", 0)) > 0
    except (OSError, ValueError):
        return False


def remove(path: str) -> bool:
    """Kill whatever is left in the cgroup, remove it; True if the OOM killer acted in it."""
    oom = _oom_killed(path)
    for _ in range(200):  # killed processes leave the cgroup within milliseconds
        try:
            os.rmdir(path)
            return oom
        except OSError:
            _kill_members(path)
            time.sleep(0.005)
    return oom  # still busy: left for the kernel; harmless, and never reused


def _kill_members(path: str) -> None:
    try:
        with open(os.path.join(path, "cgroup.procs")) as procs:
            pids = [int(pid) for pid in procs.read().split()]
    except (OSError, ValueError):
        return
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
