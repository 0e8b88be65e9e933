"""pass@k, maj@k and mean pass@1 on hand-made cases, checked against direct counting."""

from __future__ import annotations

import itertools
from math import comb

import pytest

from reasoning_rl.eval.evaluate import metrics
from reasoning_rl.eval.grading import Graded
from reasoning_rl.eval.pass_at_k import (
    majority_correct,
    mean_pass_at_1,
    pass_at_k,
    top_wrong_vote,
    vote_keys,
)


@pytest.mark.parametrize(("n", "c", "k"), [(5, 2, 1), (5, 2, 2), (5, 2, 3), (10, 3, 4), (3, 0, 2)])
def test_pass_at_k_is_the_share_of_k_subsets_holding_a_correct_sample(n, c, k):
    samples = [True] * c + [False] * (n - c)
    subsets = list(itertools.combinations(samples, k))
    expected = sum(any(s) for s in subsets) / len(subsets)
    assert pass_at_k(n, c, k) == pytest.approx(expected)
    assert pass_at_k(n, c, k) == pytest.approx(1 - comb(n - c, k) / comb(n, k))


def test_pass_at_k_edges():
    assert pass_at_k(4, 0, 4) == 0.0
    assert pass_at_k(4, 4, 1) == 1.0
    assert pass_at_k(4, 1, 1) == 0.25
    assert pass_at_k(64, 1, 64) == 1.0  # every subset of size n holds the correct sample
    with pytest.raises(ValueError):
        pass_at_k(2, 1, 3)


def test_mean_pass_at_1_weighs_problems_equally():
    assert mean_pass_at_1([[True, True, True, True], [False, False]]) == 0.5
    assert mean_pass_at_1([]) == 0.0


def test_majority_vote_groups_all_correct_answers_together():
    # "0.5" and "\frac{1}{2}" are both correct: together they outvote "3" (2 votes).
    assert majority_correct(["0.5", "\\frac{1}{2}", "3", "3"], [True, True, False, False]) is False
    assert majority_correct(["0.5", "\\frac{1}{2}", "1/2", "3", "3"],
                            [True, True, True, False, False]) is True


def test_majority_vote_ties_and_missing_answers():
    assert majority_correct(["4", "5"], [True, False]) is False  # a tie counts against
    assert majority_correct(["4", None, None, None], [True, False, False, False]) is True
    assert majority_correct([None, None], [False, False]) is False


def test_wrong_answers_are_grouped_by_normalised_text():
    assert vote_keys(["x + 1", "x+1", " x+ 1 "], [False] * 3) == ["x+1"] * 3
    assert top_wrong_vote(["\\left(1,2\\right)", "(1, 2)", "7"], [False] * 3) == ("(1,2)", 2)


def _g(correct: bool | None, answer: str | None, fmt: bool = True, tokens: int = 10,
       lenient: bool | None = None) -> Graded:
    return Graded(fmt, correct, answer, tokens, bool(correct) if lenient is None else lenient)


def test_metrics_of_a_hand_made_benchmark():
    graded = [
        [_g(True, "4"), _g(True, "4"), _g(False, "5"),
         _g(False, None, fmt=False, tokens=30, lenient=True)],  # right, but outside the format
        [_g(False, "7"), _g(False, "7"), _g(False, "7"), _g(True, "6")],
    ]
    m = metrics(graded, "math")
    assert m["problems"] == 2 and m["samples"] == 8
    assert m["pass@1"] == pytest.approx((2 / 4 + 1 / 4) / 2)
    assert m["pass@2"] == pytest.approx((pass_at_k(4, 2, 2) + pass_at_k(4, 1, 2)) / 2)
    assert m["pass@4"] == 1.0
    assert m["maj@4"] == 0.5  # problem 1: 2 correct vs 1 "5"; problem 2: "7" wins
    assert m["pass@1_lenient"] == pytest.approx(4 / 8)
    assert m["format_rate"] == 7 / 8
    assert m["mean_tokens"] == (7 * 10 + 30) / 8


def test_code_metrics_have_no_majority_vote_and_count_unscorable():
    m = metrics([[_g(True, None), _g(None, None)]], "code")
    assert "maj@2" not in m
    assert m["pass@1"] == 0.5 and m["unscorable"] == 1
