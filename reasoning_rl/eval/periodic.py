"""Benchmark evaluation every N training steps, logged next to the training metrics.

Why: the before/after held-out eval says whether a run helped; a curve says when it started
helping or hurting. With `eval.every_steps: N` the policy being trained is evaluated on the
recipe's `eval.benchmarks` (or its `eval.heldout` set) exactly as `reasoning-rl eval` would
(same prompts, same grading through the rewards package), and the numbers are added to that
step's log line as `eval/<benchmark>/<metric>`, so they land in metrics.jsonl.
"""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback

from reasoning_rl.eval.evaluate import EvalOptions, evaluate_rows
from reasoning_rl.recipe.config import Recipe

LOGGED = ("pass@1", "pass@1_lenient", "format_rate", "language_consistency", "mean_tokens")


class PeriodicEval(TrainerCallback):
    """Evaluates the policy every `every_steps` optimizer steps (does nothing when 0)."""

    def __init__(self, sets: dict[str, list[dict[str, Any]]], every_steps: int,
                 options: EvalOptions, batch_size: int = 8):
        self.sets, self.every_steps, self.options = sets, every_steps, options
        self.batch_size = batch_size
        self.pending: dict[str, float] = {}

    @classmethod
    def from_recipe(cls, recipe: Recipe) -> PeriodicEval:
        """The callback for a recipe's `eval` section (benchmarks are loaded only when used)."""
        section, bench = recipe.eval, recipe.eval.benchmarks
        options = EvalOptions(model="policy", benchmarks=bench.names if bench else [],
                              samples=bench.samples if bench else 1,
                              max_new_tokens=section.max_new_tokens,
                              temperature=bench.temperature if bench else 0.0,
                              limit=bench.limit if bench else None,
                              langs=bench.langs if bench else None, seed=recipe.run.seed,
                              data_dir=bench.data_dir if bench else None,
                              prompt=section.prompt_for(recipe.prompt))
        return cls(load_sets(recipe, options) if section.every_steps > 0 else {},
                   section.every_steps, options, section.batch_size)

    def on_step_end(self, args, state, control, model=None, processing_class=None, **kwargs):
        if not self.sets or self.every_steps <= 0 or state.global_step % self.every_steps:
            return
        from reasoning_rl.eval.generation import TransformersBackend  # torch only when used

        backend = TransformersBackend.from_loaded(model, processing_class, self.batch_size)
        for name, rows in self.sets.items():
            result, _ = evaluate_rows(backend, rows, self.options)
            self.pending.update({f"eval/{name}/{key}": value
                                 for key, value in result["metrics"].items()
                                 if (key in LOGGED or key.startswith("maj@"))
                                 and value is not None})
        control.should_log = True

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.pending and logs is not None:
            logs.update(self.pending)  # later callbacks (metrics.jsonl) see these keys
            self.pending = {}


def load_sets(recipe: Recipe, options: EvalOptions) -> dict[str, list[dict[str, Any]]]:
    """Rows per benchmark for periodic eval: `eval.benchmarks`, else the held-out set."""
    from reasoning_rl.eval.evaluate import load_selected
    from reasoning_rl.eval.heldout import load_heldout

    if options.benchmarks:
        return load_selected(options)
    return {"heldout": load_heldout(recipe)}
