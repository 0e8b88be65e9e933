"""The grader: language consistency on hand-made multilingual completions (judged on every
sample, format gate or not, by the reward's judge), and lenient versus strict correctness."""

from __future__ import annotations

import pytest

from reasoning_rl.eval.evaluate import metrics
from reasoning_rl.eval.generation import Completion
from reasoning_rl.eval.grading import grade, loose_answer

CASES = [  # (lang, problem, completion, expected language_ok)
    ("fr", "Combien font 3 plus 4 ?",
     "<think>Trois plus quatre, cela fait sept.</think> La réponse est \\boxed{7}.", True),
    ("fr", "Combien font 3 plus 4 ?",
     "<think>Three plus four makes seven.</think> La réponse est \\boxed{7}.", False),
    ("fr", "Combien font 3 plus 4 ?",  # thinking in French, summary in English
     "<think>Trois plus quatre font sept.</think> The answer is \\boxed{7}.", False),
    ("ja", "りんごが3個あり、4個買いました。全部で何個ですか？",
     "<think>3個と4個を足すと7個になります。</think> 答えは \\boxed{7} 個です。", True),
    ("ru", "Сколько будет 3 плюс 4?",  # no think tags: the format fails, the words still count
     "Три плюс четыре будет семь, ответ семь.", True),
    ("th", "3 บวก 4 เท่ากับเท่าไร",
     "<think>สามบวกสี่เท่ากับเจ็ด</think> คำตอบคือ \\boxed{7}", True),
    ("sw", "Tatu jumlisha nne ni ngapi?",
     "<think>Tatu jumlisha nne ni saba.</think> Jibu ni \\boxed{7}.", True),
    ("zh", "3 加 4 等于多少？", "<think>3 + 4 = 7</think> \\boxed{7}", None),  # no words
]


def test_language_consistency_on_hand_made_completions():
    rows = [{"prompt": p, "answer": "7", "task": "math", "lang": lang} for lang, p, _, _ in CASES]
    graded = grade(rows, [[Completion(text, 10)] for _, _, text, _ in CASES])
    assert [g[0].language_ok for g in graded] == [ok for *_, ok in CASES]
    m = metrics(graded, "math")
    assert m["language_judged"] == 7  # the word-free sample is left out, not counted wrong
    assert m["language_no_words"] == 1
    assert m["language_consistency"] == pytest.approx(5 / 7)


def test_lenient_finds_the_answer_where_strict_does_not():
    row = {"prompt": "What is 3 plus 4?", "answer": "7", "task": "math", "lang": "en"}
    texts = ["<think>Three plus four makes seven.</think> The answer is \\boxed{7}.",
             "<think>Three plus four \\boxed{7}",  # never closes the thinking: gate fails
             "Three plus four is 7.",  # no box at all: math-verify's own extraction
             "<think>Three plus four.</think> The answer is \\boxed{8}."]
    graded = grade([row], [[Completion(t, 5) for t in texts]])[0]
    assert [g.correct for g in graded] == [True, False, False, False]
    assert [g.lenient for g in graded] == [True, True, True, False]
    assert [g.format_ok for g in graded] == [True, False, False, True]


def test_loose_answer_prefers_the_last_box():
    assert loose_answer("\\boxed{1} then \\boxed{2}, so 3") == "2"
    assert loose_answer("no numbers here") is None


def test_consistency_over_no_judged_sample_is_none_not_zero():
    """Thinking of numbers only is judged by nobody: the rate is None and the table says n/a."""
    from reasoning_rl.eval.report import markdown_table

    row = {"prompt": "3 加 4 等于多少？", "answer": "7", "task": "math", "lang": "zh"}
    graded = grade([row], [[Completion("<think>3 + 4 = 7</think> \\boxed{7}", 10)]])
    m = metrics(graded, "math")
    assert (m["language_judged"], m["language_no_words"], m["language_consistency"]) == (0, 1, None)
    table = markdown_table({"benchmarks": {"heldout": {"metrics": m, "by": {}}}})
    assert "| n/a |" in table
