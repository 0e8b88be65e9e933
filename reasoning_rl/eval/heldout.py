"""Greedy evaluation on a held-out split before and after training: did training change answers?

Why: rewards logged during training are measured on sampled completions of training prompts.
The question a run must answer is different: on problems it never trained on, with greedy
decoding, does the model now follow the format, answer correctly, and think in the problem's
language? This is `reasoning-rl eval` on the policy in memory: same sampler (`evaluate_rows`),
same grader (`grading`, the `rewards` package), same metric names and the same report files
(results.json/.md/.png, samples.jsonl) in `<run>/eval_before/` and `<run>/eval_after/`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reasoning_rl.eval.evaluate import EvalOptions, evaluate_rows
from reasoning_rl.eval.generation import TransformersBackend
from reasoning_rl.eval.report import write_report
from reasoning_rl.recipe.config import Recipe
from reasoning_rl.recipe.prompt_section import PromptSection


def evaluate_heldout(model, tokenizer, rows: list[dict[str, Any]], prompt: PromptSection, *,
                     max_new_tokens: int, batch_size: int, out_dir: Path | None = None
                     ) -> dict[str, Any]:
    """Greedy-decode every held-out row and grade it; returns the benchmark result.

    The result holds `metrics` (pass@1, pass@1_lenient, format_rate, language_consistency,
    ...), `by` (per language, subject, level) and the first three `examples`; with `out_dir`
    the full report is written there too.

    >>> evaluate_heldout(model, tok, rows, PromptSection(), max_new_tokens=32,
    ...                  batch_size=8)["metrics"]["format_rate"]  # doctest: +SKIP
    0.156
    """
    options = EvalOptions(model="policy", benchmarks=["heldout"], samples=1, temperature=0.0,
                          max_new_tokens=max_new_tokens, batch_size=batch_size, prompt=prompt)
    backend = TransformersBackend.from_loaded(model, tokenizer, batch_size)
    result, records = evaluate_rows(backend, rows, options)
    result["examples"] = [{"prompt": r["prompt"], "completion": r["samples"][0]["text"]}
                          for r in records[:3]]
    if out_dir is not None:
        write_report(out_dir, {"config": {"model": "policy", "prompt_examples": len(
            prompt.examples or [])}, "benchmarks": {"heldout": result}},
            [{"benchmark": "heldout", **r} for r in records])
    return result


def load_heldout(recipe: Recipe) -> list[dict[str, Any]]:
    """Canonical rows of `eval.heldout` ([] when the recipe has none)."""
    from reasoning_rl.data.dataset import load_canonical

    section = recipe.eval.heldout
    if section is None:
        return []
    return load_canonical(section.source, section.split or "test", recipe.data.columns,
                          task=recipe.data.task, lang=recipe.data.lang, limit=section.limit,
                          key_path="eval.heldout")
