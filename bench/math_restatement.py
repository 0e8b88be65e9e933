"""Restating the problem vs answering it, on the real MATH-500 and GSM8K references.

    PYTHONPATH=$PWD .venv/bin/python -m bench.math_restatement [--data ../shared/data]

For each MATH-500 problem, the reference boxed as a completion must pass (with the problem text
given to the grader, as the trainer gives it); the problem's main expression (its longest
``$...$`` span) boxed as a completion must fail wherever it differs from the reference. The
restatements are graded twice: with the problem text, and without it (only the operator and
number rules then stand between a restatement and credit). GSM8K final answers must pass too.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path

from rewards import math_answer, math_forms

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
_THINKING = "<think>Working it out.</think> The answer is $\\boxed{"


def _rows(data: Path, name: str) -> list[dict]:
    return [json.loads(line) for line in (data / name).read_text().splitlines() if line.strip()]


def main_expression(problem: str) -> str | None:
    """The longest math span of a problem: the expression a restating policy would box."""
    spans = [next(g for g in m.groups() if g is not None)
             for m in math_forms._MATH_SPAN.finditer(problem)]
    return max(spans, key=len).strip() if spans else None


def measure(data: Path = DATA) -> dict[str, object]:
    """Verdict counts for references and restatements (see the module docstring)."""
    math = _rows(data, "math500_test.jsonl")
    problems = [row["problem"] for row in math]
    references = [row["answer"] for row in math]
    right = math_answer.check_many([f"{_THINKING}{r}}}$." for r in references], references,
                                   problems=problems)
    restated = [(i, main_expression(p)) for i, p in enumerate(problems)]
    differ = [(i, e) for i, e in restated
              if e and math_forms.normalize(e) != math_forms.normalize(references[i])]
    completions = [f"{_THINKING}{e}}}$." for _, e in differ]
    golds = [references[i] for i, _ in differ]
    with_problem = math_answer.check_many(completions, golds,
                                          problems=[problems[i] for i, _ in differ])
    without_problem = math_answer.check_many(completions, golds)
    gsm = _rows(data, "gsm8k_test.jsonl")
    finals = [row["answer"].split("####")[-1].strip() for row in gsm]
    gsm_right = math_answer.check_many([f"{_THINKING}{f}}}$." for f in finals], finals,
                                       problems=[row["question"] for row in gsm])
    return {"math_references_pass": sum(v is True for v in right), "math_rows": len(math),
            "restatements": len(differ),
            "restatements_pass_with_problem": sum(v is True for v in with_problem),
            "restatements_pass_without_problem": sum(v is True for v in without_problem),
            "passing_restatements": [e for (_, e), v in zip(differ, with_problem, strict=True)
                                     if v],
            "gsm8k_references_pass": sum(v is True for v in gsm_right), "gsm8k_rows": len(gsm)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    load = os.getloadavg()[0]
    result = measure(args.data)
    print(f"MATH-500 references boxed: {result['math_references_pass']}/{result['math_rows']} "
          f"pass | main expression boxed where it differs from the reference: "
          f"{result['restatements_pass_with_problem']}/{result['restatements']} pass with the "
          f"problem text, {result['restatements_pass_without_problem']}/"
          f"{result['restatements']} without | GSM8K references boxed: "
          f"{result['gsm8k_references_pass']}/{result['gsm8k_rows']} pass (1-min load {load:.1f})")
    for expression in result["passing_restatements"]:
        print("  still passes:", expression)


if __name__ == "__main__":
    main()
