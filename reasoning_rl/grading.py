"""Grading sampled completions with the `rewards` package, for evaluation and data curation.

Why: a number reported by `eval` or used by `data filter-difficulty` must mean what the
training reward means. So grading here is only bookkeeping around `rewards.magistral`: its
format gate, its correctness component (math-verify workers for math, the sandbox for code)
and its language-consistency component; a sample is correct exactly when the reward would give
it the correctness points. The extracted answer (`rewards.math_answer.extract_answer`) is kept
for majority voting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reasoning_rl.generation import Completion
from rewards.magistral import (
    MagistralConfig,
    Sample,
    correctness_scores,
    format_checks,
    language_scores,
)
from rewards.math_answer import extract_answer


@dataclass(frozen=True)
class Graded:
    """One graded sample: format gate, correctness (None: cannot score), answer, length."""

    format_ok: bool
    correct: bool | None
    answer: str | None
    tokens: int
    language_ok: bool = False
    reason: str = ""


def grade(rows: Sequence[dict[str, Any]], completions: Sequence[Sequence[Completion]], *,
          check_language: bool = True) -> list[list[Graded]]:
    """Grade every completion of every row (rows are canonical; one list of samples per row).

    >>> from reasoning_rl.generation import Completion
    >>> row = {"prompt": "What is 2+2?", "answer": "4", "task": "math", "lang": "en"}
    >>> done = Completion("<think>Two and two.</think> So \\\\boxed{4}.", 9)
    >>> grade([row], [[done]])[0][0].correct
    True
    """
    samples, owners = [], []
    for index, (row, group) in enumerate(zip(rows, completions, strict=True)):
        for completion in group:
            samples.append(Sample(row["prompt"], completion.text, row.get("task") or "math",
                                  row.get("answer"), row.get("tests") or [], completion.tokens,
                                  row.get("lang") or None))
            owners.append((index, completion))
    config = MagistralConfig()
    checks = format_checks(samples)
    scores = correctness_scores(samples, checks, config)
    languages = (language_scores(samples, checks, config) if check_language
                 else [0.0] * len(samples))
    graded: list[list[Graded]] = [[] for _ in rows]
    for (index, completion), check, score, lang in zip(owners, checks, scores, languages,
                                                       strict=True):
        correct = None if score is None else (check.passed and score > 0)
        answer = extract_answer(completion.text) if check.passed else None
        graded[index].append(Graded(check.passed, correct, answer, completion.tokens,
                                    lang > 0, check.reason))
    return graded
