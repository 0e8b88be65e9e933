"""The candidate's half of a judged run: execute the program, then answer the judge's requests.

Runs in the program's own process under its throwaway uid, so everything here may be rewritten
by the program; the judge trusts none of it (``judge.py``, ``remote.py``). A request is
``(op, target, args, kwargs)``: ``target`` is a top-level name of the program or the number of a
handle this process handed out; ``op`` says what to do with it (call it, read or set an
attribute, iterate, index, ...). Every answer is plain data: an object that is not plain data
(an instance of the program's class, a generator, a closure) stays here and crosses as a
*handle*, a number the judge can send back in later requests. After a call, the arguments
that are mutable containers cross back too, so the judge can copy in-place changes into its
own objects; a result that *is* one of the arguments says so (``alias``).

A judge's function passed as an argument (a key, a callback) arrives as a stub: calling it asks
the judge to run its function on plain data while this process keeps serving requests.
Standard library only, loaded by path (``harness.sibling``).
"""

import builtins
import collections
import operator
import sys

wire = sys.modules["harness"].sibling("wire")

MAX_HANDLES = 100_000
_MUTABLE = (list, dict, set, bytearray, collections.deque, collections.Counter,
            collections.OrderedDict, collections.defaultdict)
_OPS = {
    "call": lambda target, args, kwargs: target(*args, **kwargs),
    "getattr": lambda target, args, kwargs: getattr(target, str(args[0])),
    "setattr": lambda target, args, kwargs: setattr(target, str(args[0]), args[1]),
    "iter": lambda target, args, kwargs: iter(target),
    "next": lambda target, args, kwargs: next(target),
    "len": lambda target, args, kwargs: len(target),
    "bool": lambda target, args, kwargs: bool(target),
    "str": lambda target, args, kwargs: str(target),
    "repr": lambda target, args, kwargs: repr(target),
    "getitem": lambda target, args, kwargs: target[args[0]],
    "setitem": lambda target, args, kwargs: operator.setitem(target, *args[:2]),
    "delitem": lambda target, args, kwargs: operator.delitem(target, args[0]),
    "contains": lambda target, args, kwargs: args[0] in target,
    "binop": lambda target, args, kwargs: getattr(operator, _BINOPS[args[0]])(target, args[1]),
    "rbinop": lambda target, args, kwargs: getattr(operator, _BINOPS[args[0]])(args[1], target),
    "unop": lambda target, args, kwargs: getattr(operator, _UNOPS[args[0]])(target),
}
_BINOPS = {name: name for name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow",
                                   "and_", "or_", "xor", "lshift", "rshift", "matmul")}
_UNOPS = {"neg": "neg", "pos": "pos", "abs": "abs", "invert": "invert", "index": "index"}


class Objects:
    """The program's namespace and every object the judge holds a handle to (kept alive, so
    the same object always has the same handle)."""

    def __init__(self, namespace: dict, plaindata, channel) -> None:
        self.namespace, self.plaindata, self.channel = namespace, plaindata, channel
        self.items: dict[int, object] = {}
        self.numbers: dict[int, int] = {}  # id(object) -> handle

    def handle(self, value) -> dict:
        number = self.numbers.get(id(value))
        if number is None:
            if len(self.items) >= MAX_HANDLES:
                raise self.plaindata.NotPlainData("too many objects handed to the tests")
            number = self.numbers[id(value)] = len(self.items) + 1
            self.items[number] = value
        return {"t": "handle", "v": [number, str(type(value).__name__)[:60]]}

    def resolve(self, tag: str, body):
        """A judge's node: a handle sent back (``ref``), or a judge's function (``callback``)."""
        if tag == "ref" and type(body) is int and body in self.items:
            return self.items[body]
        if tag == "callback" and type(body) is int:
            return self.channel.callback(body)
        raise self.plaindata.NotPlainData(f"unknown {tag}")

    def target(self, target):
        return self.namespace[target] if type(target) is str else self.items[target]

    def encode(self, value) -> bytes:
        return self.plaindata.encode(value, hook=self.handle)


def _manifest(namespace: dict, plaindata, objects: Objects | None = None) -> dict:
    names = {}
    for name, value in list(namespace.items()):
        if name.startswith("__"):
            continue
        if type(value).__name__ == "module":
            names[name] = ("module", str(getattr(value, "__name__", "")))
        elif isinstance(value, type) and issubclass(value, BaseException):
            names[name] = ("exception", _chain(value))
        elif callable(value):
            names[name] = ("call",)
        else:
            try:
                plaindata.encode(value, strict=True)
                names[name] = ("data", value)
            except Exception:  # noqa: BLE001, S112 - not plain: the tests reach it by name
                names[name] = ("call",)
    return names


def _chain(kind: type) -> list:
    """The names of an exception class and its bases, nearest first."""
    return [str(getattr(base, "__name__", "?"))[:60] for base in kind.__mro__[:32]]


def _answer(objects: Objects, request, plaindata) -> bytes:
    """Do one request; the reply is ("ok", result, mutated arguments, alias), ("error", type
    name, message, base names) or ("not_plain", why)."""
    op, target, args, kwargs = request
    try:
        result = _OPS[op](objects.target(target), args, kwargs)
    except BaseException as error:  # noqa: BLE001 - the program's exception is its answer
        return plaindata.encode(("error", type(error).__name__, str(error)[:200],
                                 _chain(type(error))))
    back = [[i, value] for i, value in enumerate(args) if type(value) in _MUTABLE] + [
        [key, value] for key, value in kwargs.items() if type(value) in _MUTABLE]
    alias = next((i for i, value in enumerate(args) if value is result and type(value)
                  in _MUTABLE), None)
    try:
        return objects.encode(("ok", None if alias is not None else result, back, alias))
    except Exception as error:  # noqa: BLE001 - not plain data: the judge fails the test
        return plaindata.encode(("not_plain", str(error)[:200]))


class Channel:
    """This process's end of the pipes: answers requests, and runs callbacks through the
    judge (serving the judge's nested requests while it waits)."""

    def __init__(self, requests: int, replies: int, plaindata) -> None:
        self.requests, self.replies, self.plaindata = requests, replies, plaindata
        self.objects: Objects | None = None

    def serve(self, nested: bool = False):
        """Answer requests; return the judge's answer to a callback when ``nested``."""
        while True:
            try:
                message = self.plaindata.decode(
                    wire.receive(self.requests, None, self.plaindata.MAX_BYTES),
                    self.objects.resolve)
            except wire.Stop:
                if nested:
                    raise
                return None
            if type(message) is tuple and message and message[0] in ("return", "raise"):
                if nested:
                    return message
                continue
            wire.send(self.replies, _answer_of(self.objects, message, self.plaindata))

    def callback(self, number: int):
        def call(*args, **kwargs):
            wire.send(self.replies, self.objects.encode(("callback", number, args, kwargs)))
            answer = self.serve(nested=True)
            if answer[0] == "return" and len(answer) == 2:
                return answer[1]
            kind = getattr(builtins, str(answer[1]), None)
            if not (isinstance(kind, type) and issubclass(kind, Exception)):
                kind = RuntimeError
            raise kind(str(answer[2]) if len(answer) > 2 else "")
        return call


def _answer_of(objects: Objects, message, plaindata) -> bytes:
    """``_answer`` through the module's current binding (the tests' forgeries replace it)."""
    return sys.modules[__name__]._answer(objects, message, plaindata)


def serve_candidate(code: str, requests: int, replies: int, plaindata) -> None:
    """Execute the program, announce its names, then answer requests until the judge hangs up."""
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    channel = Channel(requests, replies, plaindata)
    channel.objects = Objects(namespace, plaindata, channel)
    try:
        exec(compile(code, "solution.py", "exec"), namespace)  # noqa: S102 - sandboxed
        hello = plaindata.encode(("ready", _manifest_of(namespace, plaindata)))
    except SystemExit as stop:
        hello = plaindata.encode(("exited", repr(stop.code)[:100]))
    except MemoryError:
        hello = plaindata.encode(("memory", "MemoryError"))
    except BaseException as error:  # noqa: BLE001 - the program's failure
        hello = plaindata.encode(("crashed", f"{type(error).__name__}: {error}"[:300]))
    wire.send(replies, hello)
    channel.serve()


def _manifest_of(namespace: dict, plaindata) -> dict:
    return sys.modules[__name__]._manifest(namespace, plaindata)
