"""Runs inside the sandbox: locks itself down, then runs one untrusted program.

Started by ``rewards.sandbox.launcher`` as ``python -I -S harness.py`` (no site, no user paths)
with its orders as JSON on stdin, or forked by the warm fork server (``forkserver.py``), which
calls the same ``isolate``/``execute``. Before any untrusted byte runs, ``isolate``:

1. enters fresh network, mount, IPC, UTS and pid namespaces, as root or, for a normal user,
   inside an unprivileged user namespace (``lockdown.py``) (no interface up: no network at
   all; no System V or POSIX IPC shared with anything else; the run's processes see only each
   other, and all of them die and are reaped when the run ends);
2. builds a new root from a fresh tmpfs holding read-only bind mounts of the system folders
   (``/usr``, ``/bin``/``/lib``, the few ``/etc`` files linkers and compilers read, and the
   interpreter's own prefix, minus its ``site-packages``), a few device nodes and a private
   ``/tmp``, then ``chroot``s into it. Nothing else exists there: no project checkout, no data,
   no home folders, no ``/proc``, no host ``/tmp``, ``/run`` or ``/dev/shm``; every writable
   place is a tmpfs that dies with the run;
3. joins the run's memory cgroup (when the launcher made one), so all processes of a run share
   one memory limit.

``drop`` then sets the resource limits and switches to the run's throwaway uid (as root) or
drops every capability of the user namespace (as a normal user), and installs the seccomp
filter (``lockdown.install_filter``).

Actions: ``python`` (run code, stdin to stdout), ``compile`` (run a compiler on the given
sources and hand back the binary's bytes on stdout), ``exec`` (run a binary handed in as
bytes), and ``judge`` (``judge.py``: trusted tests in one process, the candidate's code in
another, calls crossing between them as plain data). The grader never writes into the
sandbox: sources, binaries and stdin arrive inside the orders or as descriptors, so there is
no path a program could plant a link, a FIFO or a directory on.

Only the standard library is used here, and nothing from this repository's packages (sibling
files are loaded by path: ``-I`` keeps this folder off ``sys.path``).
"""

import base64
import importlib.util
import json
import os
import resource
import sys

_CLONE_NEWNS, _CLONE_NEWUTS, _CLONE_NEWIPC, _CLONE_NEWPID, _CLONE_NEWNET = (
    0x00020000, 0x04000000, 0x08000000, 0x20000000, 0x40000000)
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = (
    0x1, 0x2, 0x4, 0x20, 0x1000, 0x4000, 0x40000)
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")
# Only what the dynamic linker, compilers and interpreters read from /etc: the rest of it
# (package-manager tokens, git or npm configs) stays out of sight.
_ETC_ENTRIES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "localtime",
                "nsswitch.conf", "passwd", "group")
_DEVICES = ("null", "zero", "full", "random", "urandom")
# Machine-wide configuration inside the bound folders (npm, pip or git tokens can live there).
_MASKED = ("/usr/local/etc", "/usr/etc")
_NEW_ROOT = "/tmp"  # exists everywhere; a fresh tmpfs is mounted on it in our namespace only
# Exit statuses the harness uses to say how a Python program ended (a program can fake them,
# which only changes the reported reason of a failure: verdicts never rest on them alone).
EXIT_OK, EXIT_CRASH, EXIT_MEMORY, EXIT_EARLY, EXIT_OUTPUT = 0, 1, 3, 4, 5
RESULT_FD = 3  # the judge's verdicts; the only descriptor above 2 a run starts with
_EFBIG = 27  # a write past RLIMIT_FSIZE (Python ignores SIGXFSZ, so the write fails instead)
# Taken before a program can replace them in ``builtins`` or ``os``.
_MEMORY_ERROR, _SYSTEM_EXIT, _EXIT, _WRITE = MemoryError, SystemExit, os._exit, os.write
JUDGE_MODULES = ("plaindata", "wire", "remote", "judge", "candidate")  # loaded by path
sys.modules.setdefault("harness", sys.modules[__name__])  # judge.py reaches back by this name
_MODE = ""  # the run's isolation mode (root, user or "" for weak), set by ``isolate``


def sibling(name: str):
    """Load ``<name>.py`` from this folder (the sandbox has no package path)."""
    if name in sys.modules:
        return sys.modules[name]
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name + ".py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


lockdown = sibling("lockdown")


def _libc():
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def _bytes(text):
    return text.encode() if isinstance(text, str) else text


def _mount(libc, source, target: str, fstype, flags: int, data=None) -> None:
    if libc.mount(_bytes(source), _bytes(target), _bytes(fstype), flags, _bytes(data)) != 0:
        import ctypes

        raise OSError(ctypes.get_errno(), f"mount {target} failed")


def _bind_read_only(libc, source: str, target: str) -> None:
    _mount(libc, source, target, None, _MS_BIND | _MS_REC)
    _mount(libc, None, target, None,
           _MS_BIND | _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)


def _build_root(libc, prefixes: list) -> None:
    """A new root: read-only system folders, a few devices, a private /tmp; then chroot."""
    _mount(libc, "tmpfs", _NEW_ROOT, "tmpfs", _MS_NOSUID, "size=1m,mode=0755")
    for path in _SYSTEM_DIRS + tuple(prefixes):
        if not os.path.lexists(path) or os.path.lexists(_NEW_ROOT + path):
            continue
        if os.path.islink(path) and path in _SYSTEM_DIRS:  # merged /usr: /bin -> usr/bin
            os.symlink(os.readlink(path), _NEW_ROOT + path)
            continue
        os.makedirs(_NEW_ROOT + path)
        _bind_read_only(libc, os.path.realpath(path), _NEW_ROOT + path)
    site = "lib/python{}.{}/site-packages".format(*sys.version_info[:2])
    for path in _MASKED + tuple(os.path.join(prefix, site) for prefix in prefixes):
        if os.path.isdir(_NEW_ROOT + path):  # an empty read-only folder in its place
            _mount(libc, "tmpfs", _NEW_ROOT + path, "tmpfs", _MS_RDONLY | _MS_NOSUID | _MS_NODEV,
                   "size=4k,mode=0755")
    os.mkdir(_NEW_ROOT + "/etc")
    for entry in _ETC_ENTRIES:
        source, target = "/etc/" + entry, f"{_NEW_ROOT}/etc/{entry}"
        if os.path.isdir(source):
            os.mkdir(target)
        elif os.path.isfile(source):
            open(target, "wb").close()
        else:
            continue
        _bind_read_only(libc, source, target)
    os.mkdir(_NEW_ROOT + "/dev")
    for device in _DEVICES:
        target = f"{_NEW_ROOT}/dev/{device}"
        open(target, "wb").close()
        _mount(libc, f"/dev/{device}", target, None, _MS_BIND)
    os.mkdir(_NEW_ROOT + "/tmp")
    _mount(libc, "tmpfs", _NEW_ROOT + "/tmp", "tmpfs", _MS_NOSUID | _MS_NODEV,
           "size=64m,mode=1777")
    _mount(libc, None, _NEW_ROOT, None, _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID)
    os.chroot(_NEW_ROOT)
    os.chdir("/")


def isolate(orders: dict) -> None:
    """Namespaces, the new root and the memory cgroup; runs as root, before ``drop``."""
    if orders.get("cgroup"):
        with open(os.path.join(orders["cgroup"], "cgroup.procs"), "w") as procs:
            procs.write(str(os.getpid()))
    global _MODE
    _MODE = orders["isolate"]
    if not _MODE:
        return
    libc = _libc()
    namespaces = _CLONE_NEWNET | _CLONE_NEWNS | _CLONE_NEWIPC | _CLONE_NEWUTS
    if _MODE == "user":  # a normal user: an unprivileged user namespace gives the rights
        lockdown.enter_user_namespace(namespaces)
    elif libc.unshare(namespaces) != 0:
        import ctypes

        raise OSError(ctypes.get_errno(), "unshare failed")
    _mount(libc, "none", "/", None, _MS_REC | _MS_PRIVATE)
    _build_root(libc, orders.get("prefixes", []))
    if libc.unshare(_CLONE_NEWPID) != 0:
        import ctypes

        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWPID) failed")
    _become_reaped_run()


def _become_reaped_run() -> None:
    """Continue as a process in a fresh pid namespace whose init reaps everything.

    Why: orphans of a run would otherwise be reparented, unreaped, to the host's init (a
    trainer running as pid 1 in a container collects zombies until fork fails). Here this
    process stays outside and mirrors the run's exit; its child is the namespace's init, which
    forks the real run and reaps every orphan; when the run ends, init exits and the kernel
    kills and reaps whatever is left in the namespace. Returns in the run's process only.
    """
    if os.fork() != 0:
        _mirror_exit(os.wait()[1])
    if os.fork() != 0:  # the namespace's init: reap until the run itself has ended
        while True:
            pid, status = os.wait()
            if pid == 2:  # the run is always the second process of its namespace
                # Init cannot signal itself, so a killed run becomes exit status 128 + signal.
                _EXIT(128 + os.WTERMSIG(status) if os.WIFSIGNALED(status)
                      else os.WEXITSTATUS(status))


def _mirror_exit(status: int) -> None:
    """Exit as the run did: the same exit status, or killed by the same signal."""
    import signal

    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
    if code > 128:
        number = code - 128
        if number not in (signal.SIGKILL, signal.SIGSTOP):  # those two cannot be caught anyway
            signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
    _EXIT(code)


def drop(limits: dict, uid, workdir: str, files: dict | None = None) -> None:
    """A fresh working directory with ``files`` (name: base64 content) written before the file
    size limit applies, resource limits, then the throwaway uid (if any)."""
    os.makedirs(workdir, mode=0o700)
    os.chdir(workdir)
    for name, content in (files or {}).items():
        with open(os.path.basename(name), "wb") as handle:
            handle.write(base64.b64decode(content))
        os.chmod(os.path.basename(name), 0o755)
    if uid is not None:
        for name in [workdir, *os.listdir(".")]:
            os.chown(name, uid, uid)
    for name, value in (("RLIMIT_CPU", int(limits["cpu_s"])),
                        ("RLIMIT_AS", limits["memory_bytes"]),
                        ("RLIMIT_FSIZE", limits["file_bytes"]),
                        ("RLIMIT_NOFILE", limits["files"]),
                        ("RLIMIT_NPROC", limits["processes"]), ("RLIMIT_CORE", 0)):
        resource.setrlimit(getattr(resource, name), (value, value))
    if uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    elif _MODE == "user":  # root of the user namespace: give up every capability it holds
        lockdown.drop_capabilities()
    lockdown.install_filter()


def run_python(code: str) -> int:
    """Run ``code`` as ``__main__``; return the harness exit status for how it ended."""
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    try:
        exec(compile(code, "solution.py", "exec"), namespace)  # noqa: S102 - sandboxed
    except _SYSTEM_EXIT as stop:
        return EXIT_OK if stop.code in (None, 0) else EXIT_CRASH
    except _MEMORY_ERROR:
        return EXIT_MEMORY
    except BaseException as error:  # noqa: BLE001 - anything the program raises is its failure
        if getattr(error, "errno", None) == _EFBIG:
            return EXIT_OUTPUT
        try:
            _WRITE(2, f"{type(error).__name__}: {error}"[:300].encode("utf-8", "replace"))
        except BaseException:  # noqa: BLE001, S110 - even printing may be booby-trapped
            pass
        return EXIT_CRASH
    return EXIT_OK


def _compile(orders: dict) -> int:
    """Run the compiler; on success copy the binary to stdout (the launcher keeps it)."""
    import subprocess

    built = subprocess.run(orders["argv"], stdin=subprocess.DEVNULL, stdout=2, check=False)
    if built.returncode != 0:
        return EXIT_CRASH
    with open(orders["output"], "rb") as binary:
        while chunk := binary.read(1 << 20):
            os.write(1, chunk)
    return EXIT_OK


def execute(orders: dict) -> None:
    """Run the (already isolated) action and exit; never returns."""
    status = EXIT_CRASH
    if orders["action"] != "judge":  # only the judge writes verdicts
        os.closerange(RESULT_FD, 1 << 16)
    try:
        if orders["action"] == "judge":
            # The judge drops privileges in each of its two processes itself.
            sibling("judge").run(orders, drop, sibling("plaindata"))
            status = EXIT_OK
        elif orders["action"] == "compile":
            drop(orders["limits"], orders.get("uid"), orders["workdir"], orders["files"])
            status = _compile(orders)
        elif orders["action"] == "exec":
            drop(orders["limits"], orders.get("uid"), orders["workdir"],
                 {"solution": orders["binary"]})
            os.execve("./solution", ["./solution"], orders["env"])
        else:
            drop(orders["limits"], orders.get("uid"), orders["workdir"])
            status = run_python(orders["code"])
        sys.stdout.flush()
    except OSError as error:
        status = EXIT_OUTPUT if error.errno == _EFBIG else EXIT_CRASH
    except _MEMORY_ERROR:
        status = EXIT_MEMORY
    except BaseException:  # noqa: BLE001 - e.g. a broken stdout: the status says crash
        _say_why()
    _EXIT(status)


def _say_why() -> None:
    """The harness's own failure, on the run's stderr (which the launcher keeps)."""
    try:
        import traceback

        _WRITE(2, traceback.format_exc()[-2000:].encode("utf-8", "replace"))
    except BaseException:  # noqa: BLE001, S110 - stderr itself may be gone
        pass


def wire_descriptors(stdin_fd, result_fd) -> None:
    """Make ``stdin_fd`` fd 0 and ``result_fd`` fd ``RESULT_FD``, then close every other
    descriptor above 2. Why: an inherited descriptor left open (the tests' memfd under its
    original number) is readable by the program with ``os.pread``, which gives away every
    expected value; the fork server applies the same function to its runs."""
    os.dup2(stdin_fd if stdin_fd is not None else os.open(os.devnull, os.O_RDONLY), 0)
    if result_fd is not None and result_fd != RESULT_FD:
        os.dup2(result_fd, RESULT_FD)
    os.closerange(RESULT_FD + 1 if result_fd is not None else RESULT_FD, 1 << 16)


def main() -> None:
    orders = json.loads(sys.stdin.read())
    wire_descriptors(orders.pop("stdin_fd", None), orders.get("result_fd"))
    orders["result_fd"] = RESULT_FD
    if orders["action"] == "judge":  # before the new root hides this folder
        for name in JUDGE_MODULES:
            sibling(name)
    isolate(orders)
    execute(orders)


if __name__ == "__main__":
    main()
