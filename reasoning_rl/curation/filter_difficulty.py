"""`reasoning-rl data filter-difficulty`: keep problems the model solves sometimes, not always.

Why: GRPO learns only from groups whose rewards differ, so problems a model never solves or
always solves waste generation (Magistral filters its data the same way). We sample K answers
per problem, grade them with the `rewards` package, and keep problems whose pass rate lies
strictly between a lower and an upper bound. A math problem where a clear majority of samples
agrees on one answer that contradicts the reference is dropped too: the reference is likely
wrong. Each problem's outcome is appended to a scores file as soon as it is known, so an
interrupted run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reasoning_rl.data.prompting import build_prompt, stop_strings
from reasoning_rl.eval.generation import Sampling
from reasoning_rl.eval.grading import grade
from reasoning_rl.eval.pass_at_k import top_wrong_vote
from reasoning_rl.recipe.prompt_section import PromptSection


@dataclass
class DifficultyOptions:
    """Sampling and the keep band."""

    samples: int = 8
    temperature: float = 0.7
    top_p: float = 1.0
    max_new_tokens: int = 1024
    min_pass_rate: float = 0.0  # keep when min < rate < max (strictly)
    max_pass_rate: float = 1.0
    wrong_majority: float = 0.5  # drop when one wrong answer has more than this share of samples
    chunk: int = 8  # problems generated together; the scores file is updated after each
    seed: int = 0
    prompt: PromptSection = field(default_factory=PromptSection)


def problem_key(row: dict[str, Any]) -> str:
    """A stable id for a problem (its prompt and reference), for resuming.

    >>> row = {"prompt": "1+1?", "answer": "2"}
    >>> problem_key(row) == problem_key(dict(row))
    True
    """
    text = json.dumps([row["prompt"], row.get("answer", ""), row.get("tests", [])])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def decide(rate: float, top_wrong_share: float, task: str, options: DifficultyOptions) -> str:
    """Why a problem is kept or dropped: keep, reference_disputed, too_hard or too_easy.

    >>> o = DifficultyOptions()
    >>> decide(0.5, 0.0, "math", o), decide(0.0, 0.0, "math", o), decide(0.25, 0.75, "math", o)
    ('keep', 'too_hard', 'reference_disputed')
    """
    if task == "math" and top_wrong_share > options.wrong_majority:
        return "reference_disputed"
    if rate <= options.min_pass_rate:
        return "too_hard"
    if rate >= options.max_pass_rate:
        return "too_easy"
    return "keep"


def read_scores(path: Path) -> dict[str, dict[str, Any]]:
    """Outcomes already in the scores file (a torn last line from a crash is ignored)."""
    scores: dict[str, dict[str, Any]] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            scores[record["key"]] = record
    return scores


def score_chunk(backend, rows: list[dict[str, Any]], options: DifficultyOptions, seed: int
                ) -> list[dict[str, Any]]:
    """Sample, grade and decide for a few problems; one outcome record per problem."""
    sampling = Sampling(n=options.samples, temperature=options.temperature, top_p=options.top_p,
                        max_new_tokens=options.max_new_tokens, seed=seed,
                        stop=tuple(stop_strings(options.prompt, backend.tokenizer)))
    completions = backend.generate(
        [build_prompt(r["prompt"], options.prompt, backend.tokenizer) for r in rows], sampling)
    records = []
    for row, graded in zip(rows, grade(rows, completions, check_language=False), strict=True):
        correct = [bool(g.correct) for g in graded]
        wrong, count = top_wrong_vote([g.answer for g in graded], correct)
        rate, share = sum(correct) / len(graded), count / len(graded)
        records.append({"key": problem_key(row), "pass_rate": rate, "samples": len(graded),
                        "format_failures": sum(not g.format_ok for g in graded),
                        "top_wrong_answer": wrong, "top_wrong_share": share,
                        "decision": decide(rate, share, row.get("task") or "math", options)})
    return records


def filter_difficulty(rows: list[dict[str, Any]], backend, scores_path: Path,
                      options: DifficultyOptions, progress: bool = True) -> list[dict[str, Any]]:
    """Score every problem not yet in `scores_path`, then return the kept rows with `pass_rate`.

    >>> kept = filter_difficulty(rows, backend, Path("out.scores.jsonl"),
    ...                          DifficultyOptions(samples=8))  # doctest: +SKIP
    """
    from tqdm.auto import tqdm

    scores = read_scores(scores_path)
    todo = [r for r in rows if problem_key(r) not in scores]
    bar = tqdm(total=len(rows), initial=len(rows) - len(todo), desc="filter-difficulty",
               unit="problem", disable=not progress)
    with open(scores_path, "a", encoding="utf-8") as handle:
        for start in range(0, len(todo), options.chunk):
            chunk = todo[start:start + options.chunk]
            for record in score_chunk(backend, chunk, options, options.seed + len(scores)):
                scores[record["key"]] = record
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            handle.flush()
            bar.update(len(chunk))
    bar.close()
    return [{**row, "pass_rate": scores[problem_key(row)]["pass_rate"]} for row in rows
            if scores[problem_key(row)]["decision"] == "keep"]


def summarize(rows: list[dict[str, Any]], scores_path: Path) -> dict[str, int]:
    """How many problems got each decision.

    >>> summarize([], Path("/nonexistent"))
    {}
    """
    scores = read_scores(scores_path)
    counts: dict[str, int] = {}
    for row in rows:
        decision = scores[problem_key(row)]["decision"]
        counts[decision] = counts.get(decision, 0) + 1
    return counts
