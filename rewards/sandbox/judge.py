"""Assertion tests judged outside the candidate's process: only plain data crosses.

Why: when tests run in the program's own interpreter, the program owns everything the verdict
rests on: it can rebind ``AssertionError`` or ``abs``, walk frames to the reporter, or return an
object whose ``==`` always says True. Here the run splits in two processes that share nothing
but two pipes, each under its own throwaway uid (so neither can signal, trace or read the
other):

- the **candidate** process executes the program, tells which top-level names it defined
  (functions and classes, imported modules, plain-data constants), then answers calls: a name
  and plain-data arguments in, a plain-data result (or the name of the exception) out;
- the **judge** process holds the test code, which the candidate never sees. It runs each test
  with fresh, real built-ins (a program's top-level ``set = ...`` reaches a test only when it is
  the one name of the program that test uses, see ``_test_namespace``); the candidate's
  functions are stand-ins that send the call across and rebuild the result with
  ``plaindata.decode``, so every comparison is made by the judge on values it built itself.
  Modules the program imported are the judge's own real modules.

Arguments that are not plain data (a function passed in) fail the test (``not_plain_data``);
objects of the program's classes come back as opaque stand-ins (``plaindata.Opaque``). A call
that runs past the test's time ends the run (``timeout``).
The verdicts go to the launcher as JSON on the result descriptor, which only the judge holds.
"""

import builtins
import json
import os
import select
import struct
import sys
import time

_HEADER = struct.Struct(">I")


class _Stop(BaseException):  # a BaseException: a test's `except Exception` cannot swallow it
    """Ends a test with a failure kind (timeout, not_plain_data, crash, exited_early)."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(kind, detail)
        self.kind, self.detail = kind, detail


def _send(fd: int, data: bytes, deadline: float | None = None) -> None:
    """Write one framed message; on a non-blocking ``fd``, _Stop at ``deadline``."""
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([], [fd], [], remaining)[1]:
                raise _Stop("timeout", "the program stopped reading its calls")
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            continue


def _receive(fd: int, deadline: float | None, limit: int) -> bytes:
    """One framed message, or _Stop on timeout, hang-up or an oversized frame."""
    data = bytearray()
    need = _HEADER.size
    while len(data) < need:
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and (
                remaining <= 0 or not select.select([fd], [], [], remaining)[0]):
            raise _Stop("timeout", "the call did not return in time")
        chunk = os.read(fd, min(need - len(data), 1 << 20))
        if not chunk:
            raise _Stop("crash", "the program ended during a call")
        data += chunk
        if need == _HEADER.size and len(data) == need:
            need += _HEADER.unpack(data)[0]
            if need > limit:
                raise _Stop("not_plain_data", "reply too large")
    return bytes(data[_HEADER.size:])


# ---- candidate side ---------------------------------------------------------------------------

def _manifest(namespace: dict, plaindata) -> dict:
    names = {}
    for name, value in list(namespace.items()):
        if name.startswith("__"):
            continue
        if type(value).__name__ == "module":
            names[name] = ("module", str(getattr(value, "__name__", "")))
        elif callable(value):
            names[name] = ("call",)
        else:
            try:
                plaindata.encode(value)
                names[name] = ("data", value)
            except Exception:  # noqa: BLE001, S112 - not plain: the tests cannot use it
                continue
    return names


def _answer(namespace: dict, request, plaindata) -> bytes:
    name, args, kwargs = request
    try:
        result = namespace[name](*args, **kwargs)
    except BaseException as error:  # noqa: BLE001 - the program's exception is its answer
        return plaindata.encode(("error", type(error).__name__, str(error)[:200]))
    try:
        return plaindata.encode(("ok", result))
    except Exception as error:  # noqa: BLE001 - not plain data: the judge fails the test
        return plaindata.encode(("not_plain", str(error)[:200]))


def serve_candidate(code: str, requests: int, replies: int, plaindata) -> None:
    """Execute the program, announce its names, then answer calls until the judge hangs up."""
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    try:
        exec(compile(code, "solution.py", "exec"), namespace)  # noqa: S102 - sandboxed
        hello = plaindata.encode(("ready", _manifest(namespace, plaindata)))
    except SystemExit as stop:
        hello = plaindata.encode(("exited", repr(stop.code)[:100]))
    except MemoryError:
        hello = plaindata.encode(("memory", "MemoryError"))
    except BaseException as error:  # noqa: BLE001 - the program's failure
        hello = plaindata.encode(("crashed", f"{type(error).__name__}: {error}"[:300]))
    _send(replies, hello)
    while True:
        try:
            request = plaindata.decode(_receive(requests, None, plaindata.MAX_BYTES))
        except _Stop:
            return
        _send(replies, _answer(namespace, request, plaindata))


# ---- judge side -------------------------------------------------------------------------------

class _Link:
    """The judge's end of the pipes, with the current test's deadline."""

    def __init__(self, requests: int, replies: int, plaindata, pid: int) -> None:
        self.requests, self.replies, self.plaindata = requests, replies, plaindata
        self.pid = pid  # the program's process (our child)
        self.deadline = 0.0
        self.broken = False  # after a timeout or a bad frame the channel cannot be trusted

    def read(self):
        try:
            return self.plaindata.decode(_receive(self.replies, self.deadline,
                                                  self.plaindata.MAX_BYTES))
        except self.plaindata.NotPlainData as error:
            self.broken = True
            raise _Stop("not_plain_data", str(error)) from None
        except _Stop as stop:
            self.broken = True
            if stop.kind == "crash" and self._killed_for_time():
                raise _Stop("timeout", "the program ran out of CPU time") from None
            raise

    def _killed_for_time(self) -> bool:
        """True if the program was killed by SIGKILL (its CPU-time limit) or SIGXCPU."""
        import signal

        for _ in range(40):  # it hung up; its exit status follows within milliseconds
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                return False
            if pid:
                return os.WIFSIGNALED(status) and os.WTERMSIG(status) in (
                    signal.SIGKILL, signal.SIGXCPU)
            time.sleep(0.005)
        return False

    def call(self, name: str, args: tuple, kwargs: dict):
        try:
            request = self.plaindata.encode((name, args, kwargs), strict=True)
        except self.plaindata.NotPlainData as error:
            raise _Stop("not_plain_data", f"argument: {error}") from None
        if self.broken:
            raise _Stop("crash", "the channel to the program broke in an earlier test")
        try:
            _send(self.requests, request, self.deadline)
        except OSError:
            self.broken = True
            raise _Stop("crash", "the program is gone") from None
        except _Stop:
            self.broken = True
            raise
        reply = self.read()
        if type(reply) is tuple and len(reply) == 2 and reply[0] == "ok":
            return reply[1]
        if type(reply) is tuple and len(reply) == 3 and reply[0] == "error":
            raise _raised(str(reply[1]), str(reply[2]))
        raise _Stop("not_plain_data", f"{name}() returned something that is not plain data")


def _raised(type_name: str, message: str) -> Exception:
    """The program's exception as the judge's own: a built-in class of that name, else
    RuntimeError. Never AssertionError (it would read as the test's own verdict), nor
    StopIteration (it would silently end a test's own ``map`` or ``all`` loop: pass on nothing)."""
    kind = getattr(builtins, type_name, None)
    if (isinstance(kind, type) and issubclass(kind, Exception)
            and not issubclass(kind, (AssertionError, StopIteration, StopAsyncIteration))):
        return kind(message)
    return RuntimeError(f"{type_name}: {message}")


def _namespace(manifest: dict, link: _Link) -> tuple[dict, dict]:
    """The tests' names from the program: (ordinary names, names that shadow built-ins)."""
    import importlib

    namespace, shadowing = {"__name__": "__main__", "__builtins__": builtins}, {}
    for name, entry in manifest.items():
        kind = entry[0] if type(entry) is tuple and entry else None
        if type(name) is not str or not name.isidentifier() or name.startswith("__"):
            continue  # `__builtins__` from a program would replace every built-in of the tests
        target = shadowing if hasattr(builtins, name) else namespace
        if kind == "call":
            target[name] = _stand_in(link, name)
        elif kind == "data" and len(entry) == 2:
            target[name] = entry[1]
        elif (kind == "module" and len(entry) == 2 and target is namespace
              and _importable(entry[1])):
            try:
                namespace[name] = importlib.import_module(entry[1])
            except Exception:  # noqa: BLE001, S112 - a module the judge lacks: tests can't use it
                continue
    return namespace, shadowing


def _importable(module) -> bool:
    """Only public standard-library modules, named plainly, are imported for the tests."""
    return (type(module) is str and all(part.isidentifier() for part in module.split("."))
            and module.split(".")[0] in sys.stdlib_module_names and not module.startswith("_")
            and module.split(".")[0] not in _NEVER_IMPORTED)


_NEVER_IMPORTED = {"antigravity", "this", "webbrowser", "turtle", "turtledemo", "tkinter",
                   "idlelib", "pydoc", "ensurepip", "venv", "site"}


def _stand_in(link: _Link, name: str):
    """A function of the judge's that calls the program's ``name`` across the pipes."""
    def call(*args, **kwargs):
        return link.call(name, args, kwargs)
    call.__name__ = call.__qualname__ = name
    return call


def _names_used(code) -> set:
    """Every global name a test's code (and the functions it defines) refers to."""
    names = set(code.co_names)
    for constant in code.co_consts:
        if hasattr(constant, "co_names"):
            names |= _names_used(constant)
    return names


def _test_namespace(code, base: dict, shadowing: dict) -> dict:
    """A fresh namespace for one test. A program's name that shadows a built-in (MBPP task 126
    defines `sum`) is used only when it is the one name of the program the test refers to:
    with two, the program could coordinate them (`set(f(x)) == set(expected)` with a forged
    `set` makes both sides equal), so the test then gets the real built-in."""
    used = _names_used(code)
    from_program = used & (set(base) | set(shadowing)) - {"__name__", "__builtins__"}
    namespace = dict(base)
    if len(from_program) == 1 and from_program <= set(shadowing):
        namespace.update(shadowing)
    return namespace


def _run_test(test: str, names: tuple[dict, dict], link: _Link, seconds: float
              ) -> tuple[str, str]:
    link.deadline = time.monotonic() + seconds
    try:
        code = compile(test, "test.py", "exec")
        exec(code, _test_namespace(code, *names))  # noqa: S102 - trusted test code
    except _Stop as stop:
        return stop.kind, stop.detail
    except AssertionError as error:
        return "wrong_answer", str(error)[:200]
    except MemoryError:
        return "memory", ""
    except BaseException as error:  # noqa: BLE001 - the test failed some other way
        return "crash", f"{type(error).__name__}: {error}"[:300]
    return "ok", ""


def judge(orders: dict, tests: list, link: _Link, report: int) -> None:
    """Wait for the program's names, run each test, write the verdicts as JSON."""
    end = time.monotonic() + float(orders["budget_s"])
    link.deadline = end
    verdicts = []
    try:
        hello = link.read()
    except _Stop as stop:
        hello = ("exited", stop.detail) if stop.kind == "crash" else (stop.kind, stop.detail)
    if type(hello) is not tuple or len(hello) != 2 or hello[0] != "ready":
        kind = {"exited": "exited_early", "timeout": "timeout", "memory": "memory"}.get(
            hello[0] if type(hello) is tuple and hello else "", "crash")
        detail = str(hello[1])[:300] if type(hello) is tuple and len(hello) > 1 else ""
        verdicts = [(kind, detail)] * len(tests)
    else:
        names = _namespace(hello[1] if type(hello[1]) is dict else {}, link)
        for test in tests:
            seconds = min(float(orders["test_timeout_s"]), end - time.monotonic())
            kind, detail = _run_test(str(test), names, link, seconds)
            verdicts.append((kind, detail))
            if kind != "ok" and (orders["stop_at_first_failure"] or link.broken):
                break
    os.write(report, json.dumps(verdicts).encode()[:1 << 20])


def run(orders: dict, drop, plaindata) -> None:
    """Fork the candidate, drop each side to its own uid, run the judge in this process."""
    request_r, request_w = os.pipe()  # judge -> candidate
    reply_r, reply_w = os.pipe()  # candidate -> judge
    report = orders["result_fd"]
    pid = os.fork()
    if pid == 0:
        try:
            # fd 0 holds the tests (a memfd the launcher wrote): never readable by the program.
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            for fd in (report, request_w, reply_r):
                os.close(fd)
            drop(orders["limits"], orders.get("uid"), orders["workdir"])
            serve_candidate(orders["code"], request_r, reply_w, plaindata)
        except BaseException:  # noqa: BLE001 - set-up failed: say why on stderr
            sys.modules["harness"]._say_why()
        finally:
            os._exit(0)
    for fd in (request_r, reply_w):
        os.close(fd)
    drop(orders["judge_limits"], orders.get("judge_uid"), orders["workdir"] + "-judge")
    tests = json.loads(_read_all(0))  # read only now: the tests never were in the program's memory
    os.set_blocking(request_w, False)  # sends honour the test's deadline too
    judge(orders, tests, _Link(request_w, reply_r, plaindata, pid), report)


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)
