"""`rollout:` recipe section: async settings that cannot run exit 2 before anything is written."""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path

import pytest

from reasoning_rl.cli import main
from reasoning_rl.recipe.config import load_recipe

RECIPE = textwrap.dedent("""\
    run: {name: t}
    data: {source: DATA, columns: {prompt: question}}
    rewards:
      - fn: rewards.trl_functions.format_reward
    trainer: {max_steps: 3, learning_rate: 1.0e-5, per_device_train_batch_size: 4,
              num_generations: 4, use_vllm: true}
    rollout: {mode: async, max_staleness: 1}
""")
HAS_VLLM = importlib.util.find_spec("vllm") is not None


@pytest.fixture()
def recipe_path(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "rows.jsonl"
    data.write_text('{"question": "What is 1 + 1?", "answer": "2"}\n')
    path = tmp_path / "recipe.yaml"
    path.write_text(RECIPE.replace("DATA", str(data)))
    return path


def test_sync_is_the_default(recipe_path):
    recipe = load_recipe(recipe_path, ["rollout.mode=sync"])
    assert load_recipe(recipe_path, ["rollout={}"]).rollout.mode == "sync"
    assert recipe.rollout.max_staleness == 1


def test_unknown_rollout_key_is_refused(recipe_path, capsys):
    assert main(["train", str(recipe_path), "rollout.max_stale=2"]) == 2
    assert "rollout.max_stale" in capsys.readouterr().err


@pytest.mark.parametrize(("override", "message"), [
    ("rollout.max_staleness=-1", "rollout.max_staleness: expected an integer >= 0, got -1"),
    ("trainer.use_vllm=false", "async generates with a vLLM engine; set trainer.use_vllm: true"),
    ("objective.max_refill_rounds=2", "set objective.max_refill_rounds: 0"),
    ("algorithm=trl trainer.num_iterations=2", "async needs one generation per optimizer step"),
    ("rollout.batch_timeout_s=0", "rollout.batch_timeout_s: expected a number > 0"),
])
def test_bad_async_settings_exit_2_before_writing(recipe_path, capsys, override, message):
    assert main(["train", str(recipe_path), *override.split()]) == 2
    assert message in capsys.readouterr().err
    assert not Path("runs").exists()


@pytest.mark.skipif(HAS_VLLM, reason="this environment has vLLM")
def test_async_without_vllm_installed_exits_2(recipe_path, capsys):
    assert main(["train", str(recipe_path)]) == 2
    err = capsys.readouterr().err
    assert "rollout.mode: async needs a vLLM engine, and vllm is not installed" in err
    assert not Path("runs").exists()


def test_lora_rank_vllm_cannot_take_is_refused_before_loading(recipe_path, capsys):
    overrides = ["model.lora={r: 1024, alpha: 16}"]
    assert main(["train", str(recipe_path), *overrides]) == 2
    err = capsys.readouterr().err
    assert "model.lora.r" in err and "rollout.lora_transfer: merged" in err
    assert not Path("runs").exists()
