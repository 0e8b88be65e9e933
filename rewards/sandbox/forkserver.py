"""A warm interpreter that forks one sandbox per program: the fast path of ``rewards.sandbox``.

Why: starting a fresh sandboxed interpreter per test costs tens of milliseconds; forking one that
has already started, imported the harness and the common standard modules costs a few.

Why it is as safe as the fresh path: this process runs as root but never runs untrusted code and
holds no state a program could use. For each program it forks a supervisor, and the supervisor
forks the program's process, which then does exactly what a fresh harness does before any
untrusted byte runs (``harness.isolate`` and ``harness.drop``): new session, fresh network and
mount namespaces with a new private root, the run's memory cgroup, resource limits, and
throwaway uids of its own. So every program starts from this process's clean memory (its changes
stay in its own copy-on-write copy), cannot signal this process or its supervisor (root, it is
not), and never sees the control socket or another run's descriptors (all closed first). The
supervisor keeps the program's pid reserved (it does not reap it) until the trainer hangs up, so
the trainer can kill the process group without racing pid reuse; once the program ends it kills
everything the run's uids left behind (daemons that escaped the group included) and then
reports the exit status. The trainer-side half is ``zygote.py``.

Started as ``python -I -S -B sandbox_forkserver.py CONTROL_FD``. Only the standard library is
used; the harness is loaded from its file next to this one (``-I`` keeps this folder off the path).
"""

import importlib.util
import json
import os
import select
import signal
import socket
import sys

_WARM_MODULES = ("ctypes", "json", "math", "re", "collections", "itertools", "heapq",
                 "fractions", "bisect", "functools", "operator", "string")
_RUN_FDS = 5  # per-run socket, stdin, stdout, stderr, verdict pipe
_EXIT = os._exit  # taken before any program runs: a program may replace ``os._exit``


def _load_harness():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "harness.py")
    spec = importlib.util.spec_from_file_location("harness", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["harness"] = module
    spec.loader.exec_module(module)
    for name in module.JUDGE_MODULES:  # loaded now, so no run pays for it
        module.sibling(name)
    return module


def _program(harness, orders: dict, conn: socket.socket, fds: list) -> None:
    """In the forked program process: wire descriptors, lock down, run; never returns."""
    try:
        os.setsid()
        conn.close()
        stdin, out, err, verdicts = fds[1:]
        os.dup2(out, 1)
        os.dup2(err, 2)
        harness.wire_descriptors(stdin, verdicts)
        harness.isolate(orders)
        harness.execute(orders | {"result_fd": harness.RESULT_FD})
    except BaseException:  # noqa: BLE001 - set-up failed: say why on the run's stderr
        import traceback

        traceback.print_exc()
    finally:
        _EXIT(1)


def _kill_group(pid: int) -> None:
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _sweep(uid) -> None:
    """Kill every process the run's throwaway uid still owns (run as that uid: it may only
    signal its own processes)."""
    if uid is None:
        return
    helper = os.fork()
    if helper == 0:
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            os.kill(-1, signal.SIGKILL)
        finally:
            _EXIT(0)
    os.waitpid(helper, 0)


def _exit_code(pid: int) -> int:
    """The program's exit status, read without reaping it (so its pid stays ours)."""
    info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
    return info.si_status if info.si_code == os.CLD_EXITED else -info.si_status


def _receive(conn: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = conn.recv(min(size - len(data), 1 << 20))
        if not chunk:
            raise EOFError("the trainer hung up before sending the orders")
        data += chunk
    return bytes(data)


def _tell(conn: socket.socket, line: bytes) -> None:
    try:
        conn.sendall(line)
    except OSError:  # the trainer hung up; the select below then stops the program
        pass


def _supervise(harness, fds: list) -> None:
    """In the supervisor: read the orders, fork the program, wait, clean up, report."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    conn = socket.socket(fileno=fds[0])
    size = int.from_bytes(_receive(conn, 8), "big")
    orders = json.loads(_receive(conn, size))
    pid = os.fork()
    if pid == 0:
        _program(harness, orders, conn, fds)
    try:
        for fd in fds[1:]:
            os.close(fd)
        _tell(conn, b"pid %d\n" % pid)
        code = _watch(pid, conn, orders["backstop_s"])
    finally:  # whatever went wrong above, nothing of this run outlives it
        _kill_group(pid)  # the group may outlive its leader
        for uid in (orders.get("uid"), orders.get("judge_uid")):
            _sweep(uid)
    _tell(conn, b"exit %d\n" % code)
    conn.settimeout(30)
    try:
        conn.recv(1)  # the trainer hangs up once it has read the status
    except OSError:
        pass
    os.waitpid(pid, 0)


def _watch(pid: int, conn: socket.socket, backstop_s: float) -> int:
    """Wait for the program; kill it at the backstop or when the trainer speaks or hangs up."""
    pidfd = os.pidfd_open(pid)
    # The trainer kills at its deadline; this backstop covers a trainer that hung or died.
    ready, _, _ = select.select([pidfd, conn], [], [], backstop_s)
    if pidfd not in ready:
        _kill_group(pid)
    os.close(pidfd)
    return _exit_code(pid)


def serve(control: socket.socket) -> None:
    """Fork a supervisor per request until the trainer closes the control socket."""
    harness = _load_harness()
    for name in _WARM_MODULES:
        importlib.import_module(name)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # supervisors are reaped by the kernel
    control.sendall(b"ready")
    while True:
        message, fds, _, _ = socket.recv_fds(control, 16, _RUN_FDS)
        if not message:
            return
        try:
            child = os.fork() if len(fds) == _RUN_FDS else -1
        except OSError:  # the trainer sees the run's socket close and falls back
            child = -1
        if child == 0:
            try:
                control.close()
                _supervise(harness, fds)
            finally:
                _EXIT(0)
        for fd in fds:
            os.close(fd)


if __name__ == "__main__":
    serve(socket.socket(fileno=int(sys.argv[1])))
