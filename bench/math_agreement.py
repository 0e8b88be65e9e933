"""Agreement of our math grader with math-verify's own published verdicts, side by side.

math-verify's test files list (gold, prediction, expected verdict) cases. This script reads
them from a local copy (they are not part of this repository; fetch them yourself), turns each
prediction into a Magistral-style completion, grades it with ``rewards.math_answer`` and
reports how many verdicts match the expected ones, next to math-verify itself on the same cases.

    pip download math-verify==0.9.0 --no-binary :all: --no-deps -d /tmp/mv
    tar xzf /tmp/mv/math_verify-0.9.0.tar.gz -C /tmp/mv
    .venv/bin/python -m bench.math_agreement /tmp/mv/math_verify-0.9.0/tests

(``-m`` from the repository root, as above.)

Cases are read statically (``ast``), never imported or executed: only parametrize rows that are
plain literals count; others are reported as skipped. Each column is scored against the same
expected verdicts:

- ``ours``: ``check_many`` on a completion made from the prediction (``as_completion``);
- ``math-verify (raw)``: ``verify(parse(gold), parse(pred))`` with the library's defaults;
- ``math-verify (completion)``: the same call on the very completion we grade.
"""

from __future__ import annotations

import argparse
import ast
import logging
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rewards import math_answer

_THINKING = "<think>Working it out.</think>\n"
# A prediction that is one math span: its delimiters go, so the box holds bare LaTeX.
_ANY_SPAN = re.compile(r"\$\$(.*?)\$\$|\$([^$]*)\$|\\\((.*?)\\\)|\\\[(.*?)\\\]", re.DOTALL)


@dataclass(frozen=True)
class Case:
    """One published case: where it comes from, gold, prediction and expected verdict."""

    source: str
    gold: str
    pred: str
    expected: bool


def _rows(decorator: ast.expr) -> tuple[list[str], list[ast.expr]] | None:
    """Argument names and row nodes of a ``pytest.mark.parametrize(...)`` decorator."""
    if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)
            and decorator.func.attr == "parametrize" and len(decorator.args) >= 2):
        return None
    try:
        names = ast.literal_eval(decorator.args[0])
    except ValueError:
        return None
    names = [n.strip() for n in (names.split(",") if isinstance(names, str) else names)]
    rows = decorator.args[1]
    return (names, rows.elts) if isinstance(rows, (ast.List, ast.Tuple)) else None


def load_cases(path: Path) -> tuple[list[Case], int]:
    """Literal (gold, pred, expected) cases of one test file, and how many rows were skipped."""
    cases, skipped = [], 0
    for function in ast.walk(ast.parse(path.read_text())):
        if not isinstance(function, ast.FunctionDef):
            continue
        for decorator in function.decorator_list:
            parsed = _rows(decorator)
            if parsed is None or not {"gold", "pred"} <= set(parsed[0]):
                continue
            names, rows = parsed
            verdict = "expected" if "expected" in names else "result"
            for row in rows:
                try:
                    values = dict(zip(names, ast.literal_eval(row), strict=True))
                except (ValueError, TypeError):
                    skipped += 1  # computed at import time (an f-string, a call)
                    continue
                cases.append(Case(f"{path.name}::{function.name}", values["gold"],
                                  values["pred"], bool(values[verdict])))
    return cases, skipped


def kind_of(pred: str) -> str:
    """``boxed`` (has a box), ``short`` (a bare answer, boxable as is) or ``solution`` (prose)."""
    if "\\boxed" in pred:
        return "boxed"
    outside_math = _ANY_SPAN.sub(" ", pred)
    return "short" if "\n" not in pred.strip() and len(outside_math.split()) <= 3 else "solution"


def as_completion(pred: str) -> str:
    """The prediction as a Magistral completion: one think block, then the answer part.

    A boxed prediction is the answer part as is; a short one is boxed (just its math when it
    has exactly one math span); a solution that never boxes its answer stays unboxed, so our gate
    rejects it by design and math-verify may still extract an answer from its prose.
    """
    kind = kind_of(pred)
    if kind != "short":
        return _THINKING + pred
    spans = [next(g for g in m.groups() if g is not None) for m in _ANY_SPAN.finditer(pred)]
    inner = spans[0] if len(spans) == 1 else pred  # "Answer $9$": the model would box the 9
    return f"{_THINKING}The final answer is $\\boxed{{{inner.strip()}}}$."


def math_verify_verdicts(golds: list[str], preds: list[str]) -> list[bool]:
    """math-verify with its defaults, on this (main) thread so its own timeouts work."""
    from math_verify import parse, verify

    verdicts = []
    for gold, pred in zip(golds, preds, strict=True):
        try:
            verdicts.append(bool(verify(parse(gold), parse(pred))))
        except Exception:  # noqa: BLE001 - a crash is a wrong verdict, not a stop
            verdicts.append(False)
    return verdicts


def _iter_files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        yield from sorted(path.glob("test_*.py")) if path.is_dir() else [path]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path, help="math-verify test files or folders")
    parser.add_argument("--show", action="store_true", help="list the cases where ours is wrong")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # math-verify logs every expression it cannot parse

    cases, skipped = [], 0
    for path in _iter_files(args.paths):
        found, missed = load_cases(path)
        cases, skipped = cases + found, skipped + missed
    completions = [as_completion(case.pred) for case in cases]
    golds = [case.gold for case in cases]
    columns = {
        "ours": [v is True for v in math_answer.check_many(completions, golds)],
        "math-verify (raw)": math_verify_verdicts(golds, [case.pred for case in cases]),
        "math-verify (completion)": math_verify_verdicts(golds, completions),
    }
    expected = [case.expected for case in cases]
    kinds = [kind_of(case.pred) for case in cases]
    print(f"{len(cases)} cases from {len({c.source.split('::')[0] for c in cases})} files "
          f"({skipped} non-literal rows skipped); predictions: {dict(Counter(kinds))}")
    for subset in ("all", "boxed+short", "solution"):
        rows = [i for i, kind in enumerate(kinds)
                if subset == "all" or kind in subset.split("+")]
        print(f"{subset} ({len(rows)} cases):")
        for name, verdicts in columns.items():
            agree = sum(verdicts[i] == expected[i] for i in rows)
            print(f"  {name:>24}: {agree}/{len(rows)} agree ({agree / max(len(rows), 1):.3f})")
    ours = columns["ours"]
    wrong = Counter(c.source for c, v in zip(cases, ours, strict=True) if v != c.expected)
    print("ours disagrees in:", dict(wrong.most_common()))
    if args.show:
        for case, verdict, completion in zip(cases, ours, completions, strict=True):
            if verdict != case.expected:
                print(f"- {case.source} expected {case.expected}: gold {case.gold[:80]!r} "
                      f"completion {completion[len(_THINKING):][:80]!r}")


if __name__ == "__main__":
    main()
