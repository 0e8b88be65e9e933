"""Assertion tests judged outside the candidate's process: only plain data crosses.

Why: when tests run in the program's own interpreter, the program owns everything the verdict
rests on: it can rebind ``AssertionError`` or ``abs``, walk frames to the reporter, or return an
object whose ``==`` always says True. Here the run splits in two processes that share nothing
but two pipes, each under its own throwaway uid (so neither can signal, trace or read the
other):

- the **candidate** process (``candidate.py``) executes the program, tells which top-level
  names it defined (functions and classes, exception classes, imported modules, plain-data
  constants), then answers requests: a name or handle and plain-data arguments in, a plain-data
  result (or a handle, or the exception's name and base names) out;
- the **judge** process holds the test code, which the candidate never sees. It runs each test
  with fresh, real built-ins (a program's top-level ``set = ...`` reaches a test only when it is
  the one name of the program that test uses, see ``_test_namespace``); the candidate's
  functions are stand-ins that send the call across and rebuild the result with
  ``plaindata.decode``, so every comparison is made by the judge on values it built itself.
  Modules the program imported are the judge's own real modules.

What is not plain data stays in the process that made it: the program's objects (instances,
generators, closures) reach the tests as ``remote.Remote`` handles that call back into the
candidate, and the tests' own functions passed as arguments reach the program as callbacks that
run in the judge on plain data (``candidate.py``). Mutable arguments the program changed in
place are copied back into the judge's objects after each call. A call that runs past the
test's time ends the run (``timeout``).
The verdicts go to the launcher as JSON on the result descriptor, which only the judge holds.
"""

import builtins
import collections
import json
import os
import sys
import time

_harness = sys.modules["harness"]
wire, remote = _harness.sibling("wire"), _harness.sibling("remote")
_Stop = wire.Stop
_LISTS = (list, bytearray, collections.deque)
_MAPPINGS = (dict, set, collections.Counter, collections.OrderedDict, collections.defaultdict)


# ---- judge side -------------------------------------------------------------------------------

class _Link:
    """The judge's end of the pipes, with the current test's deadline."""

    def __init__(self, requests: int, replies: int, plaindata, pid: int) -> None:
        self.requests, self.replies, self.plaindata = requests, replies, plaindata
        self.pid = pid  # the program's process (our child)
        self.deadline = 0.0
        self.broken = False  # after a timeout or a bad frame the channel cannot be trusted
        self.remotes: dict = {}  # handle number -> the one Remote for it
        self.callbacks: list = []  # the judge's functions the program may call back
        self.numbers: dict = {}  # id(function) -> its callback number
        self.exceptions: dict = {}  # the judge's classes for the program's exceptions

    def read(self):
        try:
            return self.plaindata.decode(wire.receive(self.replies, self.deadline,
                                                      self.plaindata.MAX_BYTES), self._node)
        except self.plaindata.NotPlainData as error:
            self.broken = True
            raise _Stop("not_plain_data", str(error)) from None
        except _Stop as stop:
            self.broken = True
            if stop.kind == "crash" and self._killed_for_time():
                raise _Stop("timeout", "the program ran out of CPU time") from None
            raise

    def _node(self, tag: str, body):
        """A handle from the program becomes this run's one Remote for it."""
        if (tag != "handle" or type(body) is not list or len(body) != 2
                or type(body[0]) is not int or type(body[1]) is not str):
            raise self.plaindata.NotPlainData(f"unexpected {tag} node")
        if body[0] not in self.remotes:
            self.remotes[body[0]] = remote.Remote(self, body[0], body[1][:60])
        return self.remotes[body[0]]

    def _hook(self, value):
        """How the judge's own non-plain arguments cross: a Remote as its handle, a function
        of the tests as a callback number."""
        if type(value) is remote.Remote:
            return {"t": "ref", "v": value._target} if type(value._target) is int else None
        if callable(value):
            number = self.numbers.setdefault(id(value), len(self.callbacks))
            if number == len(self.callbacks):
                self.callbacks.append(value)  # kept alive, so its id stays its own
            return {"t": "callback", "v": number}
        return None

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

    def _send(self, message: tuple) -> None:
        try:
            data = self.plaindata.encode(message, strict=True, hook=self._hook)
        except self.plaindata.NotPlainData as error:
            raise _Stop("not_plain_data", f"argument: {error}") from None
        if self.broken:
            raise _Stop("crash", "the channel to the program broke in an earlier test")
        try:
            wire.send(self.requests, data, self.deadline)
        except OSError:
            self.broken = True
            raise _Stop("crash", "the program is gone") from None
        except _Stop:
            self.broken = True
            raise

    def call(self, op: str, target, args: tuple, kwargs: dict):
        """Ask the program to do ``op`` on ``target``; its answer, as the judge's own data."""
        self._send((op, target, args, kwargs))
        reply = self.read()
        while type(reply) is tuple and len(reply) == 4 and reply[0] == "callback":
            self._send(self._run_callback(reply[1], reply[2], reply[3]))
            reply = self.read()
        if type(reply) is tuple and len(reply) == 4 and reply[0] == "ok":
            _copy_back(reply[2], args, kwargs)
            alias = reply[3]
            if type(alias) is int and 0 <= alias < len(args) and type(args[alias]) in (
                    _LISTS + _MAPPINGS):  # only a mutable argument can be returned as itself
                return args[alias]
            return reply[1]
        if type(reply) is tuple and len(reply) == 4 and reply[0] == "error":
            if op == "next" and reply[1] == "StopIteration":
                raise StopIteration
            raise remote.raised(reply[3], str(reply[2]), self.exceptions)
        raise _Stop("not_plain_data", f"{op} on {target!s:.40} gave something that is not "
                                      "plain data")

    def _run_callback(self, number, args, kwargs) -> tuple:
        """Run a function of the tests the program called back, on plain data. Its failed
        assertion is the test's verdict: it ends the test here, never goes to the program."""
        if type(number) is not int or not 0 <= number < len(self.callbacks) or type(
                args) is not tuple or type(kwargs) is not dict:
            raise _Stop("not_plain_data", "a malformed callback")
        try:
            return ("return", self.callbacks[number](*args, **kwargs))
        except (_Stop, AssertionError):
            self.broken = True
            raise
        except Exception as error:  # noqa: BLE001 - the function's error goes to the caller
            return ("raise", type(error).__name__, str(error)[:200])


def _copy_back(changed, args: tuple, kwargs: dict) -> None:
    """Copy the program's changes to mutable arguments into the judge's own objects, in place.
    Only same-typed plain data replaces plain data; anything else is ignored."""
    if type(changed) is not list:
        return
    for entry in changed:
        if type(entry) is not list or len(entry) != 2:
            continue
        key, value = entry
        if type(key) is int and 0 <= key < len(args):
            mine = args[key]
        elif type(key) is str and key in kwargs:
            mine = kwargs[key]
        else:
            continue
        if type(mine) is not type(value) or not isinstance(mine, _LISTS + _MAPPINGS):
            continue
        if type(mine) in _LISTS:
            mine.clear() if type(mine) is not bytearray else mine.__delitem__(slice(None))
            mine.extend(value)
        else:
            mine.clear()
            mine.update(value)


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
            target[name] = remote.Remote(link, name, name)
        elif kind == "exception" and len(entry) == 2:
            target[name] = remote.exception_class([name, *list(entry[1])[1:]]
                                                  if type(entry[1]) is list else None,
                                                  link.exceptions)
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


def _names_used(code) -> set:
    """Every global name a test's code (and the functions it defines) refers to."""
    names = set(code.co_names)
    for constant in code.co_consts:
        if hasattr(constant, "co_names"):
            names |= _names_used(constant)
    return names


def _test_namespace(code, source: str, base: dict, shadowing: dict) -> dict:
    """A fresh namespace for one test. A program's name that shadows a built-in (MBPP task 126
    defines `sum`) is used only when it is the one name of the program the test refers to:
    with two, the program could coordinate them (`set(f(x)) == set(expected)` with a forged
    `set` makes both sides equal), so the test then gets the real built-in."""
    used = _names_used(code)
    from_program = used & (set(base) | set(shadowing)) - {"__name__", "__builtins__"}
    namespace = dict(base)
    if len(from_program) == 1 and from_program <= set(shadowing):
        namespace.update(shadowing)
    return namespace | _modules_by_attribute(source, namespace)


def _modules_by_attribute(source: str, namespace: dict) -> dict:
    """The judge's own module for each name a test uses as ``name.attr`` that is a standard
    library module's name (``math.isclose``): a program's ``math`` (a class, or a function with
    an ``isclose`` attribute) would otherwise decide the verdict. A program's function named
    like a module (``def copy``) is still the one a test calls as ``copy(x)``."""
    import ast
    import importlib

    modules = {}
    for node in ast.walk(ast.parse(source)):
        name = node.value.id if (isinstance(node, ast.Attribute)
                                 and isinstance(node.value, ast.Name)) else None
        if name and name not in modules and type(namespace.get(name)) is remote.Remote \
                and _importable(name):
            try:
                modules[name] = importlib.import_module(name)
            except Exception:  # noqa: BLE001, S112 - a module the judge lacks
                continue
    return modules


def _run_test(test: str, names: tuple[dict, dict], link: _Link, seconds: float
              ) -> tuple[str, str]:
    link.deadline = time.monotonic() + seconds
    try:
        code = compile(test, "test.py", "exec")
        exec(code, _test_namespace(code, test, *names))  # noqa: S102 - trusted test code
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
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            os.close(devnull)
            for fd in (report, request_w, reply_r):
                os.close(fd)
            drop(orders["limits"], orders.get("uid"), orders["workdir"])
            _harness.sibling("candidate").serve_candidate(orders["code"], request_r, reply_w,
                                                          plaindata)
        except BaseException:  # noqa: BLE001 - set-up failed: say why on stderr
            sys.modules["harness"]._say_why()
        finally:
            os._exit(0)
    for fd in (request_r, reply_w):
        os.close(fd)
    drop(orders["judge_limits"], orders.get("judge_uid"), orders["workdir"] + "-judge")
    _harness.lockdown.not_dumpable()  # the program may share our uid (a user namespace)
    tests = json.loads(_read_all(0))  # read only now: the tests never were in the program's memory
    os.set_blocking(request_w, False)  # sends honour the test's deadline too
    judge(orders, tests, _Link(request_w, reply_r, plaindata, pid), report)


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)
