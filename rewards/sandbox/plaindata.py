"""Plain data across the sandbox wall: the only values a candidate's code can hand back.

Why: a verdict computed outside the sandbox is only as good as the values it compares. A Python
object returned from untrusted code can lie (``__eq__`` that always says True, an ``int``
subclass, a ``__del__`` that runs later), so nothing but plain data crosses: None, bool, int,
float, complex, str, bytes, and list, tuple, dict, set, frozenset of those. Values are written
as JSON with type tags and capped in size and depth; the reader builds fresh built-in objects
from the JSON, so what the grader compares was made by the grader. Writing happens inside the
sandbox, where the program could rewrite the writer anyway, so it is lenient: a subclass of a
built-in type (``collections.Counter``, an ``int`` with a lying ``__eq__``) is sent as its
built-in value, and any other object as an ``Opaque`` stand-in that keeps only its type name and
truth value (enough for ``assert re.match(...)``) and equals nothing but itself. Reading is
strict. Standard library only: it runs inside the sandbox too.

>>> decode(encode({"a": (1, 2.5, None), 3: [b"x", frozenset()]}))
{'a': (1, 2.5, None), 3: [b'x', frozenset()]}
"""

import json
import math

MAX_BYTES = 4 << 20  # one value, encoded
MAX_DEPTH = 64
_SCALARS = (type(None), bool, int, float, str)


class NotPlainData(ValueError):
    """The bytes are not plain data (or the value is too large or too deep)."""


class Opaque:
    """A returned object that is not plain data: its type name and truth value crossed, nothing
    else. It equals only itself, so it never matches an expected value.

    >>> decode(encode(iter([]))) == decode(encode(iter([])))
    False
    """

    __slots__ = ("truth", "type_name")

    def __init__(self, type_name: str, truth: bool) -> None:
        self.type_name, self.truth = type_name, truth

    def __bool__(self) -> bool:
        return self.truth

    def __repr__(self) -> str:
        return f"<{self.type_name} object from the program>"


def _float(value: float):
    if math.isfinite(value):
        return value
    return {"t": "float", "v": repr(value)}  # JSON has no inf/nan literals


def _tree(value, depth: int, strict: bool):
    if depth > MAX_DEPTH:
        raise NotPlainData("nested too deeply")
    kind = type(value)
    if kind is float:
        return _float(value)
    if kind in _SCALARS:
        return value
    if kind is list:
        return [_tree(item, depth + 1, strict) for item in value]
    if kind is tuple or kind is set or kind is frozenset:
        return {"t": kind.__name__, "v": [_tree(item, depth + 1, strict) for item in value]}
    if kind is dict:
        return {"t": "dict", "v": [[_tree(k, depth + 1, strict), _tree(v, depth + 1, strict)]
                                   for k, v in value.items()]}
    if kind is bytes:
        return {"t": "bytes", "v": value.hex()}
    if kind is complex:
        return {"t": "complex", "v": [_float(value.real), _float(value.imag)]}
    if strict:
        raise NotPlainData(f"a {kind.__name__!s:.60} is not plain data")
    for base in (bool, int, float, str, bytes, complex, list, tuple, set, frozenset, dict):
        if isinstance(value, base):  # a subclass: send the built-in value it holds
            converted = dict(dict.items(value)) if base is dict else base(value)
            return _tree(converted, depth + 1, strict)
    try:
        truth = bool(value)
    except Exception:  # noqa: BLE001 - a truth value that raises: call it false
        truth = False
    return {"t": "opaque", "v": [str(kind.__name__)[:60], truth]}


def encode(value, strict: bool = False) -> bytes:
    """The JSON bytes of ``value``; NotPlainData if too large or deep, or (``strict``, as the
    judge sends arguments) if it holds anything but exact plain types.

    >>> encode((1, "a"))
    b'{"t": "tuple", "v": [1, "a"]}'
    """
    data = json.dumps(_tree(value, 0, strict)).encode()
    if len(data) > MAX_BYTES:
        raise NotPlainData(f"larger than {MAX_BYTES} bytes")
    return data


def _build(node, depth: int):
    if depth > MAX_DEPTH:
        raise NotPlainData("nested too deeply")
    if type(node) in _SCALARS:
        return node
    if type(node) is list:
        return [_build(item, depth + 1) for item in node]
    if type(node) is not dict or set(node) != {"t", "v"}:
        raise NotPlainData("unknown node")
    tag, body = node["t"], node["v"]
    if tag == "float" and body in ("inf", "-inf", "nan"):
        return float(body)
    if tag == "bytes" and type(body) is str:
        return bytes.fromhex(body)
    if (tag == "opaque" and type(body) is list and len(body) == 2 and type(body[0]) is str
            and type(body[1]) is bool):
        return Opaque(body[0][:60], body[1])
    if type(body) is not list:
        raise NotPlainData(f"bad {tag!s:.20} node")
    items = [_build(item, depth + 1) for item in body]
    if tag in ("tuple", "set", "frozenset"):
        try:
            return {"tuple": tuple, "set": set, "frozenset": frozenset}[tag](items)
        except TypeError as error:  # an unhashable member of a set
            raise NotPlainData(str(error)) from None
    if tag == "dict" and all(type(pair) is list and len(pair) == 2 for pair in items):
        try:
            return {key: item for key, item in items}
        except TypeError as error:
            raise NotPlainData(str(error)) from None
    if tag == "complex" and len(items) == 2 and all(type(x) is float for x in items):
        return complex(*items)
    raise NotPlainData(f"unknown tag {tag!s:.20}")


def decode(data: bytes):
    """Rebuild a value from ``encode``'s bytes, trusting nothing in them.

    >>> decode(b'{"t": "set", "v": [1, 2]}')
    {1, 2}
    """
    if len(data) > MAX_BYTES:
        raise NotPlainData(f"larger than {MAX_BYTES} bytes")
    try:
        node = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise NotPlainData(f"not valid JSON: {error}"[:200]) from None
    return _build(node, 0)
