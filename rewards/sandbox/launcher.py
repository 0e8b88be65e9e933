"""Trainer side of the sandbox: start one isolated run, enforce its deadline, read its outcome.

A run is forked by the warm fork server (``zygote.py``) when isolation is strong, else started
as a fresh ``python -I -S harness.py``. Either way the run gets its orders (code, sources, a
binary, test code for the judge) inside the JSON, its stdin as a memfd and its outputs as
descriptors of files the launcher made: the launcher never opens a path the program could
have touched. All processes of a run share one memory cgroup (cgroup v1 memory controller,
where this process may create one); the deadline is kept here, and at the end every process
of the run's throwaway uids is killed.
"""

from __future__ import annotations

import atexit
import functools
import json
import logging
import math
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from rewards.sandbox import cgroup
from rewards.sandbox.zygote import Zygote, ZygoteUnavailable, kill_everything, wait_or_kill

log = logging.getLogger(__name__)

HARNESS = str(Path(__file__).with_name("harness.py"))
CLEAN_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/nonexistent",
             "TMPDIR": "/tmp"}
JUDGE_MEMORY_MB = 256  # the judge holds decoded replies; it never runs the program's code
USE_ZYGOTE = True  # False: every run starts a fresh harness (tests flip it to cover both paths)
_ZYGOTE: Zygote | None = None
_ZYGOTE_LOCK = threading.Lock()
_STATS = {"runs": 0, "fresh_fallbacks": 0}
_STATS_LOCK = threading.Lock()
# Exit statuses of the harness (harness.py).
_PYTHON_STATUS = {0: "ok", 1: "crash", 3: "memory", 4: "exited_early", 5: "output_limit"}


@dataclass(frozen=True)
class Limits:
    """Per-run limits; ``timeout_s`` is wall clock (and CPU seconds, rounded up)."""

    timeout_s: float = 4.0
    memory_mb: int = 300
    processes: int = 16
    output_bytes: int = 8 << 20
    open_files: int = 64


@dataclass(frozen=True)
class Capabilities:
    """What isolation this machine allows. ``mode`` is ``root`` (namespaces, private root,
    throwaway uids, memory cgroup where writable), ``user`` (a normal user's unprivileged user
    namespace: the same namespaces and private root, no capabilities left, rlimits instead of
    the uids and the cgroup) or ``weak`` (rlimits, process group, temp dir, clean environment
    only); ``strong`` is True for the first two."""

    strong: bool
    python: str
    prefixes: tuple[str, ...] = ()
    cgroup: str | None = None
    notes: tuple[str, ...] = ()
    mode: str = "weak"


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended: ``status`` is ok, timeout, memory, output_limit, crash, ... ;
    ``verdicts`` holds the judge's (kind, detail) per test for a judged run."""

    status: str
    returncode: int | None
    stdout: bytes = b""
    stderr: bytes = b""
    detail: str = ""
    verdicts: tuple[tuple[str, str], ...] = ()
    seconds: float = field(default=0.0, compare=False)
    via: str = field(default="fresh", compare=False)  # "warm": forked by the fork server


def _throwaway_uid() -> int:
    return 100_000 + secrets.randbelow(2**30)


def launch(orders: dict, limits: Limits, stdin: bytes | None = None,
           caps: Capabilities | None = None) -> RunOutcome:
    """Run ``orders`` (action python, compile, exec or judge) under ``limits``.

    ``caps`` (default: ``capabilities()``) is given only by the probe, which also skips the
    fork server.
    """
    warm = caps is None and USE_ZYGOTE
    if caps is None:  # the probe's own runs are not counted
        with _STATS_LOCK:
            _STATS["runs"] += 1
    caps = caps or capabilities()
    started = time.perf_counter()
    scratch = None if caps.strong else tempfile.mkdtemp(prefix="rewards-sandbox-")
    group = cgroup.create(caps.cgroup, _run_memory_mb(orders, limits)) if caps.cgroup else None
    orders = orders | _common_orders(orders, limits, caps, scratch, group)
    stdin_fd = _memfd(stdin or b"")
    try:
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
                tempfile.TemporaryFile() as result:
            fds = (stdin_fd, out.fileno(), err.fileno(), result.fileno())
            returncode, timed_out, via = _start(orders, caps, fds, limits.timeout_s + 0.25, warm)
            stdout, stderr, report = (_read(f, n) for f, n in (
                (out, limits.output_bytes), (err, 64 << 10), (result, 1 << 20)))
    finally:
        os.close(stdin_fd)
        oom = cgroup.remove(group) if group else False
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    status, detail, verdicts = _classify(orders["action"], returncode, timed_out, oom, report)
    return RunOutcome(status, returncode, stdout, stderr, detail, verdicts,
                      time.perf_counter() - started, via)


def _run_memory_mb(orders: dict, limits: Limits) -> int:
    extra = JUDGE_MEMORY_MB if orders["action"] == "judge" else 32  # the harness itself
    return limits.memory_mb + extra


def _common_orders(orders: dict, limits: Limits, caps: Capabilities, scratch: str | None,
                   group: str | None) -> dict:
    def rlimits(memory_mb: int, processes: int) -> dict:
        return {"cpu_s": max(1, math.ceil(limits.timeout_s)), "memory_bytes": memory_mb << 20,
                "file_bytes": limits.output_bytes, "files": limits.open_files,
                "processes": processes}
    strong = caps.strong
    throwaway = caps.mode == "root"  # a user namespace maps only the user's own uid
    # Without a cgroup nothing bounds the run's memory as a whole, so no process may fork:
    # per-process limits times one process is then the bound.
    processes = limits.processes if group or orders["action"] == "compile" else 1
    return {"isolate": caps.mode if strong else "", "uid": _throwaway_uid() if throwaway else None,
            "judge_uid": _throwaway_uid() if throwaway else None, "env": CLEAN_ENV,
            "prefixes": list(caps.prefixes), "cgroup": group,
            "workdir": "/tmp/run" if strong else os.path.join(scratch, "run"),
            "limits": rlimits(limits.memory_mb, processes),
            "judge_limits": rlimits(max(limits.memory_mb, JUDGE_MEMORY_MB), 1),
            "budget_s": orders.get("budget_s", limits.timeout_s)}


def _memfd(data: bytes) -> int:
    fd = os.memfd_create("sandbox-stdin", 0)
    os.write(fd, data)  # a memfd takes any size at once
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _read(handle, limit: int) -> bytes:
    handle.seek(0)
    return handle.read(limit)


def _start(orders: dict, caps: Capabilities, fds: tuple, deadline_s: float, warm: bool
           ) -> tuple[int | None, bool, str]:
    uids = (orders["uid"], orders["judge_uid"])
    if warm and caps.strong:  # root or user namespace: the fork server does the same
        reason = ""
        for _ in range(2):  # a second try gets a restarted server
            try:
                code, timed_out = zygote().run(orders, fds, deadline_s, uids)
                return code, timed_out, "warm"
            except ZygoteUnavailable as error:
                reason = str(error)
                log.info("rewards sandbox: fork server failed (%s), retrying", error)
        _count_fallback(reason)
    stdin_fd, out, err, result = fds
    process = subprocess.Popen(
        [caps.python, "-I", "-S", "-B", HARNESS], stdin=subprocess.PIPE, stdout=out, stderr=err,
        pass_fds=(stdin_fd, result), cwd="/", env=CLEAN_ENV, start_new_session=True)
    message = json.dumps(orders | {"stdin_fd": stdin_fd, "result_fd": result}).encode()
    try:
        process.stdin.write(message)
        process.stdin.close()
    except OSError:
        pass
    timed_out = wait_or_kill(process.pid, deadline_s)
    kill_everything(process.pid, uids)
    process.wait()
    return process.returncode, timed_out, "fresh"


def _count_fallback(reason: str) -> None:
    """Count a run the fork server could not take (it then runs on the fresh path, which is as
    strict but slower); the 1st, 2nd, 4th, 8th, ... fallback is logged with the running count,
    so a server that stays down is reported without a warning per run."""
    with _STATS_LOCK:
        _STATS["fresh_fallbacks"] += 1
        count = _STATS["fresh_fallbacks"]
    if count & (count - 1):  # not a power of two
        return
    log.warning("rewards sandbox: fork server unavailable (%s); run on the fresh path "
                "(sandbox/fresh_fallbacks=%d)", reason, count)


def stats() -> dict[str, int]:
    """Counters of this process's sandbox runs: ``runs`` and ``fresh_fallbacks`` (runs meant
    for the warm fork server that ran on the fresh path instead).

    >>> sorted(stats())
    ['fresh_fallbacks', 'runs']
    """
    with _STATS_LOCK:
        return dict(_STATS)


def _classify(action: str, returncode: int | None, timed_out: bool, oom: bool, report: bytes
              ) -> tuple[str, str, tuple]:
    """Turn what we saw into (status, detail, verdicts)."""
    if oom:
        return "memory", "the run's memory cgroup hit its limit", ()
    if timed_out or returncode == -9:  # SIGKILL comes from the CPU limit or from us
        return "timeout", "", ()
    if returncode == -25:  # SIGXFSZ: output or a file hit the size limit
        return "output_limit", "", ()
    if action == "judge":
        try:
            verdicts = tuple((str(k), str(d)) for k, d in json.loads(report))
        except (ValueError, TypeError):
            return "crash", f"no verdicts from the judge (exit status {returncode})", ()
        failed = [v for v in verdicts if v[0] != "ok"]
        return (failed[0][0], failed[0][1], verdicts) if failed else ("ok", "", verdicts)
    if action == "python":
        return _PYTHON_STATUS.get(returncode, "crash"), f"exit status {returncode}", ()
    return ("ok", "", ()) if returncode == 0 else ("crash", f"exit status {returncode}", ())


@functools.lru_cache(maxsize=1)
def capabilities() -> Capabilities:
    """Probe once which isolation works here (root first, then a user namespace), and warn if
    only the weak path is available.

    >>> capabilities().mode in ("root", "user", "weak")
    True
    """
    candidates = [os.path.realpath(sys.executable), "/usr/bin/python3", "/usr/local/bin/python3"]
    notes = []
    mode = "root" if os.geteuid() == 0 else "user"
    group = cgroup.base() if mode == "root" else None
    for python in dict.fromkeys(p for p in candidates if os.access(p, os.X_OK)):
        caps = Capabilities(True, python, _prefixes(python), group, (), mode)
        outcome = _probe(caps)
        if outcome.status == "ok":
            where = f"memory cgroup {group}" if group else "rlimits, no forking (no cgroup)"
            return Capabilities(True, python, caps.prefixes, group,
                                (f"{mode} isolation with {python}, {where}",), mode)
        notes.append(f"{mode} isolation with {python}: {outcome.status} {outcome.detail} "
                     f"{outcome.stderr[-300:]!r}")
    log.warning("rewards sandbox is WEAK on this machine (rlimits, process group, temp dir, "
                "clean env and the seccomp filter only; files, network and process-count limits "
                "not enforced): %s", notes)
    return Capabilities(False, os.path.realpath(sys.executable), (), None, tuple(notes), "weak")


def _prefixes(python: str) -> tuple[str, ...]:
    """Where the interpreter's standard library lives (bound read-only into the sandbox)."""
    found = subprocess.run([python, "-I", "-S", "-c",
                            "import sys; print(sys.base_prefix); print(sys.base_exec_prefix)"],
                           capture_output=True, text=True, check=False, timeout=30)
    return tuple(dict.fromkeys(line for line in found.stdout.split() if line.startswith("/")))


def _probe(caps: Capabilities) -> RunOutcome:
    """A judged run on the fresh path: proves namespaces, the new root, the uid drop and the
    judge all work with this interpreter."""
    orders = {"action": "judge", "code": "import json, math, re\ndef f():\n    return 1",
              "test_timeout_s": 10, "stop_at_first_failure": True}
    try:
        return launch(orders, Limits(timeout_s=10), b'["assert f() == 1"]', caps=caps)
    except OSError as error:
        return RunOutcome("crash", None, detail=str(error))


def zygote() -> Zygote:
    """The process's fork server (started on first use, stopped at exit).

    >>> zygote() is zygote()  # doctest: +SKIP
    True
    """
    global _ZYGOTE
    with _ZYGOTE_LOCK:  # threads racing on first use must not start two servers
        if _ZYGOTE is None:
            _ZYGOTE = Zygote(capabilities().python, CLEAN_ENV)
            atexit.register(_ZYGOTE.close)
        return _ZYGOTE
