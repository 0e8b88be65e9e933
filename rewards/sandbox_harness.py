"""Runs inside the sandbox: locks itself down, then runs one untrusted program or test.

Started by ``rewards.sandbox`` as ``python -I -S sandbox_harness.py`` (no site, no user paths),
it reads its orders as JSON on stdin, then, before any untrusted byte runs: sets resource limits,
enters fresh network and mount namespaces with private /tmp (when running as root), and drops
to a throwaway uid. Only then does it run the program. It reports through an inherited pipe,
prefixed with a random nonce it was given, and only after the test code itself returned, so a
program cannot pass by exiting early, raising SystemExit or printing what a checker expects.
The remaining hole is deliberate introspection of this harness's frames to steal the nonce; the
sandbox contains what such a program can do, but does not try to prevent that theft.

The warm path (``sandbox_forkserver.py``) forks instead of starting this file, then calls the
same ``lock_down`` and ``execute``, so both paths apply the same isolation in the same order.

Only the standard library is used here, and nothing from this repository.
"""

import json
import os
import resource
import sys

_CLONE_NEWNS, _CLONE_NEWNET = 0x00020000, 0x40000000
_MS_REC, _MS_PRIVATE = 0x4000, 0x40000
# The real exception classes and exit, taken before a program can swap them in ``builtins``
# or ``os`` (on the warm path a patched exit would return into the fork server's code).
_MEMORY_ERROR, _ASSERTION_ERROR, _SYSTEM_EXIT, _OS_ERROR = (
    MemoryError, AssertionError, SystemExit, OSError)
_EXIT = os._exit


def _isolate_namespaces() -> None:
    """New network namespace (no interface up) and mount namespace with private temp dirs."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(_CLONE_NEWNET | _CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare failed")
    if libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None) != 0:
        raise OSError(ctypes.get_errno(), "making mounts private failed")
    for shared_dir in (b"/tmp", b"/var/tmp", b"/dev/shm"):
        # The working directory (under /tmp) stays reachable: it is already our cwd.
        if os.path.isdir(shared_dir):
            libc.mount(b"tmpfs", shared_dir, b"tmpfs", 0, b"size=64m,mode=1777")


def _apply_limits(limits: dict) -> None:
    cpu_s = int(limits["cpu_s"])
    for name, value in (("RLIMIT_CPU", cpu_s), ("RLIMIT_AS", limits["memory_bytes"]),
                        ("RLIMIT_FSIZE", limits["file_bytes"]), ("RLIMIT_NOFILE", limits["files"]),
                        ("RLIMIT_NPROC", limits["processes"]), ("RLIMIT_CORE", 0)):
        resource.setrlimit(getattr(resource, name), (value, value))


def _redirect_stdin(orders: dict) -> None:
    stdin_path = orders.get("stdin_path") or os.devnull
    descriptor = os.open(stdin_path, os.O_RDONLY)
    os.dup2(descriptor, 0)
    os.close(descriptor)


def lock_down(orders: dict, workdir: str | None = None) -> None:
    """Isolate, limit and drop to the throwaway uid; ``workdir`` is made and entered after the
    namespaces exist, so it lives in this run's own private /tmp."""
    if orders["isolate"]:
        _isolate_namespaces()
    if workdir is not None:
        os.mkdir(workdir, 0o700)
        if orders.get("uid") is not None:
            os.chown(workdir, orders["uid"], orders["uid"])
        os.chdir(workdir)
    _apply_limits(orders["limits"])
    if orders.get("uid") is not None:
        os.setgroups([])
        os.setgid(orders["uid"])
        os.setuid(orders["uid"])


def _failure_kind(error: BaseException) -> str:
    if isinstance(error, _MEMORY_ERROR):
        return "memory"
    if isinstance(error, _ASSERTION_ERROR):
        return "wrong_answer"
    if isinstance(error, _SYSTEM_EXIT):
        return "exited_early"
    # errno 27 is EFBIG: the output or file size limit was hit.
    if isinstance(error, _OS_ERROR) and getattr(error, "errno", None) == 27:
        return "output_limit"
    return "crash"


def _run_python(orders: dict, report) -> None:
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    test = orders.get("test")
    try:
        exec(compile(orders["code"], "solution.py", "exec"), namespace)  # noqa: S102 - sandboxed
        if test is not None:
            exec(compile(test, "test.py", "exec"), namespace)  # noqa: S102 - sandboxed
    except SystemExit as stop:
        if test is not None or stop.code not in (None, 0):
            report("exited_early" if test is not None else "crash", f"SystemExit({stop.code!r})")
            return
    except BaseException as error:  # noqa: BLE001 - anything the program raises is its failure
        try:
            detail = f"{type(error).__name__}: {error}"[:300]
        except BaseException:  # noqa: BLE001 - even printing the error may be booby-trapped
            detail = "unprintable error"
        report(_failure_kind(error), detail)
        return
    sys.stdout.flush()
    report("ok", "")


def execute(orders: dict) -> None:
    """Run the (already locked down) program and report; never returns."""
    result_fd, nonce, write = orders["result_fd"], orders["nonce"], os.write

    def report(kind: str, detail: str) -> None:
        write(result_fd, f"{nonce} {kind} {detail}".encode("utf-8", "replace")[:1000])

    if orders["action"] == "exec":
        os.close(result_fd)  # a native program reports through its exit status and output
        os.execve(orders["argv"][0], orders["argv"], orders["env"])
    try:
        _run_python(orders, report)
        sys.stdout.flush()
    except BaseException:  # noqa: BLE001, S110 - e.g. a broken stdout; verdict already sent
        pass
    _EXIT(0)


def main() -> None:
    orders = json.loads(sys.stdin.read())
    _redirect_stdin(orders)
    lock_down(orders)
    execute(orders)


if __name__ == "__main__":
    main()
