"""The plan's ZeRO model-state memory against DeepSpeed's own estimators, for the shipped recipes.

DeepSpeed ships closed-form estimates of what weights, gradients and optimizer states take per
GPU under ZeRO-2 and ZeRO-3 (`estimate_zero{2,3}_model_states_mem_needs_all_cold` print them
for a parameter count; the functions below are the ones they call). `reasoning-rl plan` sums
the same items line by line, so for every recipe and layout the two must agree within 10%.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reasoning_rl.plan.launch import layout_for, zero_stage
from reasoning_rl.plan.memory import state_memory
from reasoning_rl.plan.model_size import architecture_for
from reasoning_rl.recipe.config import load_recipe

REPO = Path(__file__).resolve().parents[1]
STATE_ITEMS = ("weights", "gradients", "fp32 gradient partition", "optimizer states",
               "ZeRO-3 gathered params")


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
def test_zero_state_memory_matches_deepspeed_estimator(monkeypatch, name, gpus, nodes):
    monkeypatch.chdir(REPO)  # trainer.deepspeed is relative to the repository root
    recipe = load_recipe(REPO / "recipes" / name)
    stage = zero_stage(recipe)
    world = layout_for(recipe, gpus, nodes, vllm_gpus=1).world_size
    arch = architecture_for(recipe.model.name_or_path)[0]
    ours = sum(m.bytes for m in state_memory(arch, recipe, stage, world) if m.item in STATE_ITEMS)
    # the estimator's world is the training processes: it never sees the vLLM server's GPU
    theirs = deepspeed_estimate(stage, arch.params(), arch.embedding_params(), world, 1)
    assert ours == pytest.approx(theirs, rel=0.10), (ours / 1e9, theirs / 1e9)


def test_zero2_matches_deepspeed_exactly():
    recipe = load_recipe(REPO / "recipes" / "magistral_math_zero2_8gpu.yaml")
    arch = architecture_for(recipe.model.name_or_path)[0]
    ours = sum(m.bytes for m in state_memory(arch, recipe, 2, 7))
    assert ours == pytest.approx(deepspeed_estimate(2, arch.params(), 0, 7, 1), abs=8)
