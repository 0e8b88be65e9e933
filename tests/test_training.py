"""Real GRPO training on the embedded model: 2 steps change the weights; kill + resume continues.

The rewards here are test-only functions named by dotted path (pytest puts tests/ on sys.path,
and subprocesses get it through PYTHONPATH). `length_reward` makes groups diverse so every step
has a gradient; `recording_reward` appends the prompts of each step to a file, so the resume
test can compare the data order of a resumed run with an uninterrupted one.
"""

from __future__ import annotations

import json
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

from reasoning_rl.model.loading import resolve_model_path
from reasoning_rl.recipe.config import load_recipe
from reasoning_rl.run.checkpoint import is_complete
from reasoning_rl.run.metrics import read_metrics
from reasoning_rl.training import train
from rewards.trl_functions import message_text

REPO = Path(__file__).resolve().parents[1]


def length_reward(completions, **kwargs) -> list[float]:
    """Longer completions score higher: sampled groups almost never tie."""
    return [len(message_text(c)) / 100 for c in completions]


def recording_reward(prompts, completions, path: str, trainer_state=None, **kwargs):
    """Record (step, problems) and score by length."""
    problems = sorted({p[-1]["content"] for p in prompts})
    with open(path, "a") as handle:
        handle.write(json.dumps({"step": trainer_state.global_step, "problems": problems,
                                 "pid": os.getpid()}) + "\n")
    return length_reward(completions)


def half_flat_reward(prompts, completions, path: str, trainer_state=None, **kwargs):
    """`recording_reward`, but problems with an even character count score 1 for every
    completion: their groups are all-equal, filtered, and refill has to draw more prompts."""
    scores = recording_reward(prompts, completions, path, trainer_state)
    return [1.0 if len(p[-1]["content"]) % 2 == 0 else s
            for p, s in zip(prompts, scores, strict=True)]


def tiny_recipe(tmp_path: Path, name: str, max_steps: int, **extra) -> Path:
    raw = {
        "run": {"name": name, "output_dir": str(tmp_path / name), "seed": 1},
        "data": {"source": str(REPO / "data/arithmetic_train.jsonl"), "limit": 32},
        "rewards": [{"fn": "test_training.length_reward"}],
        "trainer": {"max_steps": max_steps, "per_device_train_batch_size": 4,
                    "num_generations": 2, "max_completion_length": 12,
                    "learning_rate": 1e-4, "save_steps": 1},
    }
    for key, value in extra.items():
        raw[key] = value
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_two_steps_train_change_weights_and_write_run_files(tmp_path):
    run = {"name": "two", "output_dir": str(tmp_path / "two"), "keep_checkpoints": 1}
    path = tiny_recipe(tmp_path, "two", 2, run=run, eval={
        "heldout": {"source": str(REPO / "data/arithmetic_heldout.jsonl"), "limit": 4},
        "max_new_tokens": 8, "batch_size": 4})
    summary = train(load_recipe(path))
    run_dir = tmp_path / "two"

    assert summary["steps"] == 2
    metrics = read_metrics(run_dir)
    assert [m["step"] for m in metrics] == [1, 2]
    assert all("rewards/length_reward/mean" in m and m["step_time_s"] > 0 for m in metrics)
    assert summary["eval_before"]["metrics"]["problems"] == 4
    assert summary["eval_after"]["metrics"]["problems"] == 4
    assert (run_dir / "eval_after" / "results.md").is_file()
    assert json.loads((run_dir / "summary.json").read_text())["steps"] == 2
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["trainer"]["max_steps"] == 2
    assert is_complete(run_dir / "checkpoint-2")
    assert not (run_dir / "checkpoint-1").exists()  # pruned: keep_checkpoints is 1

    before = load_file(Path(resolve_model_path("embedded:smollm2-135m-instruct"))
                       / "model.safetensors")
    after = load_file(run_dir / "final/model.safetensors")
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert len(changed) > len(before) // 2, f"only {len(changed)} tensors changed"


def run_cli(args: list[str], **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    return subprocess.Popen([sys.executable, "-m", "reasoning_rl.cli", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            **kwargs)


def wait_for(predicate, process: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if process.poll() is not None:
            raise AssertionError(f"run ended early:\n{process.stdout.read()[-3000:]}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("timed out waiting for the run")
        time.sleep(0.2)


def recorded_steps(path: Path) -> dict[int, list[list[str]]]:
    """Per step, the problems of each generation round (the first, then refills).

    A resumed run redoes the steps after its checkpoint: from the first record of a new
    process on, what the killed process recorded for those steps is dropped.
    """
    steps: dict[int, list[list[str]]] = {}
    pid = None
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if record.get("pid") != pid:
            pid = record.get("pid")
            steps = {k: v for k, v in steps.items() if k < record["step"]}
        steps.setdefault(record["step"], []).append(record["problems"])
    return steps


def test_kill_after_checkpoint_then_resume_continues(tmp_path, small_model):
    """A refill recipe with two minibatches per generated batch, killed with SIGKILL after a
    checkpoint: the resumed run draws the same prompts, refills included, step for step."""
    steps = 6
    reward = [{"fn": "test_training.half_flat_reward", "params": {"path": ""}}]

    def recipe(name: str) -> Path:
        reward[0]["params"]["path"] = str(tmp_path / f"{name}.prompts.jsonl")
        return tiny_recipe(tmp_path, name, steps, rewards=reward,
                           model={"name_or_path": small_model},
                           objective={"minibatches": 2, "max_refill_rounds": 3},
                           trainer={"max_steps": steps, "per_device_train_batch_size": 4,
                                    "num_generations": 2, "max_completion_length": 12,
                                    "learning_rate": 1e-4, "save_steps": 2},
                           run={"name": name, "output_dir": str(tmp_path / name), "seed": 1,
                                "keep_checkpoints": 2})

    reference = run_cli(["train", str(recipe("straight"))])
    assert reference.wait(timeout=600) == 0, reference.stdout.read()[-3000:]

    killed = run_cli(["train", str(recipe("killed"))], start_new_session=True)
    run_dir = tmp_path / "killed"
    wait_for(lambda: is_complete(run_dir / "checkpoint-2"), killed, timeout_s=300)
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    assert not (run_dir / "summary.json").exists()

    resumed = run_cli(["train", str(recipe("killed")), "--resume"])
    output = resumed.communicate(timeout=600)[0]
    assert resumed.returncode == 0, output[-3000:]

    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["steps"] == steps
    assert Path(summary["resumed_from"]).name.startswith("checkpoint-")
    assert [m["step"] for m in read_metrics(run_dir)] == list(range(1, steps + 1))
    # Same data order as the uninterrupted run, step for step, across the restart.
    straight = recorded_steps(tmp_path / "straight.prompts.jsonl")
    resumed_steps = recorded_steps(tmp_path / "killed.prompts.jsonl")
    assert resumed_steps == straight
    assert any(len(rounds) > 1 for rounds in straight.values())  # refill rounds were drawn
    state = json.loads((run_dir / f"checkpoint-{steps}/trainer_state.json").read_text())
    assert state["global_step"] == steps


def test_resume_without_checkpoint_is_a_user_error(tmp_path):
    path = tiny_recipe(tmp_path, "fresh", 1)
    process = run_cli(["train", str(path), "--resume"])
    output = process.communicate(timeout=120)[0]
    assert process.returncode == 2
    assert "--resume: no complete checkpoint" in output


def test_existing_run_is_never_overwritten(tmp_path):
    run_dir = tmp_path / "done"
    (run_dir / "checkpoint-3").mkdir(parents=True)
    path = tiny_recipe(tmp_path, "done", 1)
    process = run_cli(["train", str(path)])
    output = process.communicate(timeout=120)[0]
    assert process.returncode == 2 and "already holds a run" in output
    assert (run_dir / "checkpoint-3").is_dir()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__]))
