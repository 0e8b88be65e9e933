"""`reasoning-rl plan` and the GPU check: parameter counts, memory per GPU, launch, refusal.

Parameter counts (taken from models transformers builds on the meta device) are checked against
the embedded model's real weights and the published counts of hub models.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reasoning_rl.cli import main
from reasoning_rl.plan.launch import (
    batch_for,
    gpu_requirements,
    make_plan,
    require_gpus_for,
    zero_stage,
)
from reasoning_rl.plan.memory import GB, state_memory
from reasoning_rl.plan.model_size import KNOWN_CONFIGS, architecture_for
from reasoning_rl.recipe.config import load_recipe
from reasoning_rl.recipe.errors import UserError

REPO = Path(__file__).resolve().parents[2]
GPU_RECIPES = sorted(str(p.relative_to(REPO)) for p in REPO.glob("recipes/magistral_*.yaml")
                     if "cpu" not in p.name)


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch):
    monkeypatch.chdir(REPO)  # recipes name trainer.deepspeed relative to the repository root
    monkeypatch.delenv("ACCELERATE_USE_DEEPSPEED", raising=False)


def recipe(name: str, *overrides: str):
    return load_recipe(REPO / "recipes" / name, list(overrides))


def lines(plan) -> dict[str, float]:
    return {line.item: line.bytes for line in plan.memory}


# --- parameter counts -------------------------------------------------------------------------

def test_embedded_model_count_from_its_config_json():
    arch, source = architecture_for("embedded:smollm2-135m-instruct")
    assert source.endswith("config.json")
    assert arch.params() == 134_515_008  # the converted model's sum(p.numel()), measured


@pytest.mark.parametrize("name, published", [
    ("Qwen/Qwen2.5-1.5B-Instruct", 1_543_714_304),
    ("Qwen/Qwen2.5-7B-Instruct", 7_615_616_512),
    ("Qwen/Qwen2.5-14B-Instruct", 14_770_033_664),
    ("Qwen/Qwen3-8B", 8_190_735_360),
])
def test_hub_counts_match_published_figures(name, published):
    assert architecture_for(name)[0].params() == published


def test_qwen3_1_7b_counts_its_tied_lm_head_once():
    arch = architecture_for("Qwen/Qwen3-1.7B")[0]
    # 2,031,739,904 is the figure with lm_head counted as a separate matrix; it is tied.
    assert arch.params() + arch.vocab * arch.hidden == 2_031_739_904
    assert arch.params() == 1_720_574_976


def test_lora_counts_follow_target_modules():
    arch = architecture_for("Qwen/Qwen3-1.7B")[0]
    # q_proj: 2048 -> 16 x 128 = 2048, v_proj: 2048 -> 8 x 128 = 1024; r x (in + out) per block
    assert arch.lora_params(8, ["q_proj", "v_proj"]) == 28 * 8 * ((2048 + 2048) + (2048 + 1024))
    assert arch.lora_params(8) > arch.lora_params(8, ["q_proj", "v_proj"])


def test_unknown_hub_model_is_a_user_error_listing_known_names():
    with pytest.raises(UserError, match="qwen/qwen2.5-7b-instruct"):
        architecture_for("someone/unknown-model")


def test_local_folder_is_sized_from_its_config(tmp_path):
    config = {"hidden_size": 64, "num_hidden_layers": 2, "vocab_size": 100,
              "intermediate_size": 128, "num_attention_heads": 4, "num_key_value_heads": 2,
              "tie_word_embeddings": True, "model_type": "llama"}
    (tmp_path / "config.json").write_text(json.dumps(config))
    arch, _ = architecture_for(str(tmp_path))
    # embeddings 6400; per block q 4096 + k 2048 + v 2048 + o 4096 + MLP 3*8192 + norms 128
    assert arch.params() == 6400 + 2 * (4096 + 2048 + 2048 + 4096 + 3 * 8192 + 128) + 64
    assert set(KNOWN_CONFIGS) >= {"qwen/qwen2.5-1.5b-instruct", "qwen/qwen3-1.7b"}


# --- memory per GPU ---------------------------------------------------------------------------

P7B = 7_615_616_512


@pytest.mark.parametrize("stage, weights, grads, optim", [
    (None, 2, 2, 4),  # plain AdamW on a bf16 model: m and v in bf16
    (1, 2, 4, 8 / 7),  # LoRA from here on: fp32 adapters, their gradients and Adam m and v
    (2, 2, 4 / 7, 8 / 7),
    (3, 2 / 7, 4 / 7, 8 / 7),
])
def test_torch_adamw_states_shard_by_zero_stage(stage, weights, grads, optim):
    """Bytes per parameter (weights) and per trained parameter (gradients, optimizer)."""
    overrides = () if stage is None else ("model.lora.r=16",)
    r = recipe("magistral_math_zero2_8gpu.yaml", *overrides)
    arch = architecture_for(r.model.name_or_path)[0]
    got = {m.item: m.bytes for m in state_memory(arch, r, stage, world=7)}
    trained = P7B if stage is None else arch.lora_params(16)
    assert got["weights"] == pytest.approx(weights * P7B)
    assert got["gradients"] == pytest.approx(grads * trained)
    assert got["optimizer states"] == pytest.approx(optim * trained)
    assert ("LoRA adapters (fp32)" in got) == (stage is not None)
    assert got.get("ZeRO-3 gathered layer", 0) == 4 * arch.largest_layer_params() * (stage == 3)


def test_zero2_recipe_plan_reads_stage_from_its_deepspeed_file():
    plan = make_plan("recipes/magistral_math_zero2_8gpu.yaml",
                     recipe("magistral_math_zero2_8gpu.yaml"))
    assert plan.stage == 2 and plan.layout.world_size == 7
    # DeepSpeed's ZeRO-2 estimate: 2 B/param + 18 B/param / 7 ranks = 34.81 GB
    assert lines(plan)["model states (ZeRO-2)"] == 2 * P7B + 18 * P7B // 7
    assert not plan.warnings


def test_lora_trains_only_adapters_and_counts_vllm_share():
    plan = make_plan("r.yaml", recipe("magistral_math_lora_1gpu.yaml"), gpu_memory_gb=80)
    got = lines(plan)
    assert plan.trainable == architecture_for("Qwen/Qwen2.5-1.5B")[0].lora_params(32) == 36_929_536
    assert got["weights"] == 2 * 1_543_714_304
    assert got["optimizer states"] == 8 * 36_929_536
    assert got["vLLM (colocate)"] == pytest.approx(0.35 * 80 * GB)


def test_gradient_checkpointing_shrinks_activations():
    on = make_plan("r", recipe("magistral_math_lora_1gpu.yaml"))
    off = make_plan("r", recipe("magistral_math_lora_1gpu.yaml",
                                "trainer.gradient_checkpointing=false"))
    assert lines(off)["activations"] > 5 * lines(on)["activations"]
    assert lines(off)["logits"] == lines(on)["logits"] == 8 * 3072 * 151_936 * 4


def test_warns_when_it_will_not_fit():
    full_14b = recipe("magistral_math_zero3_8gpu.yaml", "trainer.deepspeed=null")
    plan = make_plan("r", full_14b, gpus=8)
    assert plan.total_bytes > 8 * 14_770_033_664  # bf16 weights, grads, AdamW m and v: 118 GB
    assert any("will not fit" in w for w in plan.warnings)
    fits = make_plan("r", recipe("magistral_math_zero3_8gpu.yaml"), gpus=8)
    assert not fits.warnings
    small_gpu = make_plan("r", recipe("magistral_math_zero3_8gpu.yaml"), gpus=8,
                          gpu_memory_gb=40)
    assert any("will not fit" in w for w in small_gpu.warnings)


# --- batch and launch -------------------------------------------------------------------------

def test_effective_batch_follows_trl_rules():
    batch = batch_for({"per_device_train_batch_size": 2, "gradient_accumulation_steps": 16,
                       "num_generations": 16}, world_size=7)
    assert (batch.completions_per_step, batch.prompts_per_generation) == (224, 14)
    bad = make_plan("r", recipe("magistral_math_lora_1gpu.yaml", "trainer.num_generations=6",
                                "objective.minibatches=1"))
    assert any("not a multiple of num_generations" in w for w in bad.warnings)


def test_launch_commands_single_and_multi_node():
    r = recipe("magistral_math_zero3_8gpu.yaml")
    one = "\n".join(make_plan("recipes/x.yaml", r, gpus=8).commands)
    assert "CUDA_VISIBLE_DEVICES=7 trl vllm-serve --model Qwen/Qwen2.5-14B-Instruct" in one
    assert ("CUDA_VISIBLE_DEVICES=0,1,2,3,4,5,6 accelerate launch --config_file "
            "recipes/accelerate/zero3.yaml --num_processes 7") in one
    two = make_plan("recipes/x.yaml", r, gpus=8, nodes=2)
    assert two.layout.world_size == 16
    assert "--num_processes 16 --num_machines 2 --machine_rank $NODE_RANK" in two.commands[-1]
    assert "trainer.vllm_server_host=" in two.commands[-1]
    single = make_plan("recipes/y.yaml", recipe("magistral_math_lora_1gpu.yaml"))
    assert single.commands == ["reasoning-rl train recipes/y.yaml"]


def test_plan_cli_prints_plan_with_overrides(capsys):
    assert main(["plan", "recipes/magistral_math_lora_1gpu.yaml", "--gpu-memory-gb", "20",
                 "trainer.per_device_train_batch_size=4"]) == 0
    out = capsys.readouterr().out
    assert "1,543,714,304 parameters" in out and "4 x 3072 completion tokens" in out
    assert "WARNING: will not fit" in out  # 7 GB for vLLM + 7.5 GB of logits + weights, ...
    assert main(["plan", "recipes/magistral_math_lora_1gpu.yaml",
                 "model.name_or_path=nobody/nothing"]) == 2


# --- refusing GPU recipes without a GPU -------------------------------------------------------

@pytest.mark.parametrize("path", GPU_RECIPES)
def test_every_gpu_recipe_is_refused_without_cuda(path):
    r = load_recipe(REPO / path)
    assert gpu_requirements(r)
    with pytest.raises(UserError, match=r"trainer\.bf16: true.*reasoning-rl plan"):
        require_gpus_for(r, cuda_available=False)
    require_gpus_for(r, cuda_available=True)


def test_cpu_recipe_passes_and_deepspeed_launch_is_named(monkeypatch):
    smoke = recipe("smoke_cpu.yaml")
    require_gpus_for(smoke, cuda_available=False)
    # colocated vLLM has a CPU build (reasoning_rl/rollout/vllm_cpu.py); server mode syncs over NCCL
    require_gpus_for(recipe("smoke_cpu.yaml", "trainer.use_vllm=true"), cuda_available=False)
    assert gpu_requirements(recipe("smoke_cpu.yaml", "trainer.use_vllm=true",
                                   "trainer.vllm_mode=server")) == ["trainer.vllm_mode: server"]
    monkeypatch.setenv("ACCELERATE_USE_DEEPSPEED", "true")
    with pytest.raises(UserError, match="a DeepSpeed launch"):
        require_gpus_for(smoke, cuda_available=False)


def test_train_cli_refuses_before_loading_anything(monkeypatch, tmp_path, capsys):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)

    def must_not_load(*args, **kwargs):
        raise AssertionError("the model was loaded before the GPU check")

    monkeypatch.setattr("reasoning_rl.training.load_policy", must_not_load)
    monkeypatch.setattr("reasoning_rl.training.load_canonical", must_not_load)
    path = "recipes/magistral_math_zero2_8gpu.yaml"
    assert main(["train", path, f"run.output_dir={tmp_path / 'run'}"]) == 2
    err = capsys.readouterr().err
    assert "trainer.deepspeed: recipes/accelerate/ds_zero2.json" in err
    assert "recipes/smoke_cpu.yaml" in err
    assert main(["train", path, "--print-config"]) == 0


def test_zero_stage_missing_file_is_a_user_error():
    r = recipe("magistral_math_zero2_8gpu.yaml", "trainer.deepspeed=missing/ds.json")
    with pytest.raises(UserError, match="missing/ds.json"):
        zero_stage(r)
