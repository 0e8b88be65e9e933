import json
import threading
import time
from pathlib import Path

from bench.math_restatement import measure
from rewards.math_answer import check_many, extract_answer, is_correct


def _rows(data: Path, name: str) -> list[dict]:
    return [json.loads(line) for line in (data / name).read_text().splitlines() if line.strip()]


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
    junk = ["", "\\boxed{", "\\boxed{\\frac{}{}}", "x" * 1_000_000, "\\boxed{" * 1000 + "}" * 1000,
            "\\boxed{1}" * 50_000]
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


def test_math500_references_check_against_their_own_answers(shared_data):
    rows = _rows(shared_data, "math500_test.jsonl")
    boxed = [f"<think>done</think> The answer is $\\boxed{{{r['answer']}}}$." for r in rows]
    verdicts = check_many(boxed, [r["answer"] for r in rows])
    assert sum(v is True for v in verdicts) == len(rows) == 500


def test_math500_perturbed_answers_fail(shared_data):
    rows = _rows(shared_data, "math500_test.jsonl")[:100]
    wrong = [f"<think>x</think> \\boxed{{{r['answer']}+1}}" for r in rows]
    verdicts = check_many(wrong, [r["answer"] for r in rows])
    assert sum(v is True for v in verdicts) <= 2


def test_gsm8k_final_answers(shared_data):
    rows = _rows(shared_data, "gsm8k_test.jsonl")[:200]
    finals = [r["answer"].split("####")[-1].strip().replace(",", "") for r in rows]
    right = check_many([f"<think>t</think> \\boxed{{{f}}}" for f in finals], finals)
    wrong = check_many([f"<think>t</think> \\boxed{{{f}1}}" for f in finals], finals)
    assert all(v is True for v in right)
    assert not any(wrong)


def test_references_are_parsed_as_math_verify_parses_gold():
    half = "<think>t</think> So it is \\boxed{0.5}."
    for reference in ["\\boxed{\\frac{1}{2}}", "$\\frac{1}{2}$", "\\(\\frac{1}{2}\\)",
                      "\\[\\frac12\\]", "$$\\dfrac{1}{2}$$",
                      "The answer is $\\boxed{\\frac{1}{2}}$.",
                      "\\frac{1}{2}", "1/2", " 0.5 "]:
        assert check_many([half, "<think>t</think> \\boxed{1/3}"], [reference] * 2) == [
            True, False], reference


def test_whole_worked_solution_as_reference():
    solution = ("Squaring both sides gives $x^2 = 9$, and since $x > 0$ we keep the positive "
                "root, so $x = \\boxed{3}$.")
    assert check_many(["<think>t</think> \\boxed{3}", "<think>t</think> \\boxed{9}",
                       "<think>t</think> \\boxed{-3}"], [solution] * 3) == [True, False, False]


def test_several_boxes_in_a_reference_are_its_answers_together():
    reference = "The roots are $\\boxed{2}$ and $\\boxed{5}$."
    answers = ["\\boxed{2, 5}", "\\boxed{5}, \\boxed{2}", "\\boxed{\\{2, 5\\}}", "\\boxed{2}",
               "\\boxed{5}", "\\boxed{2, 5, 7}"]
    verdicts = check_many([f"<think>t</think> {a}" for a in answers], [reference] * len(answers))
    assert verdicts == [True, True, True, False, False, False]


def test_one_reading_per_answer_so_hedging_never_pays():
    hedges = ["\\boxed{3}\\boxed{4}", "\\boxed{3 \\text{ or } 4}", "\\boxed{3, 4}",
              "\\boxed{x = 3 \\text{ or } x = 4}", "\\boxed{3 \\lor 4}", "\\boxed{\\{3, 4\\}}",
              "\\boxed{3.5 \\pm 0.5}"]
    for hedge in hedges:
        completion = f"<think>t</think> {hedge}"
        assert check_many([completion, completion], ["3", "4"]) != [True, True], hedge
    # Boxes read together only against a reference that lists several answers.
    assert check_many(["<think>t</think> \\boxed{3} then \\boxed{4}"], ["3"]) == [False]


def test_answer_part_starts_at_the_first_close_tag():
    assert extract_answer("<think>x</think> \\boxed{1} </think> \\boxed{2}") == "2"
    assert check_many(["<think>\\boxed{4}</think> print('</think>') \\boxed{5}"], ["4"]) == [False]


def test_text_only_reference_compares_as_text_and_garbage_stays_unscorable():
    reference = "$$x = \\frac{1}{2}, x = \\frac{-1 \\pm \\sqrt{13}}{4}$$"
    same = "<think>t</think> \\boxed{x = \\frac{1}{2}, x = \\frac{-1 \\pm \\sqrt{13}}{4}}"
    assert check_many([same, "<think>t</think> \\boxed{x = 1}"], [reference] * 2) == [True, False]
    assert check_many(["<think>t</think> \\boxed{3}"] * 3, ["\\frac{", "", "   "]) == [None] * 3


def test_blank_boxes_score_false():
    assert check_many(["<think>t</think> \\boxed{}", "<think>t</think> \\boxed{  }"],
                      ["3", "3"]) == [False, False]


def test_math500_worked_solutions_as_references(shared_data):
    rows = _rows(shared_data, "math500_test.jsonl")
    boxed = [f"<think>done</think> The answer is $\\boxed{{{r['answer']}}}$." for r in rows]
    verdicts = check_many(boxed, [r["solution"] for r in rows])
    assert sum(v is True for v in verdicts) == len(rows)


def test_math500_restating_the_main_expression_fails_and_every_reference_passes(shared_data):
    result = measure(shared_data)
    assert result["math_references_pass"] == result["math_rows"] == 500
    assert result["restatements"] >= 400  # problems whose main expression differs from the answer
    assert result["restatements_pass_with_problem"] == 0, result["passing_restatements"]
    assert result["gsm8k_references_pass"] == result["gsm8k_rows"] == 1319
