r"""Text-level answer forms the math grader refuses or rewrites before math-verify sees them.

math-verify judges *values*: it evaluates ``\binom{8}{4}`` to 70 and ``\sqrt{242}`` to
``11\sqrt{2}``, which is right for checking a finished answer and wrong for a reward, where the
policy learns to box whatever evaluates to the reference (the problem's own expression, say).
These checks read the LaTeX as written and decide what counts as a *finished* answer; the values
stay math-verify's job. The grading policy they implement is written in ``rewards.math_answer``.
"""

from __future__ import annotations

import bisect
import math
import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

# Spacing and sizing that never change a value; removed before any textual comparison.
_SPACING = re.compile(r"\\[,;:! ]|\\(?:left|right|displaystyle)(?![a-zA-Z])|\s+|~")
# Spacing between digit groups of three after one to three digits (``1 000``, ``1\,000``, a
# thin or no-break space, ``~``): a thousands separator, and math mode typesets ``1 000`` as
# 1000 anyway; math-verify would read it as ``1*0`` (0).
_SEPARATOR = r"(?:\\[,!:; ]|\{,\}|[\u2009\u202f\u00a0~]|\s+)"
_GROUPED = re.compile(rf"(?<![\d^_.])\d{{1,3}}(?:{_SEPARATOR}\d{{3}})+(?![\d])")
# Digits still split by spacing once thousands are joined (``2 3``): math-verify adds them (5).
# A one-digit subscript or exponent ends its group (``\log_2 3``, ``x^2 3``).
_SPLIT_DIGITS = re.compile(r"(?<![_^])\d(?:\s|\\[,:; ]|[\u2009\u202f\u00a0~])+\d")
# One comma followed by other than three digits (``1000,99``): a decimal comma, not thousands.
_DECIMAL_COMMA = re.compile(r"([-+]?\d+)(?:,|\{,\})(\d{1,2}|\d{4,})")
_MATH_SPAN = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
_TOP_EQUALS = re.compile(r"(?<![<>!\\])=")
_UNIT_GROUP = re.compile(
    r"\\(?:text\w*|mbox|mathrm|operatorname)\{([^{}]*)\}(?:\^\{?\d\}?)?")
_DEGREE = re.compile(r"\^\{?\\circ\}?|°|\\degree")
_NUMERAL = re.compile(
    r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:(?:\\times|\\cdot)10\^\{[-+]?\d+\}|e[-+]?\d+)?"
    r"|[-+]?\d*\.\d*\\overline\{\d+\}"
    r"|[-+]?(?:\d+)?\\frac\{[-+]?\d+\}\{[-+]?\d+\}|[-+]?\d+/\d+")
_BASE_NUMERAL = re.compile(r"([0-9A-Za-z]+)_\{(\d+)\}")
_CENTS = re.compile(r"(\d+(?:\.\d+)?)\s*(?:\\(?:text|mbox)\{\s*cents?\s*\}|¢|\\textcent|cents?)")
_ROW_OR_COLUMN = re.compile(r"\\begin\{[pb]matrix\}(.*)\\end\{[pb]matrix\}", re.DOTALL)
_FACTORED = re.compile(r"\)\(|\)\^")  # a product or power of brackets
# Brackets in algebra: multiplied, raised, added or subtracted (not a tuple or a label).
_ALGEBRAIC_BRACKETS = re.compile(r"\)\(|\)\^|[\w}]\(|\)[\w\\]|[-+*/]\(|\)[-+*/]")
_RADICAL = re.compile(r"\\sqrt(?:\[(\d{1,3})\])?\{(\d{1,12})\}")

# Operators whose result a finished answer states instead (name, pattern on normalized text).
OPERATORS = {
    "a sum": r"\\sum", "a product": r"\\prod", "an integral": r"\\i+nt|\\oint",
    "a limit": r"\\lim(?![a-zA-Z])", "a binomial coefficient": r"\\binom|\\choose",
    "a floor or ceiling": r"\\[lr](?:floor|ceil)", "a logarithm": r"\\(?:log|ln|lg)(?![a-zA-Z])",
    "a trigonometric function": r"\\(?:arc)?(?:sin|cos|tan|cot|sec|csc)h?(?![a-zA-Z])",
    "a factorial": r"(?<!\\)!(?!=)", "a modulo": r"\\[bp]?mod(?![a-zA-Z])",
    "a gcd or lcm": r"\\gcd|(?:gcd|lcm)\(|\\operatorname\{(?:gcd|lcm)\}",
    "an absolute value": r"\||\\[lr]?vert", "a derivative": r"\\frac\{d\w*\}\{d\w\}|\\partial",
}
_OPERATOR_PATTERNS = {name: re.compile(pattern) for name, pattern in OPERATORS.items()}


def normalize(latex: str) -> str:
    r"""A canonical spelling for textual comparison: no spacing, one spelling per command.

    >>> normalize(r"\left( \dfrac12 \right)^2"), normalize(r"\sqrt2 + x_1")
    ('(\\frac{1}{2})^{2}', '\\sqrt{2}+x_{1}')
    """
    text = _SPACING.sub("", latex.strip().strip("$"))
    text = re.sub(r"\\[dtc]frac", r"\\frac", text).replace("\\dbinom", "\\binom")
    text = text.replace("\\tbinom", "\\binom")
    text = re.sub(r"\\frac(\d)(\d)", r"\\frac{\1}{\2}", text)
    text = re.sub(r"\\frac(\d)\{", r"\\frac{\1}{", text)
    text = re.sub(r"\\frac(\{[^{}]*\})(\d)", r"\\frac\1{\2}", text)
    text = re.sub(r"\\sqrt(\d)", r"\\sqrt{\1}", text)
    text = re.sub(r"([_^])([0-9a-zA-Z])", r"\1{\2}", text)
    ends, depth = _group_ends(text), 0
    while depth < len(text) // 2 and ends.get(depth) == len(text) - 1 - depth:
        depth += 1  # outer braces around the whole answer
    return text[depth:len(text) - depth]


def numeral(latex: str) -> str | None:
    r"""The number an answer writes out (units, currency, ``x =`` and separators dropped), or None.

    A numeral is an integer, decimal, fraction of integers, mixed number, scientific notation or
    repeating decimal; anything else (an operator left to evaluate) is not one.

    >>> numeral(r"\$32,\!348"), numeral(r"x = \frac{3}{4}"), numeral(r"864 \mbox{ inches}^2")
    ('32348', '\\frac{3}{4}', '864')
    >>> numeral(r"99^2 - 1") is None, numeral(r"\sqrt{4}") is None
    (True, True)
    """
    text = normalize(latex)
    text = re.sub(r"\\(?:text\w*|mbox)\{([-+]?[\d.,]+)\}", r"\1", text)
    text = _DEGREE.sub("", _UNIT_GROUP.sub("", text))
    text = re.sub(r"\\?\$|\\?%", "", text)
    text = re.sub(r"^[a-zA-Z](?:_\{\w+\})?=|(?<=[\d}])[a-zA-Z]{2,}(?:\^\{\d\})?$", "", text)
    if text.startswith("(") and text.endswith(")") and "(" not in text[1:]:
        text = text[1:-1]  # one pair of parentheses around a number
    text = re.sub(r"(?<=\d)(?:\{,\}|,)(?=\d{3}(?!\d))", "", text)
    return text if _NUMERAL.fullmatch(text) else None


def base_value(latex: str, default_base: int | None = None) -> int | None:
    r"""The value of a numeral with a base subscript (``1112_4``), or of a bare one in a base.

    >>> base_value("52_8"), base_value("52", 8), base_value("58", 8), base_value("52")
    (42, 42, None, None)
    """
    text = normalize(latex)
    found = _BASE_NUMERAL.fullmatch(text)
    digits, base = (found.group(1), int(found.group(2))) if found else (text, default_base)
    if base is None or not 2 <= base <= 36:
        return None
    try:
        return int(digits, base)
    except ValueError:
        return None


def base_of(latex: str) -> int | None:
    """The base subscript of a numeral such as ``40_9``, or None.

    >>> base_of("40_9"), base_of("4210_{5}"), base_of("x_1")
    (9, 5, None)
    """
    found = _BASE_NUMERAL.fullmatch(normalize(latex))
    return int(found.group(2)) if found and found.group(1).isalnum() and any(
        c.isdigit() for c in found.group(1)) else None


def units(latex: str) -> frozenset[str]:
    r"""The units written after a number (``\text{ cm}``, ``^\circ``), singular and lowercase.

    >>> sorted(units(r"864 \mbox{ inches}^2")), sorted(units(r"30^\circ")), sorted(units("x"))
    (['inch'], ['degree'], [])
    """
    text = normalize(latex)
    if not re.match(r"[-+]?\\?\$?[\d.]", text):
        return frozenset()  # a word answer (\text{Evelyn}) is not a unit
    found = {_singular(word) for group in _UNIT_GROUP.findall(text)
             for word in group.lower().split() if word.isalpha()}
    if _DEGREE.search(text):
        found.add("degree")
    return frozenset(found)


def _singular(word: str) -> str:
    word = {"feet": "foot", "°": "degree"}.get(word, word)
    if word.endswith(("ches", "shes")):
        return word[:-2]
    return word[:-1] if len(word) > 2 and word.endswith("s") and not word.endswith("ss") else word


def operators_left(answer: str, reference: str) -> list[str]:
    r"""Operators the answer still holds but the reference does not.

    Besides named operators: an unsimplified radical, a radical in a denominator, brackets used
    in algebra (multiplied, raised, added; against a reference without brackets), and no
    brackets against a factored reference.

    >>> operators_left(r"\dbinom{8}{4}", "70"), operators_left(r"\sqrt{242}", r"11\sqrt2")
    (['a binomial coefficient'], ['an unsimplified radical'])
    >>> operators_left(r"\frac{\sqrt{2}}{2}", r"\frac{1}{\sqrt{2}}")
    []
    >>> operators_left("(x-3)(x+2)", "x^2-x-6"), operators_left("(x-3)(x+2)", "(x+2)(x-3)")
    (['brackets to expand'], [])
    """
    mine, theirs = normalize(answer), normalize(reference)
    left = [name for name, pattern in _OPERATOR_PATTERNS.items()
            if pattern.search(mine) and not pattern.search(theirs)]
    for name, check in (("an unsimplified radical", _unsimplified_radical),
                        ("a radical in a denominator", _radical_below)):
        if check(mine) and not check(theirs):
            left.append(name)
    if _ALGEBRAIC_BRACKETS.search(_UNIT_GROUP.sub("", mine)) and "," not in mine and not (
            "(" in theirs or "[" in theirs or numeral(answer) is not None):
        left.append("brackets to expand")  # (x+2)(x-3) for x^2-x-6, (-k+4)+(-2+3k) for 2k+2
    prose = re.search(r"[A-Za-z]{4,}", re.sub(r"\\[A-Za-z]+", "", reference))
    if _FACTORED.search(theirs) and "(" not in mine and not prose:  # a worked solution: no form
        left.append("a factored form expanded")  # x^2-x-6 for (x+2)(x-3): the factoring undone
    return left


def _unsimplified_radical(text: str) -> bool:
    """A root of an integer that still holds a perfect power (sqrt 8, cube root of 16)."""
    for index, radicand in _RADICAL.findall(text)[:20]:  # bounded work per answer
        power, value = int(index or 2), int(radicand)
        if value < 10**8 and any(value % base**power == 0
                                 for base in range(2, int(value ** (1 / power)) + 2)):
            return True
    return "\\sqrt{\\frac" in text


def _radical_below(text: str) -> bool:
    """A root in a denominator (an unrationalised fraction)."""
    if re.search(r"/\(?[^()]*\\sqrt", text):
        return True
    roots = [found.start() for found in re.finditer(r"\\sqrt", text)]
    if not roots:
        return False
    ends = _group_ends(text)
    for found in re.finditer(r"\\frac\{", text):
        numerator_end = ends.get(found.end() - 1)
        denominator_end = ends.get(numerator_end + 1) if numerator_end is not None else None
        if denominator_end is not None:  # is a root between the denominator's braces?
            first_after = bisect.bisect_left(roots, numerator_end + 1)
            if first_after < len(roots) and roots[first_after] < denominator_end:
                return True
    return False


def _group_ends(text: str) -> dict[int, int]:
    """For every ``{``, the index of the brace closing it: one pass, however deep the nesting."""
    ends, opened = {}, []
    for position, char in enumerate(text):
        if char == "{":
            opened.append(position)
        elif char == "}" and opened:
            ends[opened.pop()] = position
    return ends


def problem_expressions(problem: str) -> frozenset[str]:
    r"""The normalized math of a problem: each ``$...$`` span and each side of its equations.

    >>> sorted(problem_expressions(r"Simplify $\sqrt{242}$ if $x = 2$."))
    ['2', '\\sqrt{242}', 'x', 'x=2']
    """
    found = set()
    for match in _MATH_SPAN.finditer(problem or ""):
        span = normalize(next(group for group in match.groups() if group is not None))
        found.add(span)
        found.update(side for side in _TOP_EQUALS.split(span) if side)
    return frozenset(found - {""})


def restates_problem(answer: str, reference: str, expressions: frozenset[str]) -> bool:
    r"""True if the answer is one of the problem's own expressions and not the reference's form.

    A plain integer is never a restatement: a number the problem mentions may be the answer;
    a fraction or decimal is (``Write $\frac{3}{20}$ as a decimal`` is not answered by 3/20).

    >>> problem = problem_expressions(r"Rationalize $\frac{1}{\sqrt{2}}$.")
    >>> restates_problem(r"\dfrac{1}{\sqrt 2}", r"\frac{\sqrt2}2", problem)
    True
    >>> restates_problem("12", "12", frozenset({"12"}))
    False
    """
    mine = normalize(answer)
    return mine in expressions and mine != normalize(reference) and not re.fullmatch(
        r"[-+]?\d+", numeral(answer) or "")


def rewrite_answer(answer: str, reference: str) -> str:
    r"""Rewrite right answers that math-verify misreads into a form it reads as meant.

    Thousands separators (a space, a thin space, ``{,}``) are joined; a decimal comma becomes a
    point when the reference is one number (a list is not, so ``1,5`` stays two answers
    against a list); cents become dollars when the reference is in dollars; a one-row or
    one-column matrix becomes a tuple when the reference is not a matrix.

    >>> rewrite_answer(r"1\,000\,000", "1000000"), rewrite_answer(r"75 \text{ cents}", r"\$0.75")
    ('1000000', '\\frac{75}{100}')
    >>> rewrite_answer("1 000", "1000"), rewrite_answer("1000,99", "1000.99")
    ('1000', '1000.99')
    >>> rewrite_answer("1,5", "1.5"), rewrite_answer("1,5", "1, 5"), rewrite_answer("2,500", "2.5")
    ('1.5', '1,5', '2,500')
    >>> rewrite_answer(r"\begin{pmatrix} 2 \\ 4 \end{pmatrix}", "(2, 4)")
    '(2, 4)'
    """
    text = _GROUPED.sub(lambda found: re.sub(_SEPARATOR, "", found.group()), answer.strip())
    comma = _DECIMAL_COMMA.fullmatch(text)
    if comma and numeral(reference) is not None:  # one number: the comma cannot be a list
        return f"{comma.group(1)}.{comma.group(2)}"
    cents = _CENTS.fullmatch(text)
    if cents and ("\\$" in reference or "dollar" in reference.lower()):
        return f"\\frac{{{cents.group(1)}}}{{100}}"
    matrix = _ROW_OR_COLUMN.fullmatch(text)
    if matrix and "\\begin" not in reference:
        body = matrix.group(1)
        cells = body.split("&") if "\\\\" not in body else body.split("\\\\")
        if "&" not in body or "\\\\" not in body:
            return "(" + ", ".join(cell.strip() for cell in cells if cell.strip()) + ")"
    return text


def split_digits(latex: str) -> bool:
    r"""True if spacing splits digits that are not groups of thousands (``2 3``, ``1 23``).

    Math mode typesets ``2 3`` as 23 while math-verify adds the two numbers (5): such a box
    has no one reading, so it is refused rather than graded by whichever reading pays.

    >>> split_digits("2 3"), split_digits(r"1\,000"), split_digits(r"2 \sqrt{3}")
    (True, False, False)
    >>> split_digits(r"\log_2 3"), split_digits("12 3")
    (False, True)
    """
    text = _GROUPED.sub(lambda found: re.sub(_SEPARATOR, "", found.group()), latex)
    return _SPLIT_DIGITS.search(_UNIT_GROUP.sub(" x ", text)) is not None


def writes_non_integers(expressions: str) -> bool:
    r"""True if the problem's math writes a fraction, a division or a decimal.

    Such a problem may ask to convert it (``Express $0.\overline{54}$ as a common fraction``,
    ``Simplify $\frac{84}{144}$``), so a rounded decimal of its value restates it.

    >>> writes_non_integers(r"0.\overline{54}"), writes_non_integers(r"\frac{84}{144}")
    (True, True)
    >>> writes_non_integers("x^2+3x=10"), writes_non_integers("")
    (False, False)
    """
    return re.search(r"\\[dt]?frac|/|\\div|\d?\.\d|\\overline|\\dot", expressions) is not None


def decimal_digits(number: str) -> tuple[Fraction, int, int] | None:
    """The value, decimal places and significant digits of a decimal as printed, or None.

    Trailing zeros are dropped (they state no digit of a non-terminating value).

    >>> decimal_digits("0.0833330"), decimal_digits("-1.25e-3"), decimal_digits("x")
    ((Fraction(83333, 1000000), 6, 5), (Fraction(-1, 800), 5, 3), None)
    """
    try:
        printed = Decimal(number.strip()).normalize()
    except InvalidOperation:
        return None
    if not printed.is_finite():
        return None
    _, digits, exponent = printed.as_tuple()
    return Fraction(printed), -int(exponent), len(digits)


def states_digits(number: str, value: Fraction, at_least: int) -> bool:
    """True if a decimal prints ``value``'s own digits: rounded or cut off at its last digit.

    It needs ``at_least`` significant digits, so a short approximation (0.333 for 1/3) is not
    the value; cutting off is allowed because floats print that way (2/3 as 0.6666666666666666).

    >>> [states_digits(d, Fraction(1, 3), 6) for d in ("0.333333", "0.333", "0.333334")]
    [True, False, False]
    >>> [states_digits(d, Fraction(-2, 3), 6) for d in ("-0.666667", "-0.666666", "0.666667")]
    [True, True, False]
    """
    parsed = decimal_digits(number)
    if parsed is None or value == 0:
        return False
    printed, places, significant = parsed
    if significant < at_least or (printed < 0) != (value < 0):
        return False
    exact = abs(value) * Fraction(10) ** places  # the value in units of the last printed digit
    cut_off, rounded = math.floor(exact), math.floor(exact + Fraction(1, 2))
    return abs(printed) * Fraction(10) ** places in (cut_off, rounded)
