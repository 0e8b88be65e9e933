import json
import threading
import time
from pathlib import Path

import pytest

from rewards.math_answer import check_many, extract_answer, is_correct

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"real data folder {DATA} is missing")


def _rows(name):
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]


def test_equivalent_forms_and_last_box_of_answer_part():
    assert is_correct("<think>0.5?</think> \\boxed{\\frac{1}{2}}", "0.5")
    assert is_correct("<think>\\boxed{7}</think> first \\boxed{2}, finally \\boxed{3}", "3")
    assert not is_correct("<think>\\boxed{3}</think> \\boxed{2}", "3")
    assert not is_correct("<think>x</think> no box at all: 3", "3")


def test_extract_answer_handles_nesting():
    assert extract_answer("<think></think>\\boxed{\\sqrt{\\frac{1}{4}}}") == "\\sqrt{\\frac{1}{4}}"


def test_unparseable_reference_is_none_not_an_error():
    assert check_many(["\\boxed{3}"], ["\\frac{"]) == [None]


def test_bad_completions_score_false():
    junk = ["", "\\boxed{", "\\boxed{\\frac{}{}}", "x" * 1_000_000, "\\boxed{" * 1000 + "}" * 1000]
    assert check_many(junk, ["3"] * len(junk)) == [False] * len(junk)


def test_pathological_expression_costs_at_most_its_timeout_from_a_thread():
    slow = "\\boxed{" + "(" * 3000 + "x" + ")" * 3000 + "^{9^{9^{9^{9}}}}}"
    results = {}

    def grade():
        start = time.perf_counter()
        results["verdicts"] = check_many([slow, "\\boxed{4}"], ["4", "4"], timeout_s=2)
        results["seconds"] = time.perf_counter() - start

    worker = threading.Thread(target=grade)
    worker.start()
    worker.join(30)
    assert results["verdicts"] == [False, True]
    assert results["seconds"] < 8


@needs_data
def test_math500_references_check_against_their_own_answers():
    rows = _rows("math500_test.jsonl")
    boxed = [f"<think>done</think> The answer is $\\boxed{{{r['answer']}}}$." for r in rows]
    verdicts = check_many(boxed, [r["answer"] for r in rows])
    assert sum(v is True for v in verdicts) / len(rows) >= 0.99


@needs_data
def test_math500_perturbed_answers_fail():
    rows = _rows("math500_test.jsonl")[:100]
    wrong = [f"<think>x</think> \\boxed{{{r['answer']}+1}}" for r in rows]
    verdicts = check_many(wrong, [r["answer"] for r in rows])
    assert sum(v is True for v in verdicts) <= 2


@needs_data
def test_gsm8k_final_answers():
    rows = _rows("gsm8k_test.jsonl")[:200]
    finals = [r["answer"].split("####")[-1].strip().replace(",", "") for r in rows]
    right = check_many([f"<think>t</think> \\boxed{{{f}}}" for f in finals], finals)
    wrong = check_many([f"<think>t</think> \\boxed{{{f}1}}" for f in finals], finals)
    assert all(v is True for v in right)
    assert not any(wrong)
