"""Trainer-side half of the warm sandbox path: keep one fork server alive and run programs on it.

Why: a fresh sandboxed interpreter per test costs tens of milliseconds; the fork server
(``forkserver.py``) has already started and forks a few-millisecond sandbox per program,
with every per-program guarantee of the fresh path (see that module for the reasoning).

How the trainer keeps control: the server is started once with a scrubbed environment, its own
session and no inherited descriptors, and it is reached only through a socket pair (there is no
path on disk that another process could connect to). Each run sends the program's stdin, output
files and verdict pipe as descriptors over a private per-run socket, and gets back the program's
pid, then its exit status. The deadline stays with the trainer: when it passes, the trainer kills
the program's process group itself (the supervisor does not reap the program before we hang up,
so that pid cannot have been reused), then waits for the supervisor's report, which comes only
after every process of the run's throwaway uid was killed. If no report comes, the trainer kills
by uid itself and restarts the server. A dead server is restarted on the next run; if none can
be started, ``ZygoteUnavailable`` tells the caller to use the fresh path.
"""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

SERVER = str(Path(__file__).with_name("forkserver.py"))
READY_TIMEOUT_S = 20.0  # interpreter start plus imports, on a loaded machine
START_TIMEOUT_S = 5.0  # from sending the orders to the program's pid
REPORT_GRACE_S = 2.0  # from our kill to the supervisor's report
BACKSTOP_GRACE_S = 2.0  # the supervisor kills on its own this long after our deadline


class ZygoteUnavailable(RuntimeError):
    """The fork server could not run this program; use the fresh path."""


def kill_everything(pid: int | None, uids: tuple[int | None, ...] = ()) -> None:
    """Kill the process ``pid`` and its group, then every process the throwaway ``uids`` still
    own. ``pid`` must not have been reaped yet (or the number may belong to another).

    >>> kill_everything(None)  # nothing to kill
    """
    if pid is not None:
        for kill in (os.killpg, os.kill):  # the leader may not have made its group yet
            try:
                kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    for uid in uids:  # catches children that left the group with setsid()
        if uid is not None:
            subprocess.run(["/bin/kill", "-9", "-1"], user=uid, group=uid, extra_groups=[],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def wait_or_kill(pid: int, deadline_s: float) -> bool:
    """Wait for the (unreaped) child ``pid`` to exit; True if ``deadline_s`` passed first, in
    which case its group is killed. A pidfd wakes us the moment it exits (no polling naps).

    >>> wait_or_kill(subprocess.Popen(["true"]).pid, 5.0)
    False
    """
    pidfd = os.pidfd_open(pid)
    try:
        if select.select([pidfd], [], [], deadline_s)[0]:
            return False
    finally:
        os.close(pidfd)
    kill_everything(pid)
    return True


class _Replies:
    """Lines ``<tag> <number>`` from a supervisor, read with deadlines."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.buffer = sock, b""

    def read(self, tag: bytes, timeout_s: float) -> int | None:
        """The number after ``tag``, or None if ``timeout_s`` passed; EOFError if it hung up."""
        end = time.monotonic() + timeout_s
        while b"\n" not in self.buffer:
            remaining = end - time.monotonic()
            if remaining <= 0 or not select.select([self.sock], [], [], remaining)[0]:
                return None
            chunk = self.sock.recv(256)
            if not chunk:
                raise EOFError("the supervisor hung up")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        name, _, value = line.partition(b" ")
        if name != tag:
            raise EOFError(f"unexpected reply {line[:40]!r}")
        return int(value)


class Zygote:
    """One fork server, shared by all threads; started on first use, restarted if it died.

    >>> Zygote("/usr/bin/python3", {"PATH": "/usr/bin"}).pid is None  # nothing started yet
    True
    """

    def __init__(self, python: str, env: dict[str, str]) -> None:
        self.python, self.env = python, env
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._control: socket.socket | None = None
        self._broken = ""

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def _start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._process = subprocess.Popen(
                [self.python, "-I", "-S", "-B", SERVER, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, cwd="/", env=self.env, start_new_session=True)
        finally:
            theirs.close()
        self._control = ours
        ours.settimeout(READY_TIMEOUT_S)
        try:
            ready = ours.recv(16)
        except OSError:
            ready = b""
        ours.settimeout(None)
        if ready != b"ready":
            self._stop()
            self._broken = "the fork server did not start"
            log.warning("rewards sandbox: %s; using the fresh path", self._broken)
            raise ZygoteUnavailable(self._broken)

    def _stop(self) -> None:
        """Kill the server itself (not its group: in-flight supervisors finish their runs)."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
        if self._control is not None:
            self._control.close()
        self._process = self._control = None

    def close(self) -> None:
        """Stop the server; the next run starts a new one."""
        with self._lock:
            self._stop()

    def _submit(self, fds: list[int]) -> None:
        with self._lock:
            if self._broken:
                raise ZygoteUnavailable(self._broken)
            for _ in range(2):
                if self._process is None or self._process.poll() is not None:
                    self._stop()
                    self._start()
                try:
                    socket.send_fds(self._control, [b"run"], fds)
                    return
                except OSError:
                    self._stop()
        raise ZygoteUnavailable("could not reach the fork server")

    def run(self, orders: dict, fds: tuple[int, int, int, int], deadline_s: float,
            uids: tuple[int | None, ...]) -> tuple[int | None, bool]:
        """Run ``orders`` with (stdin, stdout, stderr, verdict pipe) descriptors; return
        (exit status, whether the deadline passed). Everything of the run's uid is dead after."""
        mine, theirs = socket.socketpair()
        with mine:
            try:
                self._submit([theirs.fileno(), *fds])
            finally:
                theirs.close()
            message = json.dumps(orders | {"backstop_s": deadline_s + BACKSTOP_GRACE_S}).encode()
            mine.sendall(len(message).to_bytes(8, "big") + message)  # then only hanging up
            return self._wait(_Replies(mine), uids, deadline_s)

    def _wait(self, replies: _Replies, uids: tuple[int | None, ...], deadline_s: float
              ) -> tuple[int | None, bool]:
        pid = None
        try:
            pid = replies.read(b"pid", START_TIMEOUT_S)
            if pid is None:
                raise EOFError("no pid from the fork server")
            code = replies.read(b"exit", deadline_s)
            if code is not None:
                return code, False
            kill_everything(pid)  # our deadline: kill the group now
            code = replies.read(b"exit", REPORT_GRACE_S)
        except EOFError as error:
            kill_everything(pid, uids)
            if self._process is not None and self._process.poll() is not None:
                self.close()
            raise ZygoteUnavailable(str(error)) from error
        if code is None:  # the supervisor is stuck: clean up ourselves, start a new server
            kill_everything(pid, uids)
            self.close()
        return code, True
