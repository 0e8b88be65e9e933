"""The judge: assertion tests run outside the program's process, with plain data crossing."""

import collections
import decimal
import fractions

import pytest

from rewards.sandbox import judge, plaindata
from rewards.sandbox.plaindata import NotPlainData, Opaque, decode, encode


def _kinds(code: str, tests: list[str], **kwargs) -> list[str]:
    outcome = judge(code, tests, stop_at_first_failure=False, **kwargs)
    return [kind for kind, _ in outcome.verdicts]


@pytest.mark.parametrize("value", [None, True, 0, -(10**40), 2.5, float("inf"), 1 + 2j, "é",
                                   b"\x00\xff", [1, [2]], (1, (2,)), {1: "a", (2, 3): [4]},
                                   {1, 2}, frozenset({"x"}), {}, ()])
def test_plain_values_round_trip_with_their_types(value):
    back = decode(encode(value))
    assert back == value and type(back) is type(value)


def test_non_plain_values_cross_as_built_ins_or_opaque_stand_ins():
    class Liar(int):
        def __eq__(self, other):
            return True
    assert type(decode(encode(Liar(3)))) is int and decode(encode(Liar(3))) != 4
    stand_in = decode(encode(object()))
    assert isinstance(stand_in, Opaque) and stand_in != stand_in.__class__("object")


Point = collections.namedtuple("Point", "x y")


@pytest.mark.parametrize("value", [
    Point(1, 2), fractions.Fraction(3, 7), decimal.Decimal("1.10"), collections.deque([1, 2], 5),
    collections.Counter({"a": 0, "b": 2}), collections.OrderedDict([(2, "b"), (1, "a")]),
    collections.defaultdict(list, {1: [2]}), bytearray(b"ab"), 10 ** 5000, -(7 ** 9000),
    range(1, 10, 2), frozenset({1, 2}), complex(1, -2)], ids=lambda value: type(value).__name__)
def test_richer_plain_data_round_trips_exactly(value):
    back = decode(encode(value))
    assert back == value and type(back).__name__ == type(value).__name__
    if type(value) is not int:  # ints over 4300 digits have no repr
        assert repr(back) == repr(value)  # order (OrderedDict), zero counts, maxlen, fields kept
    if isinstance(value, tuple):
        assert back.x == 1 and back._fields == ("x", "y")


@pytest.mark.parametrize("data", [b"not json", b'{"t": "function", "v": []}', b'{"t": "set"}',
                                  b'{"t": "set", "v": [[1]]}', b"[" * 100 + b"]" * 100,
                                  b'{"t": "dict", "v": [[[1], 2]]}',
                                  b" " * (plaindata.MAX_BYTES + 1)])
def test_the_reader_refuses_anything_else(data):
    with pytest.raises(NotPlainData):
        decode(data)


def test_verdicts_per_test_and_exceptions_as_the_judges_own(sandbox_path):
    code = "def f(x):\n    if x < 0:\n        raise ValueError('neg')\n    return x * 2"
    tests = ["assert f(2) == 4", "assert f(3) == 7", "assert f(-1) == 0",
             "try:\n    f(-1)\nexcept ValueError:\n    pass\nelse:\n    assert False"]
    assert _kinds(code, tests) == ["ok", "wrong_answer", "crash", "ok"]


def test_objects_the_program_returns_never_compare_equal(sandbox_path):
    always_equal = ("class Any:\n    def __eq__(self, other):\n        return True\n"
                    "    __hash__ = object.__hash__\ndef f():\n    return Any()")
    assert _kinds(always_equal, ["assert f() == 3", "assert f() != 3", "assert f()"]) == [
        "wrong_answer", "ok", "ok"]


def test_a_test_gets_the_real_built_in_unless_the_shadowing_name_is_the_only_one(sandbox_path):
    forged_set = "def g(x):\n    return ()\nset = lambda *a: 0"
    assert _kinds(forged_set, ["assert set(g((1, 2))) == set((1, 2))"]) == ["wrong_answer"]
    entry_named_sum = "def sum(a, b):\n    return a + b"
    assert _kinds(entry_named_sum, ["assert sum(2, 3) == 5", "assert sum(2, 3) == 6"]) == [
        "ok", "wrong_answer"]


def test_a_call_that_does_not_return_ends_the_run_within_the_budget(sandbox_path):
    code = "def f(n):\n    while n:\n        pass\n    return 0"
    assert _kinds(code, ["assert f(0) == 0", "assert f(1) == 0", "assert f(0) == 0"],
                  test_timeout_s=1) == ["ok", "timeout"]


def test_the_tests_functions_passed_as_arguments_run_in_the_judge(sandbox_path):
    code = "def apply(fn, x):\n    return fn(x)"
    assert _kinds(code, ["assert apply(lambda v: v + 1, 1) == 2",
                         "assert apply(lambda v: v + 1, 1) == 3"]) == ["ok", "wrong_answer"]


def test_modules_the_program_imported_are_the_judges_own(sandbox_path):
    code = "import math\nmath.isclose = lambda *a, **k: True\ndef f():\n    return 1.0"
    assert _kinds(code, ["assert math.isclose(f(), 2.0)"]) == ["wrong_answer"]
