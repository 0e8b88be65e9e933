"""Run untrusted programs so that no policy output can hurt the machine or fake a pass.

Each run gets: a fresh process group and session, resource limits (CPU time, address space,
processes, file size, open files), a fresh temporary working directory, a scrubbed environment,
output captured into unlinked files capped by the file-size limit, and a wall-clock deadline
after which the whole process tree is killed. When running as root (CI, containers) it also gets
no network (a fresh network namespace), private /tmp, and a throwaway uid, which is what makes
the process limit bite (root ignores RLIMIT_NPROC) and lets us kill every process it left behind.
Elsewhere (a laptop, no root) those three are skipped with one logged warning; ``capabilities()``
says which path is in use. The in-sandbox half is ``sandbox_harness.py``.

With strong isolation, Python runs are forked by a warm fork server (``sandbox_zygote.py`` here,
``sandbox_forkserver.py`` inside) instead of starting a fresh interpreter: a few milliseconds
instead of tens. Each forked run still gets every guarantee above afresh (its own namespaces,
private /tmp and working directory, limits and uid), so nothing carries over between programs.
If the server cannot be used, and for native programs (C++ compile and run), the fresh path runs.
"""

from __future__ import annotations

import atexit
import functools
import json
import logging
import math
import os
import secrets
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from rewards.sandbox_zygote import Zygote, ZygoteUnavailable, kill_everything

log = logging.getLogger(__name__)

HARNESS = str(Path(__file__).with_name("sandbox_harness.py"))
_CLEAN_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/nonexistent"}
_PROBE_CODE = "import json, math, re, collections, itertools, heapq, fractions, bisect"
USE_ZYGOTE = True  # False: every run starts a fresh harness (tests flip it to cover both paths)
_ZYGOTE: Zygote | None = None
_ZYGOTE_LOCK = threading.Lock()


@dataclass(frozen=True)
class Limits:
    """Per-run limits; the defaults are Magistral's per-test budget."""

    timeout_s: float = 4.0
    memory_mb: int = 300
    processes: int = 16
    output_bytes: int = 8 << 20
    open_files: int = 64


@dataclass(frozen=True)
class Capabilities:
    """What isolation this machine allows; ``strong`` means namespaces plus a throwaway uid."""

    strong: bool
    python: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended: ``status`` is ok, timeout, memory, output_limit, crash, ... ."""

    status: str
    returncode: int | None
    stdout: bytes = b""
    stderr: bytes = b""
    detail: str = ""
    seconds: float = field(default=0.0, compare=False)
    via: str = field(default="fresh", compare=False)  # "warm": forked by the fork server


def _launch(orders: dict, python: str, workdir: str, limits: Limits, strong: bool,
            warm: Zygote | None = None) -> RunOutcome:
    """Run the harness with ``orders`` (on the fork server if ``warm``) under the deadline."""
    nonce = secrets.token_hex(16)
    uid = 100_000 + secrets.randbelow(2**30) if strong else None
    read_fd, write_fd = os.pipe()
    cpu_s = max(1, math.ceil(limits.timeout_s))
    orders |= {"nonce": nonce, "result_fd": write_fd, "isolate": strong, "uid": uid,
               "env": _CLEAN_ENV | {"TMPDIR": "/tmp"},
               "limits": {"cpu_s": cpu_s, "memory_bytes": limits.memory_mb << 20,
                          "file_bytes": limits.output_bytes, "files": limits.open_files,
                          "processes": limits.processes}}
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            if warm is not None:
                returncode, timed_out = _run_warm(warm, orders, workdir, out, err, write_fd,
                                                  limits.timeout_s + 0.25)
            else:
                returncode, timed_out = _run_fresh(orders, python, workdir, out, err, write_fd,
                                                   limits.timeout_s + 0.25)
        finally:
            os.close(write_fd)
            report = _read_pipe(read_fd)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(limits.output_bytes), err.read(64 << 10)
    seconds = time.perf_counter() - started
    status, detail = _classify(returncode, timed_out, report, nonce, orders["action"])
    via = "warm" if warm is not None else "fresh"
    return RunOutcome(status, returncode, stdout, stderr, detail, seconds, via)


def _run_fresh(orders: dict, python: str, workdir: str, out, err, write_fd: int,
               deadline_s: float) -> tuple[int | None, bool]:
    """Start a new harness process for this one run; return (exit status, timed out)."""
    if orders["uid"] is not None:
        os.chown(workdir, orders["uid"], orders["uid"])
    process = subprocess.Popen(
        [python, "-I", "-S", "-B", HARNESS], stdin=subprocess.PIPE, stdout=out, stderr=err,
        pass_fds=(write_fd,), cwd=workdir, env=_CLEAN_ENV, start_new_session=True)
    timed_out = _feed_and_wait(process, json.dumps(orders).encode(), deadline_s)
    kill_everything(process.pid, orders["uid"])
    process.wait()
    return process.returncode, timed_out


def _run_warm(warm: Zygote, orders: dict, workdir: str, out, err, write_fd: int,
              deadline_s: float) -> tuple[int | None, bool]:
    """Fork this run from the fork server; stdin is handed over read-only."""
    stdin_path = orders.get("stdin_path")
    stdin_fd = os.open(os.path.join(workdir, stdin_path) if stdin_path else os.devnull,
                       os.O_RDONLY)
    try:
        return warm.run(orders, (stdin_fd, out.fileno(), err.fileno(), write_fd), deadline_s)
    finally:
        os.close(stdin_fd)


def _feed_and_wait(process: subprocess.Popen, orders: bytes, deadline_s: float) -> bool:
    """Send the orders, wait; True if the deadline passed first."""
    try:
        process.stdin.write(orders)
        process.stdin.close()
    except (BrokenPipeError, OSError):
        pass
    try:  # a pidfd wakes us the moment the child exits; Popen.wait(timeout) polls in 50 ms naps
        pidfd = os.pidfd_open(process.pid)
    except (AttributeError, OSError):
        pidfd = None
    if pidfd is not None:
        try:
            select.select([pidfd], [], [], deadline_s)
        finally:
            os.close(pidfd)
    try:
        process.wait(timeout=0 if pidfd is not None else deadline_s)
        return False
    except subprocess.TimeoutExpired:
        return True


def _read_pipe(read_fd: int) -> bytes:
    os.set_blocking(read_fd, False)
    try:
        return os.read(read_fd, 2000)
    except BlockingIOError:
        return b""
    finally:
        os.close(read_fd)


def _classify(returncode: int | None, timed_out: bool, report: bytes, nonce: str, action: str
              ) -> tuple[str, str]:
    """Turn what we saw into (status, detail); only the harness's nonce report can say ok."""
    if timed_out or returncode == -9:  # SIGKILL comes from the CPU limit or from us
        return "timeout", ""
    if returncode == -25:  # SIGXFSZ: output or a file hit the size limit
        return "output_limit", ""
    if action == "exec":
        return ("ok", "") if returncode == 0 else ("crash", f"exit status {returncode}")
    # Every process that reached the end of the harness (forked children too) wrote a verdict;
    # all of them must say ok, and anything else in the pipe is someone else's forgery.
    text = report.decode("utf-8", "replace")
    verdicts = [piece.strip() for piece in text.split(nonce)]
    if verdicts[0] or len(verdicts) < 2:
        return "exited_early", f"no verdict from the harness (exit status {returncode})"
    for verdict in verdicts[1:]:
        kind, _, detail = verdict.partition(" ")
        if kind != "ok":
            return kind, detail
    return "ok", ""


@functools.lru_cache(maxsize=1)
def capabilities() -> Capabilities:
    """Probe once which isolation works here, and warn if only the weak path is available.

    >>> capabilities().python  # doctest: +SKIP
    '/usr/bin/python3'
    """
    candidates = [os.path.realpath(sys.executable), "/usr/bin/python3", "/usr/local/bin/python3"]
    notes = []
    if os.geteuid() == 0:
        for python in dict.fromkeys(p for p in candidates if os.path.exists(p)):
            outcome = _probe(python, strong=True)
            if outcome.status == "ok":
                return Capabilities(True, python, (f"strong isolation with {python}",))
            notes.append(f"{python}: {outcome.status} {outcome.detail} {outcome.stderr[-200:]!r}")
    else:
        notes.append("not root: no network/mount namespaces and no throwaway uid")
    log.warning("rewards sandbox is WEAK on this machine (rlimits, process group, temp dir, "
                "clean env only; network and process-count limits not enforced): %s", notes)
    return Capabilities(False, os.path.realpath(sys.executable), tuple(notes))


def _probe(python: str, strong: bool) -> RunOutcome:
    workdir = tempfile.mkdtemp(prefix="rewards-probe-")
    try:
        orders = {"action": "python", "code": _PROBE_CODE, "test": "assert True"}
        return _launch(orders, python, workdir, Limits(timeout_s=10), strong)
    except OSError as error:
        return RunOutcome("crash", None, detail=str(error))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run_python(code: str, test: str | None = None, stdin: bytes | None = None,
               limits: Limits = Limits()) -> RunOutcome:
    """Run Python ``code`` then ``test`` (assertions) in the sandbox.

    >>> run_python("def f(x):\\n    return 2 * x", "assert f(2) == 4").status
    'ok'
    """
    return run_in_workdir({"action": "python", "code": code, "test": test}, {}, stdin, limits)


def run_in_workdir(orders: dict, files: dict[str, bytes], stdin: bytes | None,
                   limits: Limits, workdir: str | None = None) -> RunOutcome:
    """Write ``files`` (and ``stdin``) into a working directory and run ``orders`` there.

    A fresh directory is made and removed unless ``workdir`` is given (the caller owns it).
    A Python run on the warm path only reads its stdin from there: it works in a new directory
    of its own, inside its private /tmp.
    """
    caps = capabilities()
    own_dir = workdir is None
    workdir = workdir or tempfile.mkdtemp(prefix="rewards-sandbox-")
    try:
        for name, content in files.items():
            Path(workdir, name).write_bytes(content)
        if stdin is not None:
            Path(workdir, "stdin.txt").write_bytes(stdin)
            orders = orders | {"stdin_path": "stdin.txt"}
        if USE_ZYGOTE and caps.strong and orders["action"] == "python" and not files:
            for _ in range(2):  # a second try gets a restarted server
                try:
                    return _launch(dict(orders), caps.python, workdir, limits, True, zygote())
                except ZygoteUnavailable as error:
                    log.info("rewards sandbox: fork server failed (%s), retrying", error)
        return _launch(dict(orders), caps.python, workdir, limits, caps.strong)
    finally:
        if own_dir:
            shutil.rmtree(workdir, ignore_errors=True)


def zygote() -> Zygote:
    """The process's fork server for Python runs (started on first use, stopped at exit).

    >>> zygote() is zygote()  # doctest: +SKIP
    True
    """
    global _ZYGOTE
    with _ZYGOTE_LOCK:  # threads racing on first use must not start two servers
        if _ZYGOTE is None:
            _ZYGOTE = Zygote(capabilities().python, _CLEAN_ENV)
            atexit.register(_ZYGOTE.close)
        return _ZYGOTE
