"""The judge's stand-ins for what stays in the candidate's process: names, handles, exceptions.

A ``Remote`` is the judge's own object for a program's name or for an object the program handed
out (an instance, a generator, a closure). A test uses it like the object: calls it, calls its
methods, reads and sets attributes, iterates it, indexes it, asks its ``len``, ``str`` or truth;
each use is one request to the candidate, and what comes back is plain data again (or another
handle). What a verdict rests on is never asked of the program: a ``Remote`` equals only itself,
hashes by identity, and is an instance of nothing of the program's (``isinstance(r, Stack)`` is
a TypeError), so ``f() == expected`` compares plain data built by the judge, or fails. Where a
test asks the object itself (``len(s)``, ``x in s``, ``bool(s)``), the program's answer crosses
as a plain int or bool, exactly as if a method had returned it.

The program's exceptions become the judge's: a built-in of that name, or a class the judge makes
once per name whose bases follow the names the program reported (never ``AssertionError`` or
``StopIteration``, which would read as the test's own verdict or silently end its loop).
Standard library only, loaded by path (``harness.sibling``).
"""

import builtins

_FORBIDDEN = (AssertionError, StopIteration, StopAsyncIteration)
MAX_EXCEPTION_CLASSES = 200


class Remote:
    """A program's name or object, used by the tests through requests to the candidate."""

    __slots__ = ("_link", "_target", "_type_name")

    def __init__(self, link, target, type_name: str) -> None:
        object.__setattr__(self, "_link", link)
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_type_name", type_name)

    def _ask(self, op: str, *args, **kwargs):
        return self._link.call(op, self._target, args, kwargs)

    def __call__(self, *args, **kwargs):
        return self._ask("call", *args, **kwargs)

    def __getattr__(self, name: str):
        if name.startswith("__"):  # protocol probes (copy, pickle, ...) never reach the program
            raise AttributeError(name)
        return self._ask("getattr", name)

    def __setattr__(self, name: str, value) -> None:
        self._ask("setattr", name, value)

    def __iter__(self):
        iterator = self._ask("iter")
        if type(iterator) is not Remote:
            raise TypeError("the program's iter() did not return an iterator")
        while True:
            try:
                yield iterator._ask("next")
            except StopIteration:
                return

    def __next__(self):
        return self._ask("next")

    def __len__(self) -> int:
        return self._ask("len")

    def __bool__(self) -> bool:
        return _typed(self._ask("bool"), bool)

    def __contains__(self, item) -> bool:
        return _typed(self._ask("contains", item), bool)

    def __getitem__(self, key):
        return self._ask("getitem", key)

    def __setitem__(self, key, value) -> None:
        self._ask("setitem", key, value)

    def __delitem__(self, key) -> None:
        self._ask("delitem", key)

    def __str__(self) -> str:
        return _typed(self._ask("str"), str)

    def __repr__(self) -> str:
        return _typed(self._ask("repr"), str)

    def __eq__(self, other) -> bool:  # identity only: the program never decides an equality
        return self is other

    def __ne__(self, other) -> bool:
        return self is not other

    __hash__ = object.__hash__

    def __index__(self) -> int:
        return _typed(self._ask("unop", "index"), int)


def _typed(value, kind: type):
    if type(value) is not kind:
        raise TypeError(f"the program answered a {type(value).__name__}, not a {kind.__name__}")
    return value


def _arithmetic(name: str, reflected: bool):
    if reflected:
        return lambda self, other: self._ask("rbinop", name, other)
    return lambda self, other: self._ask("binop", name, other)


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "lshift", "rshift",
              "matmul"):
    setattr(Remote, f"__{_name}__", _arithmetic(_name, False))
    setattr(Remote, f"__r{_name}__", _arithmetic(_name, True))
for _name, _op in (("and", "and_"), ("or", "or_"), ("xor", "xor")):
    setattr(Remote, f"__{_name}__", _arithmetic(_op, False))
    setattr(Remote, f"__r{_name}__", _arithmetic(_op, True))
for _name in ("neg", "pos", "abs", "invert"):
    setattr(Remote, f"__{_name}__", lambda self, _n=_name: self._ask("unop", _n))


def exception_class(chain, made: dict) -> type:
    """The judge's class for a program's exception, from its class's and bases' names.

    >>> made = {}
    >>> error = exception_class(["Overdrawn", "ValueError", "Exception"], made)
    >>> issubclass(error, ValueError), error.__name__, exception_class(["Overdrawn"], made) is error
    (True, 'Overdrawn', True)
    >>> exception_class(["Sneaky", "AssertionError"], made).__mro__[1] is RuntimeError
    True
    """
    if type(chain) is not list or not chain or type(chain[0]) is not str:
        return RuntimeError
    name = chain[0]
    kind = getattr(builtins, name, None)
    if isinstance(kind, type) and issubclass(kind, BaseException):
        if issubclass(kind, Exception) and not issubclass(kind, _FORBIDDEN):
            return kind
        return Exception if name == "BaseException" else RuntimeError
    if name == "object":
        return Exception
    if name not in made:
        if not name.isidentifier() or len(made) >= MAX_EXCEPTION_CLASSES:
            return RuntimeError
        base = exception_class(chain[1:32], made) if len(chain) > 1 else RuntimeError
        made[name] = type(name, (base,), {"__module__": "solution"})
    return made[name]


def raised(chain, message: str, made: dict) -> Exception:
    """The program's exception as one of the judge's (see ``exception_class``).

    >>> raised(["KeyError", "LookupError"], "k", {})
    KeyError('k')
    """
    kind = exception_class(chain, made)
    try:
        return kind(message)
    except Exception:  # noqa: BLE001 - a built-in whose constructor wants more (UnicodeError)
        return RuntimeError(f"{chain[0]}: {message}")
