"""Length curriculum: stages expand into full recipes, and stage 2 trains from stage 1's model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from reasoning_rl.recipe.config import load_recipe, load_stages
from reasoning_rl.recipe.errors import RecipeError
from reasoning_rl.training import train_stages

REPO = Path(__file__).resolve().parents[1]


def test_example_curriculum_expands_stage_overrides():
    short, long = load_stages(REPO / "recipes/magistral_curriculum_cpu.yaml")
    assert short.trainer["max_completion_length"] == 64
    assert long.trainer["max_completion_length"] == 128
    assert long.trainer["per_device_train_batch_size"] == 4
    assert long.rewards[2].params == {"l_max": 128, "l_cache": 32}
    assert short.rewards[2].params == {"l_max": 64, "l_cache": 16}
    assert long.run_dir == Path("runs/curriculum_cpu/stage2-long")
    assert long.trainer["learning_rate"] == 1e-5  # inherited from the base recipe


def test_command_line_overrides_reach_every_stage():
    stages = load_stages(REPO / "recipes/magistral_curriculum_cpu.yaml", ["run.seed=7"])
    assert [s.run.seed for s in stages] == [7, 7]


def write(tmp_path: Path, raw: dict) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def base(tmp_path: Path) -> dict:
    return {"run": {"name": "c", "output_dir": str(tmp_path / "c")},
            "data": {"source": str(REPO / "data/arithmetic_train.jsonl"), "limit": 16},
            "rewards": [{"fn": "test_training.length_reward"}],
            "trainer": {"max_steps": 1, "per_device_train_batch_size": 2, "num_generations": 2,
                        "max_completion_length": 8, "learning_rate": 1e-4}}


def test_bad_stage_override_names_the_stage(tmp_path):
    raw = base(tmp_path)
    raw["stages"] = [{"name": "a"}, {"name": "b", "overrides": {"trainer.lerning_rate": 1}}]
    with pytest.raises(RecipeError, match=r"stages\[1\] \(b\): trainer.lerning_rate"):
        load_recipe(write(tmp_path, raw))


def test_curriculum_with_lora_is_refused(tmp_path):
    raw = base(tmp_path)
    raw["model"] = {"lora": {"r": 4}}
    raw["stages"] = [{"name": "a"}]
    with pytest.raises(RecipeError, match="stages: a curriculum with model.lora"):
        load_recipe(write(tmp_path, raw))


def test_second_stage_starts_from_first_stage_model(tmp_path):
    raw = base(tmp_path)
    raw["stages"] = [{"name": "a"},
                     {"name": "b", "overrides": {"trainer.max_completion_length": 12}}]
    stages = load_stages(write(tmp_path, raw))
    summaries = train_stages(stages)
    assert [s["steps"] for s in summaries] == [1, 1]
    config_b = yaml.safe_load((tmp_path / "c/stage2-b/config.yaml").read_text())
    assert config_b["model"]["name_or_path"] == str(tmp_path / "c/stage1-a/final")
    assert config_b["trainer"]["max_completion_length"] == 12
    # Resuming a finished curriculum re-runs nothing and returns the same summaries.
    again = train_stages(load_stages(write(tmp_path, raw)), resume=True)
    assert again == json.loads(json.dumps(summaries))
