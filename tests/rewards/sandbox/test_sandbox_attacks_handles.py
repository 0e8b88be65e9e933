"""Red-team round 3, part 2: attacks on the remote handles, callbacks and copy-back (issue 20).

Objects of the program now stay in its process and the tests reach them through handles, the
tests' functions reach the program as callbacks, and mutated arguments are copied back. Each
attack below is a program that does NOT solve MBPP 17 (``square_perimeter(a) == 4 * a``) or a
task written here; on both sandbox paths it must fail, next to an honest control that passes.
The rule under attack: no equality, hash, truth value or ``isinstance`` that a verdict rests on
is ever decided by the program's code on the judge's side.
"""

from __future__ import annotations

import pytest
from sandbox_attack_support import PERIMETER, assert_honest_passes, attack, mbpp, reference

from rewards.sandbox import judge

LIAR = r'''
class Liar:
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    def __hash__(self):
        return hash(40)
    def __bool__(self):
        return True
    @property
    def __class__(self):
        return int
    def __index__(self):
        return 40
    def __getattr__(self, name):
        return self
    def __call__(self, *args, **kwargs):
        return self
    def __iter__(self):
        return iter([40, 20, 16])
def square_perimeter(a):
    return Liar()
'''
LIAR_TESTS = {
    "equality": "assert square_perimeter(10) == 40",
    "reflected_equality": "assert 40 == square_perimeter(10)",
    "membership": "assert square_perimeter(10) in [40]",
    "dict_key": "assert {square_perimeter(10): 1} == {40: 1}",
    "set": "assert {square_perimeter(10)} == {40}",
    "isinstance": "assert isinstance(square_perimeter(10), int) and square_perimeter(10) == 40",
    "type": "assert type(square_perimeter(10)) is int",
    "attribute_chain": "assert square_perimeter(10).real == 40",
    "sorted_equality": "assert sorted([square_perimeter(10)]) == [40]",
    "list_equality": "assert [square_perimeter(10)] == [40]",
    "index": "assert [0] * 41 and [i for i in range(41)][square_perimeter(10)] == 40 and "
             "square_perimeter(10) == 40",
}


@pytest.mark.parametrize("kind", sorted(LIAR_TESTS))
def test_objects_that_lie_about_equality_hash_or_type_never_pass(sandbox_path, kind):
    tests = [LIAR_TESTS[kind]]
    assert_honest_passes(reference(PERIMETER), tests, sandbox_path)
    assert attack(LIAR, tests).passed is False


SWALLOWS_ASSERTIONS = r'''
def visit(callback, values):
    for v in values:
        try:
            callback(v)
        except BaseException:
            pass
    return 40
'''
CALLBACK_TEST = ("def check(v):\n    assert v == 4 * 10\nassert visit(check, [40]) == 40\n"
                 "assert visit(check, [1]) == 40")


def test_a_failed_assertion_in_the_tests_callback_is_the_verdict(sandbox_path):
    """The program catches what the tests' callback raised; the judge must not let it."""
    assert_honest_passes("def visit(callback, values):\n    for v in values:\n"
                         "        callback(v)\n    return 40\n",
                         ["def check(v):\n    assert v == 40\nassert visit(check, [40]) == 40"],
                         sandbox_path)
    assert attack(SWALLOWS_ASSERTIONS, [CALLBACK_TEST]).passed is False


# The candidate side of the protocol runs in the program's process: it may rewrite it.
FORGE = r'''
import sys
_candidate = sys.modules["candidate"]
_honest_answer = _candidate._answer
def square_perimeter(a):
    return 0
'''
FORGED_ANSWERS = {
    # a reply claiming the result is the test's first argument (alias), and an argument
    # "copied back" as the expected value: neither can touch anything but the arguments
    "alias_and_copy_back": "_candidate._answer = lambda objects, request, pd: "
                           "pd.encode(('ok', 0, [[0, 40], ['x', [40]]], 0))",
    "handle_numbers": "_candidate._answer = lambda objects, request, pd: "
                      "b'{\"t\": \"tuple\", \"v\": [\"ok\", {\"t\": \"handle\", \"v\": "
                      "[123456, \"int\"]}, [], null]}'",
    "ref_node": "_candidate._answer = lambda objects, request, pd: "
                "b'{\"t\": \"tuple\", \"v\": [\"ok\", {\"t\": \"ref\", \"v\": 0}, [], null]}'",
    "callback_node": "_candidate._answer = lambda objects, request, pd: "
                     "b'{\"t\": \"tuple\", \"v\": [\"ok\", {\"t\": \"callback\", \"v\": 0}, [], "
                     "null]}'",
    "unknown_callback": "_candidate._answer = lambda objects, request, pd: "
                        "pd.encode(('callback', 7, (40,), {}))",
    "stop_iteration_name": "_candidate._answer = lambda objects, request, pd: "
                           "pd.encode(('error', 'StopIteration', '', ['StopIteration']))",
    "assertion_name": "_candidate._answer = lambda objects, request, pd: "
                      "pd.encode(('error', 'Sneaky', '', ['Sneaky', 'AssertionError']))",
}


@pytest.mark.parametrize("kind", sorted(FORGED_ANSWERS))
def test_forged_answers_through_the_new_protocol_never_pass(sandbox_path, kind):
    tests = mbpp(PERIMETER)["test_list"]
    forged = FORGE + FORGED_ANSWERS[kind] + "\n"
    result = attack(forged, tests, stop_at_first_failure=False)
    assert (result.passed, result.passed_count) == (False, 0)


def test_the_forgery_hook_is_live(sandbox_path):
    """Control for the forgeries above: a rewritten ``_answer`` really answers the judge (this
    one computes the right value itself, so it passes)."""
    tests = mbpp(PERIMETER)["test_list"]
    honest_forgery = FORGE + ("_candidate._answer = lambda objects, request, pd: "
                              "pd.encode(('ok', 4 * request[2][0], [], None))\n")
    assert attack(honest_forgery, tests).passed is True


def test_a_stop_iteration_from_a_call_does_not_end_the_tests_loop(sandbox_path):
    """A generator the test iterates may end; a plain call that raises StopIteration must not
    silently end a test's ``all(...)`` over the expected values."""
    program = "def f(x):\n    if x > 1:\n        raise StopIteration\n    return x\n"
    tests = ["assert all(f(x) == x for x in [0, 1, 2, 3])"]
    assert judge(program, tests).status != "ok"


def test_exception_classes_named_like_the_judges_verdicts_are_not_the_verdict(sandbox_path):
    program = ("class AssertionError(Exception):\n    pass\nclass Done(StopIteration):\n"
               "    pass\ndef f(x):\n    raise AssertionError('x') if x else Done()\n")
    tests = ["try:\n    f(1)\nexcept AssertionError:\n    pass\nassert False",
             "assert all(f(0) == 1 for _ in range(3))"]
    outcome = judge(program, tests, stop_at_first_failure=False)
    assert [kind for kind, _ in outcome.verdicts] == ["crash", "crash"], outcome


def test_copy_back_only_touches_the_tests_mutable_arguments(sandbox_path):
    """The program cannot turn a tuple argument or a string into something else, and a list
    comes back only as a list."""
    program = "def f(xs, t, s):\n    xs.append(1)\n    return 0\n"
    tests = ["xs, t, s = [], (1,), 'a'\nf(xs, t, s)\nassert (xs, t, s) == ([1], (1,), 'a')"]
    assert judge(program, tests).status == "ok"
    forged = FORGE + ("_candidate._answer = lambda objects, request, pd: "
                      "pd.encode(('ok', 0, [[0, (40,)], [1, [40]], [2, [40]]], None))\n")
    wrong = ["xs, t, s = [], (1,), 'a'\nsquare_perimeter(xs, t, s)\n"
             "assert xs == (40,) or t == [40] or s == [40]"]
    assert judge(forged, wrong).status != "ok"


MODULE_NAMED = {
    "class": "class math:\n    isclose = staticmethod(lambda *a, **k: True)\n",
    "function_attribute": "def math():\n    pass\nmath.isclose = lambda *a, **k: True\n",
    "instance": "class _M:\n    def isclose(self, *a, **k):\n        return True\nmath = _M()\n",
}


@pytest.mark.parametrize("kind", sorted(MODULE_NAMED))
def test_a_program_name_used_as_a_module_is_the_real_module(sandbox_path, kind):
    """MBPP 82's tests call ``math.isclose`` without importing math: a program's ``math`` with
    a lying ``isclose`` (reachable now that handles have attributes) must not decide them."""
    row = mbpp(82)
    assert_honest_passes(reference(82), row["test_list"], sandbox_path)
    forged = MODULE_NAMED[kind] + "def volume_sphere(r):\n    return 0\n"
    assert attack(forged, row["test_list"]).passed is False


def test_functions_named_like_modules_are_still_the_programs(sandbox_path):
    program = ("def copy(xs):\n    return list(xs)\ndef random():\n    return 4\n"
               "def string(n):\n    return str(n)\n")
    tests = ["assert copy((1, 2)) == [1, 2]", "assert random() == 4",
             "assert string(5) == '5'"]
    assert judge(program, tests, stop_at_first_failure=False).status == "ok"


SIGNAL_THE_JUDGE = r'''
import os, signal
def square_perimeter(a):
    try:
        os.kill(os.getppid(), signal.SIGNUM)
    except OSError:
        pass
    return 0
'''


@pytest.mark.parametrize("signum", ["SIGINT", "SIGTERM", "SIGKILL", "SIGSTOP", "SIGUSR1"])
def test_signalling_the_judge_never_passes(sandbox_path, signum):
    """In the user mode the program and the judge share a uid, so the program may signal its
    parent, the judge: that may end the run, never pass it (SIGSTOP runs into the deadline)."""
    tests = mbpp(PERIMETER)["test_list"]
    program = SIGNAL_THE_JUDGE.replace("SIGNUM", signum)
    result = attack(program, tests, stop_at_first_failure=False)
    assert (result.passed, result.passed_count) == (False, 0)
