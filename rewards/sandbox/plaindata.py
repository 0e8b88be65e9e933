"""Plain data across the sandbox wall: the only values a candidate's code can hand back.

Why: a verdict computed outside the sandbox is only as good as the values it compares. A Python
object returned from untrusted code can lie (``__eq__`` that always says True, an ``int``
subclass, a ``__del__`` that runs later), so nothing but plain data crosses: None, bool, int
(any size), float, complex, str, bytes, bytearray, range, Fraction, Decimal, list, tuple, dict,
set, frozenset, deque, Counter (zero counts kept), OrderedDict (order kept), defaultdict (of a
built-in factory) and namedtuples (type name and field names kept) of those. Values are written
as JSON with type tags and capped in size and depth; the reader builds fresh objects of the
reader's own types from the JSON, so what the grader compares was made by the grader.

Writing happens inside the sandbox, where the program could rewrite the writer anyway, so it is
lenient: a subclass of a built-in type (an ``int`` with a lying ``__eq__``) is sent as its
built-in value, and any other object goes to ``hook``: the judge's candidate process keeps it
and sends a *handle* (``judge.py``), plain encoding without a hook sends an ``Opaque`` stand-in
that keeps only the type name. Reading is strict. Standard library only: it runs inside the
sandbox too.

>>> decode(encode({"a": (1, 2.5, None), 3: [b"x", frozenset()]}))
{'a': (1, 2.5, None), 3: [b'x', frozenset()]}
"""

import collections
import decimal
import fractions
import json
import math

MAX_BYTES = 4 << 20  # one value, encoded
MAX_DEPTH = 64
_SCALARS = (type(None), bool, float, str)
_JSON_INT_DIGITS = 4000  # below Python's 4300-digit str/int limit; larger ints travel as hex
_DECIMAL_CHARS = 5000
# defaultdict factories that cross by name (any other factory: the dict crosses as a dict).
_FACTORIES = {"int": int, "float": float, "str": str, "list": list, "dict": dict, "set": set,
              "tuple": tuple, "bool": bool, "frozenset": frozenset}
_COLLECTIONS = {collections.deque: "deque", collections.Counter: "counter",
                collections.OrderedDict: "ordereddict", collections.defaultdict: "defaultdict"}


class NotPlainData(ValueError):
    """The bytes are not plain data (or the value is too large or too deep)."""


class Opaque:
    """A returned object that is not plain data, read without a hook: only its type name
    crossed. It equals only itself, so it never matches an expected value.

    >>> decode(encode(iter([]))) == decode(encode(iter([])))
    False
    """

    __slots__ = ("type_name",)

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name} object from the program>"


def _float(value: float):
    if math.isfinite(value):
        return value
    return {"t": "float", "v": repr(value)}  # JSON has no inf/nan literals


def _int(value: int):
    if -(10 ** _JSON_INT_DIGITS) < value < 10 ** _JSON_INT_DIGITS:
        return value
    return {"t": "int", "v": f"{value:x}"}  # hex has no digit limit


def _pairs(mapping, depth: int, strict: bool, hook) -> list:
    return [[_tree(k, depth + 1, strict, hook), _tree(v, depth + 1, strict, hook)]
            for k, v in dict.items(mapping)]


def _items(values, depth: int, strict: bool, hook) -> list:
    return [_tree(item, depth + 1, strict, hook) for item in values]


def _tree(value, depth: int, strict: bool, hook):
    if depth > MAX_DEPTH:
        raise NotPlainData("nested too deeply")
    kind = type(value)
    if kind is float:
        return _float(value)
    if kind is int:
        return _int(value)
    if kind in _SCALARS:
        return value
    if kind is list:
        return _items(value, depth, strict, hook)
    if kind is tuple or kind is set or kind is frozenset:
        return {"t": kind.__name__, "v": _items(value, depth, strict, hook)}
    if kind is dict:
        return {"t": "dict", "v": _pairs(value, depth, strict, hook)}
    node = _library_node(value, kind, depth, strict, hook)
    if node is not None:
        return node
    if hook is not None and (node := hook(value)) is not None:
        return node
    if strict:
        raise NotPlainData(f"a {kind.__name__!s:.60} is not plain data")
    for base in (bool, int, float, str, bytes, complex, list, tuple, set, frozenset, dict):
        if isinstance(value, base):  # a subclass: send the built-in value it holds
            converted = dict(dict.items(value)) if base is dict else base(value)
            return _tree(converted, depth + 1, strict, hook)
    return {"t": "opaque", "v": str(kind.__name__)[:60]}


def _library_node(value, kind, depth: int, strict: bool, hook):
    """Nodes of the standard library's value types (exact types only), else None."""
    if kind is bytes or kind is bytearray:
        return {"t": kind.__name__, "v": bytes(value).hex()}
    if kind is complex:
        return {"t": "complex", "v": [_float(value.real), _float(value.imag)]}
    if kind is range:
        return {"t": "range", "v": [_int(value.start), _int(value.stop), _int(value.step)]}
    if kind is fractions.Fraction:
        return {"t": "fraction", "v": [_int(value.numerator), _int(value.denominator)]}
    if kind is decimal.Decimal:
        return {"t": "decimal", "v": str(value)[:_DECIMAL_CHARS]}
    if kind in _COLLECTIONS:
        tag = _COLLECTIONS[kind]
        if tag == "deque":
            return {"t": tag, "v": [_items(value, depth, strict, hook), value.maxlen]}
        if tag == "defaultdict":
            factory = getattr(value.default_factory, "__name__", "")
            factory = factory if _FACTORIES.get(factory) is value.default_factory else None
            return {"t": tag, "v": [factory, _pairs(value, depth, strict, hook)]}
        return {"t": tag, "v": _pairs(value, depth, strict, hook)}
    if issubclass(kind, tuple) and type(getattr(kind, "_fields", None)) is tuple:
        fields = [str(name) for name in kind._fields]
        return {"t": "namedtuple", "v": [str(kind.__name__)[:60], fields,
                                         _items(tuple.__iter__(value), depth, strict, hook)]}
    return None


def encode(value, strict: bool = False, hook=None) -> bytes:
    """The JSON bytes of ``value``; NotPlainData if too large or deep, or (``strict``, as the
    judge sends arguments) if it holds anything but plain types. ``hook(obj)`` gives the node
    of any other object (a handle), or None.

    >>> encode((1, "a"))
    b'{"t": "tuple", "v": [1, "a"]}'
    """
    data = json.dumps(_tree(value, 0, strict, hook)).encode()
    if len(data) > MAX_BYTES:
        raise NotPlainData(f"larger than {MAX_BYTES} bytes")
    return data


def _build(node, depth: int, hook):
    if depth > MAX_DEPTH:
        raise NotPlainData("nested too deeply")
    if type(node) in _SCALARS:
        return node
    if type(node) is int:
        if not -(10 ** _JSON_INT_DIGITS) < node < 10 ** _JSON_INT_DIGITS:
            raise NotPlainData("a plain JSON integer that should have been hex")
        return node
    if type(node) is list:
        return [_build(item, depth + 1, hook) for item in node]
    if type(node) is not dict or set(node) != {"t", "v"}:
        raise NotPlainData("unknown node")
    tag, body = node["t"], node["v"]
    if type(tag) is not str:
        raise NotPlainData("unknown node")
    if type(body) is str:
        return _text_node(tag, body)
    if tag in ("handle", "ref", "callback") and hook is not None:
        return hook(tag, body)
    if tag == "opaque" or tag == "handle":
        return Opaque(str(body[1] if type(body) is list and len(body) == 2 else "object")[:60])
    if type(body) is not list:
        raise NotPlainData(f"bad {tag:.20} node")
    return _container(tag, body, depth, hook)


def _text_node(tag: str, body: str):
    """Scalars that travel as text: inf/nan, hex bytes and big ints, decimals."""
    try:
        if tag == "float" and body in ("inf", "-inf", "nan"):
            return float(body)
        if tag in ("bytes", "bytearray"):
            return {"bytes": bytes, "bytearray": bytearray}[tag](bytes.fromhex(body))
        if tag == "int" and len(body) <= MAX_BYTES:
            return int(body, 16)
        if tag == "decimal" and len(body) <= _DECIMAL_CHARS:
            return decimal.Decimal(body)
        if tag == "opaque":
            return Opaque(body[:60])
    except (ValueError, ArithmeticError) as error:
        raise NotPlainData(str(error)[:200]) from None
    raise NotPlainData(f"bad {tag:.20} node")


_NAMEDTUPLES: dict = {}  # (type name, fields): the reader's own class, made once


def _namedtuple(name, fields, items: list):
    if (type(name) is not str or type(fields) is not list or len(fields) != len(items)
            or not all(type(f) is str for f in fields)):
        raise NotPlainData("bad namedtuple node")
    key = (name, tuple(fields))
    if key not in _NAMEDTUPLES and len(_NAMEDTUPLES) >= 1000:
        raise NotPlainData("too many namedtuple types")
    if key not in _NAMEDTUPLES:
        try:
            _NAMEDTUPLES[key] = collections.namedtuple(name, fields)
        except (ValueError, TypeError) as error:
            raise NotPlainData(str(error)[:200]) from None
    return _NAMEDTUPLES[key](*items)


def _container(tag: str, body: list, depth: int, hook):
    if tag == "namedtuple" and len(body) == 3 and type(body[2]) is list:
        return _namedtuple(body[0], body[1], [_build(i, depth + 1, hook) for i in body[2]])
    if tag == "deque" and len(body) == 2 and type(body[0]) is list and (
            body[1] is None or type(body[1]) is int and body[1] >= 0):
        return collections.deque((_build(i, depth + 1, hook) for i in body[0]), body[1])
    if tag == "defaultdict" and len(body) == 2 and (body[0] is None or body[0] in _FACTORIES):
        pairs = _build(body[1], depth + 1, hook)
        return collections.defaultdict(_FACTORIES.get(body[0]), _mapping(pairs, dict))
    items = [_build(item, depth + 1, hook) for item in body]
    if tag in ("tuple", "set", "frozenset"):
        try:
            return {"tuple": tuple, "set": set, "frozenset": frozenset}[tag](items)
        except TypeError as error:  # an unhashable member of a set
            raise NotPlainData(str(error)) from None
    if tag in ("dict", "counter", "ordereddict"):
        return _mapping(items, {"dict": dict, "counter": collections.Counter,
                                "ordereddict": collections.OrderedDict}[tag])
    if tag == "complex" and len(items) == 2 and all(type(x) is float for x in items):
        return complex(*items)
    if tag == "range" and len(items) == 3 and all(type(x) is int for x in items) and items[2]:
        return range(*items)
    if tag == "fraction" and len(items) == 2 and all(type(x) is int for x in items) and items[1]:
        return fractions.Fraction(*items)
    raise NotPlainData(f"unknown tag {tag:.20}")


def _mapping(pairs, kind):
    if type(pairs) is not list or not all(type(p) is list and len(p) == 2 for p in pairs):
        raise NotPlainData("bad mapping node")
    try:
        mapping = {key: item for key, item in pairs}
        return mapping if kind is dict else kind(mapping)
    except TypeError as error:  # an unhashable key
        raise NotPlainData(str(error)) from None


def decode(data: bytes, hook=None):
    """Rebuild a value from ``encode``'s bytes, trusting nothing in them; ``hook(tag, body)``
    builds handle, ref and callback nodes (without it, handles read as ``Opaque``).

    >>> decode(b'{"t": "set", "v": [1, 2]}')
    {1, 2}
    """
    if len(data) > MAX_BYTES:
        raise NotPlainData(f"larger than {MAX_BYTES} bytes")
    try:
        node = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise NotPlainData(f"not valid JSON: {error}"[:200]) from None
    return _build(node, 0, hook)
