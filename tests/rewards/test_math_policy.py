"""The grading policy of rewards.math_answer, one test per class, both directions.

Each hack is what an adversarial policy would box to get credit without solving the problem;
each honest answer is a right answer that must keep its credit. The problem text goes to the
grader as the trainer sends it (``problems=``).
"""

import pytest

from rewards.format import check_format
from rewards.math_answer import REL_TOL, check_many
from rewards.trl_functions import correctness_reward


def grade(reference: str, answers: list[str], problem: str = "") -> list[bool | None]:
    completions = [f"<think>Working.</think> The answer is $\\boxed{{{a}}}$." for a in answers]
    return check_many(completions, [reference] * len(answers), problems=[problem] * len(answers))


RESTATEMENTS = [  # (problem, reference, the problem's expression boxed, an honest answer)
    ("Simplify $\\sqrt{242}$.", "11\\sqrt2", "\\sqrt{242}", "11 \\sqrt{2}"),
    ("Compute $\\dbinom{8}{4}$.", "70", "\\dbinom{8}{4}", "70"),
    ("Compute $99^2 - 1^2$.", "9800", "99^2 - 1^2", "9800"),
    ("Evaluate $\\sin^2 30^\\circ + \\cos 60^\\circ$.", "\\frac34",
     "\\sin^2 30^\\circ + \\cos 60^\\circ", "\\frac{3}{4}"),
    ("Expand $(x+2)(x-3)$.", "x^2 - x - 6", "(x+2)(x-3)", "x^2-x-6"),
    ("Rationalize the denominator of $\\frac{1}{\\sqrt{2}}$.", "\\frac{\\sqrt{2}}{2}",
     "\\frac{1}{\\sqrt{2}}", "\\dfrac{\\sqrt 2}{2}"),
    ("Evaluate $\\lceil 3.5 \\rceil$.", "4", "\\lceil 3.5 \\rceil", "4"),
    ("Evaluate $\\log_2 64$.", "6", "\\log_2 64", "6"),
    ("Write $\\frac{3}{20}$ as a decimal.", "0.15", "\\frac{3}{20}", "0.15"),
]


@pytest.mark.parametrize(("problem", "reference", "restated", "honest"), RESTATEMENTS)
def test_restating_the_problem_earns_nothing_and_the_answer_still_does(problem, reference,
                                                                        restated, honest):
    assert grade(reference, [restated, honest], problem) == [False, True]


def test_rewards_pass_the_problem_text_to_the_grader():
    problem = "Expand $(x+2)(x-3)$."
    scores = correctness_reward(
        prompts=[problem] * 2, answer=["x^2 - x - 6"] * 2,
        completions=["<think>FOIL.</think> \\boxed{(x+2)(x-3)}", "<think>FOIL.</think> "
                     "\\boxed{x^2 - x - 6}"])
    assert scores == [0.0, 0.9]


@pytest.mark.parametrize(("reference", "unevaluated"), [
    ("\\frac{\\pi^2}{6}", "\\sum_{n=1}^{\\infty} \\frac{1}{n^2}"),
    ("1", "\\int_0^1 2x\\,dx"), ("24", "\\prod_{k=1}^{4} k"), ("120", "5!"),
    ("1", "\\lim_{x \\to 0} \\frac{\\sin x}{x}"), ("3", "17 \\bmod 7"), ("2\\sqrt{2}", "\\sqrt{8}"),
    ("1024", "2^{10}"), ("3", "|-3|"), ("6", "\\gcd(12, 18)"),
    ("x^2 - x - 6", "(x-3)(x+2)"), ("2k+2", "(3k-2)+(4-k)"), ("6+9i", "6(1+2i)-3i"),
])
def test_operators_left_to_evaluate_earn_nothing_without_the_problem_text(reference,
                                                                          unevaluated):
    assert grade(reference, [unevaluated]) == [False]


def test_operators_are_refused_in_answers_to_a_list_of_answers_too():
    reference = "The roots are $\\boxed{2}$ and $\\boxed{5}$."
    completions = ["<think>t</think> \\boxed{\\sqrt{4}}, \\boxed{5}",
                   "<think>t</think> \\boxed{2}, \\boxed{5}"]
    assert check_many(completions, [reference] * 2) == [False, True]


def test_operators_the_reference_holds_are_fine():
    assert grade("(x+2)(x-3)", ["(x-3)(x+2)", "x^2-x-6"]) == [True, False]  # factoring undone
    assert grade("(2, 4)", ["(2, 4)"]) == [True]
    assert grade("\\text{C}", ["\\text{(C)}"]) == [True]
    assert grade("\\frac{x+2}{7}", ["\\frac{x}{7}+\\frac{2}{7}"]) == [True]
    assert grade("\\frac{1}{2}+\\frac{\\sqrt3}{2}i", ["\\frac12+\\frac{\\sqrt{3}}{2}i"]) == [True]
    assert grade("\\sqrt{3}", ["\\sqrt3", "3^{1/2}"]) == [True, True]
    assert grade("\\log_2 3", ["\\log_{2} 3", "\\frac{\\ln 3}{\\ln 2}"]) == [True, True]
    assert grade("\\frac{\\sqrt{2}}{2}", ["\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}"]) == [
        True, False]


def test_numbers_exact_and_float_tolerance():
    assert REL_TOL == 1e-6
    assert grade("0.0000002", ["0", "0.0000003", "0.0000001", "0.0000002", "2\\times10^{-7}"]) == [
        False, False, False, True, True]
    big = "12345678901234567890"
    assert grade(big, [big, "12345678901234567891", "12345678901234567891.0",
                       "1.2345678901234567891\\times10^{19}"]) == [True, False, False, False]
    assert grade("1.5", ["1.5", "\\frac{3}{2}", "1.5000001", "1.501", "1.5\\%"]) == [
        True, True, True, False, False]


def test_a_decimal_for_an_exact_reference_only_when_exact_or_printing_its_digits():
    assert grade("\\pi", ["3.1416", "3.14159265", "\\pi"]) == [False, False, True]
    assert grade("\\frac{1}{3}", ["0.333", "0.33333", "0.333334", "\\frac{2}{6}", "0.333333",
                                  "0.3333333333"]) == [False, False, False, True, True, True]
    assert grade("\\frac{1}{2}", ["0.5", "0.50", "0.49", "0.499999"]) == [True, True, False, False]
    # Rounded or cut off at the last printed digit (floats print 2/3 cut off), 6 digits at least.
    assert grade("\\frac{1}{12}", ["0.0833333333333333", "0.0833333", "0.08333", "0.0833334"]) == [
        True, True, False, False]
    assert grade("-\\frac{2}{3}", ["-0.6666666666666666", "-0.666667", "-0.666668",
                                  "0.666667"]) == [True, True, False, False]
    dice = "Two dice are rolled. What is the probability that the sum is $4$?"
    assert grade("\\frac{1}{12}", ["0.0833333", "0.08333"], dice) == [True, False]


@pytest.mark.parametrize(("problem", "reference", "decimal"), [
    ("Express $0.\\overline{54}$ as a common fraction.", "\\frac{6}{11}", "0.545455"),
    ("Simplify $\\frac{84}{144}$.", "\\frac{7}{12}", "0.583333"),
    ("Compute $1.5 \\div 4.5$ as a fraction.", "\\frac{1}{3}", "0.333333"),
    ("Simplify $\\sqrt{242}$.", "11\\sqrt2", "15.556349186104"),
])
def test_a_rounded_decimal_does_not_answer_a_problem_that_writes_the_value(problem, reference,
                                                                            decimal):
    """The problem writes a fraction or decimal (or the value is irrational): its decimal,
    however many digits, is the problem's expression evaluated, not the conversion asked for."""
    assert grade(reference, [decimal, reference], problem) == [False, True]


def test_numbers_inside_tuples_intervals_and_matrices_follow_the_same_rule():
    assert grade("(0.0000002, 1)", ["(0.0000001, 1)", "(0.0000002, 1)"]) == [False, True]
    assert grade("(12345.678, 1)", ["(12345.6781, 1)", "(12345.7, 1)"]) == [True, False]
    assert grade("(1, \\frac{9}{2})", ["(1, 4.5)", "(1, 4.50000001)", "(2, 4.5)"]) == [
        True, False, False]
    assert grade("(1, 2, 3.5)", ["(1, 2, 3.50000001)", "(1, 3, 3.5)", "(1, 2, \\frac72)"]) == [
        True, False, True]
    assert grade("[\\frac13, 2)", ["[0.333333, 2)", "[0.33, 2)", "(0.333333, 2)"]) == [
        True, False, False]
    matrix = "\\begin{pmatrix} %s \\\\ %s \\end{pmatrix}"
    assert grade(matrix % ("\\frac13", "\\frac15"), [matrix % ("0.333333", "0.2"),
                                                     matrix % ("0.33", "0.2"),
                                                     matrix % ("0.333333", "0.25")]) == [
        True, False, False]


def test_equations_are_judged_on_both_sides():
    problem = "Find $x$ if $2x = 8$."
    assert grade("4", ["5 = 4", "x = 4", "y = 4", "x = 2 + 2 = 4", "x = 3 = 4"], problem) == [
        False, True, False, False, False]
    assert grade("4", ["x = 4", "n = 4"]) == [True, True]  # no problem text: any variable
    assert grade("4", ["4 = 4", "2 + 2 = 4"]) == [False, False]  # a number reference: a number
    assert grade("y = 2x + 3", ["y = 3 + 2x", "y = 2x + 4"]) == [True, False]
    assert grade("x=5", ["5", "x = 5", "x = 6"]) == [True, True, False]


def test_bases_are_read_not_ignored():
    assert grade("52_8", ["52_8", "52", "52_{8}", "52_9", "42", "42_{10}", "62_8"]) == [
        True, True, True, False, False, False, False]
    assert grade("42", ["52_8", "52_9"]) == [True, False]


def test_units_must_match_when_both_name_one():
    assert grade("5\\text{ cm}", ["5\\text{ m}", "5\\text{ cm}", "5", "5 \\mbox{cms}"]) == [
        False, True, True, True]
    assert grade("90^\\circ", ["90", "90^{\\circ}", "90\\text{ degrees}", "91^\\circ"]) == [
        True, True, True, False]
    assert grade("864 \\mbox{ inches}^2", ["864\\text{ inches}^2", "864 \\text{ feet}^2"]) == [
        True, False]


def test_percentages():
    assert grade("25\\%", ["25", "25\\%", "0.25", "26\\%"]) == [True, True, True, False]
    assert grade("25", ["25\\%", "24\\%"]) == [True, False]


def test_intervals_and_sets_are_not_points():
    assert grade("3", ["[3, 3]", "[2, 4]", "\\{3\\}", "3"]) == [False, False, False, True]
    assert grade("[2, 4]", ["[2, 4]", "(2, 4)"]) == [True, False]


def test_right_answers_in_other_forms_pass():
    assert grade("1000000", ["1\\,000\\,000", "1{,}000{,}000", "1,000,000", "1\\,000\\,001"]) == [
        True, True, True, False]
    assert grade("\\$0.75", ["75\\text{ cents}", "75¢", "\\$0.75", "76 cents"]) == [
        True, True, True, False]
    assert grade("(2, -1, 3)", ["\\begin{pmatrix} 2 \\\\ -1 \\\\ 3 \\end{pmatrix}",
                                "\\begin{pmatrix} 2 & -1 & 3 \\end{pmatrix}",
                                "\\begin{pmatrix} 2 \\\\ 1 \\\\ 3 \\end{pmatrix}"]) == [
        True, True, False]
    assert grade("5.4 \\text{ cents}", ["5.4", "5.4\\text{ cents}"]) == [True, True]


def test_thousands_separators_and_decimal_commas():
    assert grade("1000", ["1 000", "1~000", "1\u2009000", "1 001", "1 00"]) == [
        True, True, True, False, False]
    assert grade("1234567", ["1 234 567", "1\\,234\\,567"]) == [True, True]
    # math-verify reads spaced digits as a sum (1 000 as 1*0, 2 3 as 5): no credit that way.
    assert grade("0", ["1 000"]) == [False]
    assert grade("5", ["2 3", "5"]) == [False, True]
    assert grade("23", ["2 3"]) == [False]
    # A comma before other than three digits is a decimal comma against a one-number reference;
    # against a list it separates answers, and before three digits it groups thousands.
    assert grade("1000.99", ["1000,99", "1 000,99", "1000,98"]) == [True, True, False]
    assert grade("1.5", ["1,5", "1,50", "1,6"]) == [True, True, False]
    assert grade("2.5", ["2,500"]) == [False]
    assert grade("1, 22", ["1,22", "1.22"]) == [True, False]


def test_a_solved_inequality_is_the_interval_it_describes():
    problem = "Solve $x^2 - 5x - 14 \\le 0$."
    assert grade("[-2, 7]", ["-2 \\le x \\le 7", "-2 \\leq x \\leq 7", "[-2, 7]",
                            "-2 < x \\le 7", "-2 \\le y \\le 7", "x^2 - 5x - 14 \\le 0",
                            "(x+2)(x-7) \\le 0", "x^2 \\le 5x + 14"], problem) == [
        True, True, True, False, False, False, False, False]
    assert grade("x \\in [-2,7]", ["-2 \\le x \\le 7", "-2 \\le t \\le 7"]) == [True, False]
    assert grade("(-\\infty, 3)", ["x < 3", "3 > x", "x \\le 3", "x > 3"]) == [
        True, True, False, False]


@pytest.mark.parametrize("box", ["\\hspace{1cm}", "\\vphantom{7}", "\\phantom{42}", "\u200b",
                                 "\u200b\u2060\ufeff", "\\hspace*{2em}\\vspace{1ex}", "\u3164",
                                 "\\kern1em", "\\rule{0pt}{0pt}"])
def test_a_box_needs_visible_content(box):
    check = check_format(f"<think>Two and two.</think> The answer is \\boxed{{{box}}}")
    assert not check.passed and check.reason == "empty \\boxed{} after </think>"
    assert check_format("<think>Two and two.</think> \\boxed{\\hspace{1pt}4}").passed


@pytest.mark.parametrize("code", ["# TODO: solve it\n", "// nothing here\n", "</think>\n",
                                  "<answer>\n", "<|endoftext|>\n", "/* stub */\n",
                                  "#include <stdio.h>\n", "\u200b\n# x = 1\n"])
def test_a_code_block_needs_code(code):
    check = check_format(f"<think>Plan.</think>\n```python\n{code}```", task="code")
    assert not check.passed and check.reason == "empty code block after </think>"
    assert check_format(f"<think>Plan.</think>\n```python\n{code}x = 1\n```", "code").passed


def test_a_byte_order_mark_or_whitespace_before_think_is_tolerated():
    for lead in ["\ufeff", "\ufeff\n", " \ufeff", "\n\n"]:
        assert check_format(f"{lead}<think>a</think> \\boxed{{3}}").passed, repr(lead)
        assert grade("3", [f"{lead}x"]) is not None
    assert not check_format("x\ufeff<think>a</think> \\boxed{3}").passed


def test_exactly_one_thinking_block():
    assert not check_format("<think>a</think><think>b</think> \\boxed{3}").passed
    assert not check_format("<think>a</think>\n <think>b</think> \\boxed{3}").passed
    assert not check_format("<think>a</think> so <think>b</think> \\boxed{3}").passed
    assert check_format("<think>a</think> \\boxed{3}").passed
    code = "<think>a</think>\n```python\nre.sub('<think>.*?</think>', '', s)\n```"
    assert check_format(code, task="code").passed  # tags inside code are code


def test_form_checks_stay_linear_on_megabyte_answers():
    import time

    from rewards import math_forms

    answers = ["{" * 300_000 + "1" + "}" * 300_000, "\\frac{1}{" * 100_000 + "}" * 100_000,
               "\\sqrt{99999989}" * 50_000, "(" * 500_000 + ")" * 500_000, "9" * 1_000_000]
    start = time.perf_counter()
    for answer in answers:
        math_forms.operators_left(answer, "3"), math_forms.numeral(answer)
        math_forms.units(answer), math_forms.rewrite_answer(answer, "\\$3")
        math_forms.base_value(answer, 8)
    assert time.perf_counter() - start < 20  # linear: ~3 s on a busy 2-core machine
    assert math_forms.normalize("{{{42}}}") == "42" and math_forms.normalize("{1}+{2}") == "{1}+{2}"
