"""The plan's ZeRO model-state memory is DeepSpeed's own estimate, for the shipped recipes.

DeepSpeed ships closed-form estimates of what weights, gradients and optimizer states take per
GPU under ZeRO-2 and ZeRO-3 (`estimate_zero{2,3}_model_states_mem_needs_all_cold` print them
for a parameter count; the functions below are the ones they call). `reasoning-rl plan` prints
that figure as its model-state line, so for every recipe and layout the two are equal.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from reasoning_rl.cli import main
from reasoning_rl.plan.launch import layout_for, make_plan, zero_stage
from reasoning_rl.plan.memory import state_memory
from reasoning_rl.plan.model_size import architecture_for, meta_model
from reasoning_rl.recipe.config import load_recipe
from reasoning_rl.recipe.errors import UserError

REPO = Path(__file__).resolve().parents[2]
P7B = 7_615_616_512


def deepspeed_estimate(stage: int, params: int, largest_layer: int, gpus: int, nodes: int) -> int:
    """DeepSpeed's per-GPU model-state bytes, no offload (the recipes offload nothing)."""
    if stage == 2:
        from deepspeed.runtime.zero.stage_1_and_2 import estimate_zero2_model_states_mem_needs

        return estimate_zero2_model_states_mem_needs(params, gpus, nodes, cpu_offload=False)[1]
    from deepspeed.runtime.zero.stage3 import estimate_zero3_model_states_mem_needs

    return estimate_zero3_model_states_mem_needs(params, largest_layer, gpus, nodes,
                                                 cpu_offload=False, cpu_offload_params=False)[1]


@pytest.mark.parametrize("name", ["magistral_math_zero2_8gpu.yaml",
                                  "magistral_math_zero3_8gpu.yaml"])
@pytest.mark.parametrize("gpus, nodes", [(8, 1), (8, 2), (4, 1)])
def test_zero_state_memory_is_deepspeed_estimator(monkeypatch, name, gpus, nodes):
    monkeypatch.chdir(REPO)  # trainer.deepspeed is relative to the repository root
    recipe = load_recipe(REPO / "recipes" / name)
    layout = layout_for(recipe, gpus, nodes, vllm_gpus=1)
    arch = architecture_for(recipe.model.name_or_path)[0]
    [line] = state_memory(arch, recipe, zero_stage(recipe), layout.world_size)
    # the estimator's world is the training processes: it never sees the vLLM server's GPU;
    # its GPU figure depends on GPUs per node x nodes only
    theirs = deepspeed_estimate(zero_stage(recipe), arch.params(), arch.largest_layer_params(),
                                layout.world_size // nodes, nodes)
    assert line.bytes == theirs


def test_zero2_and_zero3_by_hand():
    """DeepSpeed's formulas, worked by hand: 2 B/param + 18 B/param / N under ZeRO-2;
    4 B x largest layer + 18 B/param / N under ZeRO-3 (the largest layer is the embedding)."""
    recipe = load_recipe(REPO / "recipes" / "magistral_math_zero2_8gpu.yaml")
    arch = architecture_for(recipe.model.name_or_path)[0]
    [zero2] = state_memory(arch, recipe, 2, 7)
    assert zero2.bytes == 15_231_233_024 + 19_583_013_888 == 2 * P7B + 18 * P7B // 7
    [zero3] = state_memory(arch, recipe, 3, 7)
    assert arch.largest_layer_params() == 152_064 * 3584  # vocab x hidden
    assert zero3.bytes == 4 * 152_064 * 3584 + 18 * P7B // 7 == 21_763_003_392


def test_largest_layer_is_deepspeeds_definition():
    from deepspeed.runtime.zero.stage3 import model_to_params

    from reasoning_rl.plan.model_size import from_config

    config = {"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2,
              "vocab_size": 1000, "intermediate_size": 128, "num_attention_heads": 4}
    meta = meta_model(config)
    real = meta.to_empty(device="cpu")  # real tensors: DeepSpeed dedups by data_ptr
    assert model_to_params(real) == (from_config(config).params(),
                                     from_config(config).largest_layer_params())
    assert from_config(config).largest_layer_params() == 1000 * 64


def test_missing_deepspeed_fails_closed_with_the_install_command(monkeypatch):
    for module in ("deepspeed", "deepspeed.runtime.zero.stage_1_and_2",
                   "deepspeed.runtime.zero.stage3"):
        monkeypatch.setitem(sys.modules, module, None)  # import raises ImportError
    monkeypatch.chdir(REPO)
    recipe = load_recipe(REPO / "recipes" / "magistral_math_zero2_8gpu.yaml")
    with pytest.raises(UserError, match=r"deepspeed is not installed.*\.\[gpu\]"):
        make_plan("r", recipe)
    # recipes without DeepSpeed never need it
    assert make_plan("r", load_recipe(REPO / "recipes" / "magistral_math_lora_1gpu.yaml")).memory


@pytest.mark.parametrize("stage", [0, 1])
def test_full_fine_tune_under_zero_0_or_1_is_refused(stage, tmp_path, capsys):
    recipe = load_recipe(REPO / "recipes" / "magistral_math_zero2_8gpu.yaml")
    arch = architecture_for(recipe.model.name_or_path)[0]
    with pytest.raises(UserError, match=f"ZeRO stage {stage}.*zero_optimization.stage to 2"):
        state_memory(arch, recipe, stage, 7)
    config = tmp_path / "ds.json"
    config.write_text(json.dumps({"zero_optimization": {"stage": stage}}))
    path = str(REPO / "recipes" / "magistral_math_zero2_8gpu.yaml")
    assert main(["plan", path, f"trainer.deepspeed={config}"]) == 2
    assert f"ZeRO stage {stage}" in capsys.readouterr().err
