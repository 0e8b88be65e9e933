"""Grading sampled completions with the `rewards` package: the one grader of every eval path.

Why: a number reported by `eval`, the held-out before/after eval, the periodic eval or used by
`data filter-difficulty` must mean what the training reward means. So the strict grade is
bookkeeping around `rewards.total`: its format gate and its correctness component
(math-verify workers for math, the sandbox for code); a sample is strictly correct exactly when
the reward would pay the correctness points. Two more views say what the model can do beyond
the format: `lenient` (the answer is right wherever it is: the last `\\boxed{}` anywhere, else
math-verify's own extraction of the last expression, verified by the same workers) and
`language_ok` (thinking and answer both in the problem's language, judged on every sample by
`rewards.language.judge`, the reward's judge; None when a part has no words).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reasoning_rl.eval.generation import Completion
from rewards.format import last_boxed
from rewards.math_answer import check_many, extract_answer
from rewards.total import (
    RewardSettings,
    Sample,
    correctness_scores,
    format_checks,
    language_consistent,
)

PARSE_TIMEOUT_S = 2


@dataclass(frozen=True)
class Graded:
    """One graded sample.

    `correct`: strict (format gate passed and answer right; None: cannot score); `lenient`:
    answer right wherever it is; `language_ok`: thinking and answer in the problem's language
    (None: no words to judge).
    """

    format_ok: bool
    correct: bool | None
    answer: str | None
    tokens: int
    lenient: bool = False
    language_ok: bool | None = None
    reason: str = ""


def grade(rows: Sequence[dict[str, Any]], completions: Sequence[Sequence[Completion]], *,
          check_language: bool = True, languages: Sequence[str] = ()) -> list[list[Graded]]:
    """Grade every completion of every row (rows are canonical; one list of samples per row).

    `check_language=False` skips language ID (`language_ok` stays None); `languages`: the run's
    languages, language ID candidates besides the judge's own (`rewards.language_id.run_languages`).

    >>> row = {"prompt": "What is 2+2?", "answer": "4", "task": "math", "lang": "en"}
    >>> text = "<think>Two and two make four.</think> The answer is \\\\boxed{4}."
    >>> g = grade([row], [[Completion(text, 9)]])[0][0]
    >>> g.correct, g.lenient, g.language_ok
    (True, True, True)
    """
    samples, owners = [], []
    for index, (row, group) in enumerate(zip(rows, completions, strict=True)):
        for completion in group:
            samples.append(Sample(row["prompt"], completion.text, row.get("task") or "math",
                                  row.get("answer"), row.get("tests") or [], completion.tokens,
                                  row.get("lang") or None))
            owners.append((index, completion))
    checks = format_checks(samples)
    scores = correctness_scores(samples, checks, RewardSettings())
    lenient = lenient_correct(samples, scores, checks)
    graded: list[list[Graded]] = [[] for _ in rows]
    for (index, completion), sample, check, score, loose in zip(
            owners, samples, checks, scores, lenient, strict=True):
        correct = None if score is None else (check.passed and score > 0)
        answer = extract_answer(completion.text) if check.passed else None
        language = language_consistent(sample, languages) if check_language else None
        graded[index].append(Graded(check.passed, correct, answer, completion.tokens, loose,
                                    language, check.reason))
    return graded


def lenient_correct(samples: Sequence[Sample], strict: Sequence[float | None],
                    checks: Sequence[Any]) -> list[bool]:
    """Math: the answer is right wherever it is; code: the strict verdict (no gate to relax)."""
    result = [bool(c.passed and s) for s, c in zip(strict, checks, strict=True)]
    todo = [i for i, s in enumerate(samples) if s.task != "code" and not result[i]]
    found = [loose_answer(samples[i].completion) for i in todo]
    pairs = [(i, a) for i, a in zip(todo, found, strict=True) if a]
    verdicts = check_many([f"\\boxed{{{a}}}" for _, a in pairs],
                          [samples[i].answer or "" for i, _ in pairs])
    for (i, _), verdict in zip(pairs, verdicts, strict=True):
        result[i] = bool(verdict)
    return result


def loose_answer(text: str) -> str | None:
    """The last `\\boxed{}` anywhere, else the last answer math-verify's own extraction finds.

    >>> loose_answer("<think>so \\\\boxed{3}"), loose_answer("23 + 19 = 42.")
    ('3', '42')
    """
    boxed = last_boxed(text)
    if boxed:
        return boxed
    from math_verify import parse

    parsed = parse(text, parsing_timeout=PARSE_TIMEOUT_S)  # errors give [] (raise_on_error off)
    return str(parsed[-1]) if parsed else None
