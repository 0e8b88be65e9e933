r"""Math correctness: is the last ``\boxed{}`` a finished answer equal to the reference?

Equivalence of values is math-verify's job (symbolic and numeric comparison of LaTeX); this module
decides *what* to compare, as the Magistral paper does (the last boxed expression after
``</think>``), and *what counts as an answer*, because a policy optimises against the grader and
math-verify, built to check finished answers, happily evaluates anything that reaches the value.

Grading policy (each rule has a test in tests/rewards/test_math_policy.py; measurements in
docs/benchmarks.md):

1. The answer is the last ``\boxed{}`` after the first ``</think>``; every box is read together
   only when the reference lists several answers (rule 3 applies to them together).
2. No credit for restating: an answer that is one of the problem's own expressions (a ``$...$``
   span of the problem text, or a side of an equation in it) fails unless the reference is
   written the same way; a plain number is never a restatement.
3. No credit for an operator left to evaluate: a sum, product, integral, limit, binomial,
   floor/ceiling, logarithm, trigonometric function, factorial, modulo, gcd/lcm, absolute value,
   derivative, an unsimplified radical (``\sqrt{8}``), a radical in a denominator, or brackets
   used in algebra (``(x+2)(x-3)``, ``(-k+4)+(-2+3k)``; not tuples) fails unless the
   reference holds the same kind; against a factored reference (``(x+2)(x-3)``), an answer
   without brackets fails. Against a reference that is a plain number, the
   answer must be a plain number too (integer, decimal, fraction, mixed number, scientific
   notation, repeating decimal; ``99^2-1`` does not count as 9800).
4. Numbers: integers and rationals compare exactly (big integers included). A decimal answer to
   an exact reference earns credit when it is exactly that value (0.5 for 1/2), or, for a
   rational reference, when it prints at least ``MIN_DIGITS`` significant digits of it, rounded
   or cut off at its last digit (0.0833333 for 1/12; not 0.333 for 1/3, 0.333334 for 1/3 or
   3.14159265 for pi) and the problem's math writes no fraction, division or decimal (which a
   decimal would merely evaluate: ``Express $0.\overline{54}$ as a common fraction``). A decimal
   reference is matched within ``REL_TOL`` relative to it, and ``ABS_TOL`` absolute only near
   zero (the larger of the two). The same rules apply to each entry of a tuple, an interval or
   a matrix.
5. Equations: against a reference that is not an equation, ``x = 4`` earns credit only when its
   left side is a variable the problem names (or no problem text is given); otherwise every side
   must equal the reference, so a false equation (``5 = 4``) fails. Equation references are
   compared by math-verify as equations.
6. Bases: a reference with a base subscript (``52_8``) is matched by the same number written
   in that base (``52`` or ``52_8``; ``52_9`` and ``42_{10}`` fail); against a reference without
   one, a subscripted answer counts by its value (``52_8`` for 42).
7. Units: when answer and reference both name units (``\text{cm}``, ``^\circ``), they must be the
   same (plurals folded); a bare number is accepted for a reference with a unit. Percent: ``25\%``
   and 25 are the same answer (MATH writes percents both ways), and 0.25 equals ``25\%``.
   Cents are converted when the reference is in dollars.
8. Points and intervals: a set or interval answer fails against a reference that is a point
   (a number or an expression); a solved chain of inequalities in the variable (``-2 \le x \le
   7``; the variable alone against numbers) is the interval it describes; a one-row or
   one-column matrix is read as a tuple when the reference is not a matrix.
9. Spelling of numbers: spaces or thin spaces between groups of three digits (``1 000``,
   ``1\,000``) are thousands separators; other digits split by spacing (``2 3``, which
   math-verify adds up) are refused; a comma followed by other than three digits (``1000,99``)
   is a decimal comma against a reference that is one number; a bare reference ``1,22`` is a
   list of two answers (MATH writes lists that way), and ``1,500`` is 1500.

Verification runs in worker processes with hard deadlines (see ``worker_pool``), because
math-verify's own timeout relies on ``signal.alarm`` and silently switches off when a trainer
calls rewards from a thread. Identical (answer, reference, problem) triples in a batch, common in
a GRPO group, are verified once. The workers run ``verify_pair``.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Sequence
from fractions import Fraction

from rewards import math_forms
from rewards.format import THINK_CLOSE, boxed_spans, last_boxed
from rewards.worker_pool import HardTimeoutPool

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 5.0
# The one place float tolerance is defined: relative to a decimal reference, absolute near zero.
REL_TOL = 1e-6
ABS_TOL = 1e-12
# A decimal for an exact rational reference must print at least this many of its digits.
MIN_DIGITS = 6
UNPARSEABLE_REFERENCE = "unparseable reference"
_INNER_TIMEOUT_S = 2  # math-verify's own (signal) timeout, which works on the worker's main thread
_pool: HardTimeoutPool | None = None


def answer_part(completion: str) -> str:
    r"""Return the text after the first ``</think>`` (the whole completion without one).

    The first ``</think>`` closes the think block, as in the format gate; whatever follows,
    another ``</think>`` included, is the answer.

    >>> answer_part("<think>maybe 3</think> so \\boxed{4} (not </think>)")
    ' so \\boxed{4} (not </think>)'
    """
    return completion.partition(THINK_CLOSE)[2] if THINK_CLOSE in completion else completion


def extract_answer(completion: str) -> str | None:
    r"""Return the content of the last ``\boxed{}`` in the answer part, or None.

    >>> extract_answer("<think>\\boxed{3}</think> \\boxed{\\frac{1}{2}} and \\boxed{4}")
    '4'
    """
    if not isinstance(completion, str):
        return None
    return last_boxed(answer_part(completion))


def _task(completion: object) -> tuple[str, str] | None:
    """(last box, every box) of a completion's answer part; None without a non-empty box."""
    if not isinstance(completion, str):
        return None
    spans = boxed_spans(answer_part(completion))
    if not spans or not spans[-1][2].strip():
        return None
    outer, reach = [], -1
    for start, end, content in spans:  # by start: a box inside the previous outer one is nested
        if start > reach:
            outer.append(content)
            reach = end
    return spans[-1][2], " ".join(f"\\boxed{{{content}}}" for content in outer)


def check_many(completions: Sequence[str], references: Sequence[str],
               timeout_s: float = DEFAULT_TIMEOUT_S,
               problems: Sequence[str] | None = None) -> list[bool | None]:
    r"""Grade many completions at once: True/False, or None when the reference cannot be parsed.

    ``problems`` (the problem text of each row) lets the grader refuse an answer that restates
    the problem's own expression; without it that one rule is skipped.

    >>> check_many(["\\boxed{0.5}", "\\boxed{2}", "\\boxed{}"], ["\\frac{1}{2}", "3", "3"])
    [True, False, False]
    >>> check_many(["\\boxed{\\sqrt{8}}"], ["2\\sqrt{2}"], problems=["Simplify $\\sqrt{8}$."])
    [False]
    """
    tasks = [_task(completion) for completion in completions]
    texts = problems if problems is not None else [""] * len(tasks)
    keys = [(*t, str(r), _problem_key(str(p or ""))) if t else None
            for t, r, p in zip(tasks, references, texts, strict=True)]
    unique = sorted({key for key in keys if key})
    verdicts = dict(zip(unique, _get_pool().map(unique, timeout_s), strict=True))
    results: list[bool | None] = []
    for key, reference in zip(keys, references, strict=True):
        verdict = verdicts[key] if key else False
        if verdict == UNPARSEABLE_REFERENCE:
            log.warning("reference %.80r cannot be parsed; answer not scored", reference)
            results.append(None)
        else:  # None here means the worker ran out of time or crashed: that scores 0
            results.append(verdict is True)
    return results


@functools.lru_cache(maxsize=1024)
def _problem_key(problem: str) -> str:
    """The problem's normalized expressions, one a line: all the worker needs of the problem."""
    return "\n".join(sorted(math_forms.problem_expressions(problem)))


def is_correct(completion: str, reference: str) -> bool:
    """True if the last boxed answer of ``completion`` is equivalent to ``reference``.

    >>> is_correct("<think>half</think> The answer is \\\\boxed{\\\\frac{2}{4}}.", "0.5")
    True
    """
    return bool(check_many([completion], [reference])[0])


def _get_pool() -> HardTimeoutPool:
    global _pool
    if _pool is None:
        _pool = HardTimeoutPool(verify_pair, initializer=_start_worker)
    return _pool


def _start_worker() -> None:
    """Worker set-up: import math-verify before the first task, so startup costs no task time."""
    logging.disable(logging.CRITICAL)  # math-verify logs parse failures; the parent decides
    import math_verify  # noqa: F401


# A reference holding any of these is already marked-up text (a boxed answer, a worked
# solution, a formula in delimiters): math-verify parses it as given, as it parses any gold.
# An escaped dollar (``\$18.90``) is a currency sign, not a delimiter.
_MARKUP = re.compile(r"\\boxed|\\fbox|(?<!\\)\$|\\\(|\\\[")


def reference_candidates(reference: str) -> list[str]:
    r"""The texts to hand math-verify for one reference, most faithful reading first.

    A bare reference (MATH-style ``\frac{1}{2}``, GSM8K-style ``1,000``) is read as if boxed,
    because math-verify only finds bare LaTeX inside a box or delimiters, and its plain-text
    fallback would read ``3\sqrt{13}`` as ``3``; the raw text is the last resort.

    >>> reference_candidates("\\frac{1}{2}")
    ['\\boxed{\\frac{1}{2}}', '\\frac{1}{2}']
    >>> reference_candidates("So $x = \\boxed{3}$.")
    ['So $x = \\boxed{3}$.']
    >>> reference_candidates("\\$18.90")
    ['\\boxed{\\$18.90}', '\\$18.90']
    """
    text = reference.strip()
    if not text:
        return []
    if _MARKUP.search(text):
        return [text]
    boxed = f"\\boxed{{{text}}}"
    # Unbalanced braces would let the box close early and grade a fragment of the reference.
    return [boxed, text] if last_boxed(boxed) == text else [text]


@functools.lru_cache(maxsize=4096)
def _parse_reference(reference: str) -> list:
    """math-verify's parse of a reference; [] when it finds nothing at all."""
    from math_verify import parse

    readings = [parse(text, parsing_timeout=_INNER_TIMEOUT_S)
                for text in reference_candidates(reference)]
    # Prefer a reading with a mathematical object; a text-only one (math-verify compares it as
    # a string, as it does for gold it cannot convert) beats nothing.
    return next((r for r in readings if any(not isinstance(x, str) for x in r)),
                next((r for r in readings if r), []))


def _is_answer_set(parsed: list) -> bool:
    """True for a reference that lists several answers (math-verify reads those as a set)."""
    from sympy import FiniteSet

    return bool(parsed) and isinstance(parsed[0], FiniteSet) and len(parsed[0]) > 1


def _reference_answer(reference: str) -> str:
    """The reference's answer as LaTeX: its last box, its one math span, or the text itself."""
    boxed = last_boxed(reference)
    if boxed is not None:
        return boxed
    spans = [m for m in re.finditer(r"\$+([^$]+)\$+", reference)]
    return spans[-1].group(1) if spans and len(spans) == 1 else reference


def refusal(answer: str, reference: str, expressions: frozenset[str]) -> str | None:
    r"""Why ``answer`` is not a finished answer to ``reference`` (policy rules 2, 3, 7, 9), or None.

    >>> refusal(r"\dbinom{8}{4}", "70", frozenset()), refusal("70", "70", frozenset())
    ('still holds a binomial coefficient', None)
    >>> refusal(r"5\text{ m}", r"5\text{ cm}", frozenset())
    'a different unit'
    """
    if math_forms.restates_problem(answer, reference, expressions):
        return "restates the problem"
    left = math_forms.operators_left(answer, reference)
    if left:
        return f"still holds {left[0]}"
    if math_forms.numeral(reference) is not None and math_forms.numeral(answer) is None:
        return "not a number"
    if math_forms.split_digits(answer) and not math_forms.split_digits(reference):
        return "digits split by spacing"
    mine, theirs = math_forms.units(answer), math_forms.units(reference)
    if mine and theirs and mine != theirs:
        return "a different unit"
    return None


def _base_verdict(answer: str, reference: str) -> bool | None:
    """Policy rule 6: a verdict by value when either side carries a base subscript."""
    base = math_forms.base_of(reference)
    if base is not None:  # the answer must be written in the reference's base
        return math_forms.base_of(answer) in (None, base) and math_forms.base_value(
            answer, base) == math_forms.base_value(reference)
    if math_forms.base_of(answer) is not None:
        number = math_forms.numeral(reference)
        return (number is not None and number.isdigit() and len(number) < 1000
                and int(number) == math_forms.base_value(answer))
    return None


def verify_pair(task: Sequence[str]) -> bool | str:
    """Worker side: compare one completion's boxed answer with one reference.

    The answer is the last box, as in the Magistral paper; only against a reference that lists
    several answers are all boxes read together (``\\boxed{1}, \\boxed{2}``), as math-verify
    reads them. Exactly one reading per pair, so a completion cannot hedge between two.
    """
    last, every, reference, problem = task
    gold = _parse_reference(reference)
    if not gold:
        return UNPARSEABLE_REFERENCE
    if _is_answer_set(gold):
        if math_forms.operators_left(every, reference):
            return False
        return _judge(gold, _parse_answer(every), "")
    expected, expressions = _reference_answer(reference), frozenset(problem.splitlines())
    if math_forms.restates_problem(last, expected, expressions):
        return False
    by_base = _base_verdict(last, expected)
    if by_base is not None:
        return by_base
    answer = math_forms.rewrite_answer(last, expected)
    if refusal(answer, expected, expressions):
        return False
    return _judge(gold, _parse_answer(f"\\boxed{{{answer}}}"), problem)


def _parse_answer(text: str) -> list:
    from math_verify import LatexExtractionConfig, parse

    return parse(text, extraction_config=[LatexExtractionConfig(boxed_match_priority=0)],
                 parsing_timeout=_INNER_TIMEOUT_S)


def _judge(gold: list, predicted: list, problem: str) -> bool:
    """Policy rules 4, 5 and 8 on math-verify's parses, then math-verify's own verdict."""
    from math_verify import verify
    from sympy import Basic, Expr, Set

    if not predicted:
        return False
    reference, answer = gold[0], predicted[0]
    digits = not math_forms.writes_non_integers(problem)  # rule 4's printed digits: see there
    by_entries = _entries_verdict(reference, answer, digits)
    if by_entries is not None:
        return by_entries
    if isinstance(reference, Basic) and isinstance(answer, Basic):
        solved = _inequality_set(answer, reference, problem)
        if solved is not None:
            return bool(verify(gold, [solved], timeout_seconds=_INNER_TIMEOUT_S))
        if _is_relation(answer) and not _is_relation(reference):
            return _equation_holds(gold, answer, problem)
        if isinstance(answer, Set) and isinstance(reference, Expr):
            return False  # an interval or a set is not a point
        by_number = _number_verdict(reference, answer, digits)
        if by_number is not None:
            return by_number
    return bool(verify(gold, predicted, timeout_seconds=_INNER_TIMEOUT_S))


def _inequality_set(answer: object, reference: object, problem: str) -> object | None:
    """Rule 8: a solved chain of inequalities (``-2 \\le x \\le 7``) as the set it describes.

    Only against a set reference (``[-2, 7]`` or ``x \\in [-2, 7]``), only in the variable the
    reference or the problem names, and only with that variable alone against numbers: an
    unsolved inequality (``x^2 < 9``) is the question, which math-verify would solve.
    """
    from sympy import And, Eq, Intersection, Set, Symbol
    from sympy.core.relational import Relational

    if isinstance(reference, Eq) and isinstance(reference.rhs, Set):
        variable = reference.lhs  # x \in [-2, 7]
    elif isinstance(reference, Set):
        variable = None
    else:
        return None
    relations = list(answer.args) if isinstance(answer, And) else [answer]
    if not all(isinstance(r, Relational) and r.rel_op in ("<", "<=", ">", ">=") and (
            isinstance(r.lhs, Symbol) and r.rhs.is_number
            or isinstance(r.rhs, Symbol) and r.lhs.is_number) for r in relations):
        return None
    symbols = answer.free_symbols
    symbol = next(iter(symbols)) if len(symbols) == 1 else None
    if symbol is None or variable not in (None, symbol) or not _named_in(symbol, problem):
        return None
    return Intersection(*(r.as_set() for r in relations))


def _is_relation(value: object) -> bool:
    from sympy import And
    from sympy.core.relational import Relational

    return isinstance(value, Relational) or (
        isinstance(value, And) and all(isinstance(a, Relational) for a in value.args))


def _equation_holds(gold: list, answer: object, problem: str) -> bool:
    """Policy rule 5: ``x = 4`` names the asked variable; any other equation must be true."""
    from math_verify import verify
    from sympy import And, Eq, Symbol, Tuple
    from sympy.core.function import AppliedUndef

    relations = list(answer.args) if isinstance(answer, And) else [answer]
    if not all(isinstance(r, Eq) for r in relations):  # inequalities: math-verify's set rules
        return bool(verify(gold, [answer], timeout_seconds=_INNER_TIMEOUT_S))
    sides = [relations[0].lhs] + [r.rhs for r in relations]
    names = sides[0].args if isinstance(sides[0], Tuple) else [sides[0]]  # (x, y) = (5, 8)
    if all(isinstance(n, (Symbol, AppliedUndef)) and _named_in(n, problem) for n in names):
        sides = sides[1:]
    return all(verify(gold, [side], timeout_seconds=_INNER_TIMEOUT_S) for side in sides)


def _named_in(variable: object, problem: str) -> bool:
    """True without a problem text, else if the variable's letter appears in its math."""
    if not problem:
        return True
    name = getattr(variable, "name", None) or type(variable).__name__  # f for f(2)
    name = name.split("_")[0]
    return re.search(rf"(?<![A-Za-z\\]){re.escape(name)}(?![A-Za-z])", problem) is not None


def _number_verdict(reference: object, answer: object, digits: bool = True) -> bool | None:
    """Policy rule 4 for two numbers of which at least one is a decimal; None: not that case.

    ``digits`` allows a decimal that prints at least ``MIN_DIGITS`` of an exact rational
    reference's own digits (0.0833333 for 1/12): it cannot be written without the value. Only
    rationals: for pi or a radical the exact form is the task, and a decimal of the problem's
    own expression reaches it without doing that task.
    """
    from sympy import Expr, Float, N, Rational

    if not (isinstance(reference, Expr) and isinstance(answer, Expr) and reference.is_number
            and answer.is_number):
        return None
    if not reference.atoms(Float) and not answer.atoms(Float):
        return None  # exact against exact: math-verify compares them exactly
    try:
        if not reference.atoms(Float):  # the decimal must be exactly the reference
            exact = answer.xreplace({f: Rational(str(f)) for f in answer.atoms(Float)})
            difference = (exact - reference).doit()
            zero = difference.is_zero
            if zero if zero is not None else abs(N(difference, 60)) < 1e-50:
                return True
            return digits and isinstance(answer, Float) and reference.is_Rational and (
                math_forms.states_digits(str(answer), Fraction(int(reference.p),
                                                                int(reference.q)), MIN_DIGITS))
        gap = abs(N(answer - reference, 30))
        return bool(gap <= max(REL_TOL * abs(N(reference, 30)), ABS_TOL))
    except (TypeError, ValueError, ArithmeticError):
        return False


def _entries_verdict(reference: object, answer: object, digits: bool) -> bool | None:
    """Policy rule 4 entry by entry in tuples, intervals and matrices holding a decimal.

    math-verify rounds entries to 6 places, which accepts 0.0000001 for 0.0000002 and 0.333333
    for 1/3 inside a tuple but not at the top level; the same rule applies at every depth.
    None: not two containers of one shape with a decimal, left to math-verify.
    """
    from math_verify import verify
    from sympy import Float

    pairs = _entry_pairs(reference, answer)
    if pairs is None or not any(r.atoms(Float) or a.atoms(Float) for r, a in pairs):
        return None
    for expected, given in pairs:
        verdict = _number_verdict(expected, given, digits)
        if verdict is None:  # exact entries, or not numbers: math-verify's comparison
            verdict = bool(verify([expected], [given], timeout_seconds=_INNER_TIMEOUT_S))
        if not verdict:
            return False
    return True


def _entry_pairs(reference: object, answer: object) -> list | None:
    """(reference, answer) entries of two tuples, intervals or matrices of one shape, or None."""
    from sympy import Interval, MatrixBase, Tuple

    def entries(value: object) -> tuple[str, object, list] | None:
        if isinstance(value, Interval):  # (a, b) reads as an open interval or a pair
            return "pair", (value.left_open, value.right_open), [value.start, value.end]
        if isinstance(value, Tuple):
            kind = ("pair", (True, True)) if len(value) == 2 else ("tuple", len(value))
            return *kind, list(value.args)
        if isinstance(value, MatrixBase):
            return "matrix", value.shape, list(value)
        return None

    expected, given = entries(reference), entries(answer)
    if expected is None or given is None or expected[:2] != given[:2]:
        return None
    return list(zip(expected[2], given[2], strict=True))
