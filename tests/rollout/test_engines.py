"""The rollout engine setup around TRL's trainer (`reasoning_rl.rollout.engines`)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from reasoning_rl.recipe.config import load_recipe
from reasoning_rl.recipe.errors import RecipeError
from reasoning_rl.rollout import engines


class Tokenizer:
    pad_token, eos_token, eos_token_id = "<pad>", "</s>", 2


class Model:
    def generate(self, *args, **kwargs):
        return args, kwargs


def test_transformers_rollouts_stop_at_the_stop_strings_and_pad_with_eos():
    args, model, tokenizer = SimpleNamespace(use_vllm=False, generation_kwargs=None), Model(), \
        Tokenizer()
    engines.stop_rollouts_at(["\nUser:"], args, model, tokenizer)
    # stopped rows are filled with EOS, where TRL's completion mask ends
    assert args.generation_kwargs == {"stop_strings": ["\nUser:"], "pad_token_id": 2}
    assert model.generate()[1] == {"tokenizer": tokenizer}  # transformers needs it for stops
    assert tokenizer.pad_token == "<pad>"  # the tokenizer that ships in final/ is unchanged


def test_vllm_rollouts_take_stop_and_leave_the_model_alone():
    args, model, tokenizer = SimpleNamespace(use_vllm=True, generation_kwargs={"top_k": 5}), \
        Model(), Tokenizer()
    engines.stop_rollouts_at(["\nUser:"], args, model, tokenizer)
    assert args.generation_kwargs == {"top_k": 5, "stop": ["\nUser:"]}
    assert "generate" not in vars(model) and tokenizer.pad_token == "<pad>"


def test_no_stop_strings_change_nothing():
    args, model = SimpleNamespace(use_vllm=False, generation_kwargs=None), Model()
    engines.stop_rollouts_at([], args, model, Tokenizer())
    assert args.generation_kwargs is None and "generate" not in vars(model)


def test_a_synchronous_transformers_run_builds_without_engine_changes():
    recipe = load_recipe("recipes/smoke_cpu.yaml")
    with engines.building(recipe, SimpleNamespace(use_vllm=False)) as cpu_colocate:
        assert cpu_colocate is False
    engines.attach(SimpleNamespace(), recipe, SimpleNamespace(seed=0), cpu_colocate)  # no-op


def test_an_async_rollout_the_generator_cannot_run_is_refused_before_loading():
    recipe = load_recipe("recipes/smoke_cpu.yaml", overrides=["rollout.mode=async"])
    with pytest.raises(RecipeError, match="rollout"):
        engines.check_rollout(recipe)
