"""Periodic eval during training: runs every N steps on the policy, adds eval/... to the log."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from reasoning_rl.eval.periodic import PeriodicEval
from reasoning_rl.recipe.config import load_recipe
from reasoning_rl.recipe.errors import RecipeError

RECIPE = "recipes/smoke_cpu.yaml"


def test_off_by_default_and_loads_nothing():
    callback = PeriodicEval.from_recipe(load_recipe(RECIPE))
    assert callback.every_steps == 0 and callback.sets == {}


def test_recipe_needs_something_to_evaluate():
    with pytest.raises(RecipeError, match="eval.every_steps: nothing to evaluate"):
        load_recipe(RECIPE, ["eval.every_steps=2", "eval.heldout=null"])


def test_benchmarks_without_periodic_eval_are_not_silently_ignored():
    with pytest.raises(RecipeError, match="eval.benchmarks: evaluated only during training"):
        load_recipe(RECIPE, ["eval.benchmarks={names: [gsm8k]}"])
    with pytest.raises(RecipeError, match="eval.heldout: before_after is false"):
        load_recipe(RECIPE, ["eval.heldout.before_after=false"])


def test_every_n_steps_the_policy_is_evaluated_and_logged():
    from reasoning_rl.model.loading import load_model, load_tokenizer, resolve_model_path

    recipe = load_recipe(RECIPE, ["eval.every_steps=2", "eval.heldout.limit=2",
                                    "eval.max_new_tokens=8"])
    callback = PeriodicEval.from_recipe(recipe)
    assert len(callback.sets["heldout"]) == 2
    path = resolve_model_path("embedded:smollm2-135m-instruct")
    model, tokenizer = load_model(path, "float32"), load_tokenizer(path)
    control = SimpleNamespace(should_log=False)
    callback.on_step_end(None, SimpleNamespace(global_step=1), control, model=model,
                         processing_class=tokenizer)
    assert callback.pending == {} and not control.should_log
    callback.on_step_end(None, SimpleNamespace(global_step=2), control, model=model,
                         processing_class=tokenizer)
    assert control.should_log
    logs = {"loss": 0.1}
    callback.on_log(None, None, control, logs=logs)
    assert {"eval/heldout/pass@1", "eval/heldout/format_rate",
            "eval/heldout/mean_tokens"} <= set(logs)
    assert 0 < logs["eval/heldout/mean_tokens"] <= 8 and callback.pending == {}
