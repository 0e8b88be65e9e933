"""Every shipped recipe and launch config is valid without a GPU or network.

A recipe a user launches as is must load (schema, TRL fields, reward imports, local files),
name its launch command in its header, and, for DeepSpeed recipes, launch with an accelerate
config that points at the same DeepSpeed file as the recipe's `trainer.deepspeed`.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from reasoning_rl.recipe.config import load_recipe

REPO = Path(__file__).resolve().parents[1]
RECIPES = sorted(REPO.glob("recipes/*.yaml"))
ACCELERATE_CONFIGS = sorted(REPO.glob("recipes/accelerate/*.yaml"))
DEEPSPEED_CONFIGS = sorted(REPO.glob("recipes/accelerate/*.json"))
MINE = sorted(p for p in RECIPES if p.name.startswith("magistral_") and "cpu" not in p.name)


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch):
    monkeypatch.chdir(REPO)  # recipes and accelerate configs name paths from the repo root


def header(path: Path) -> str:
    """The comment block at the top of a file."""
    lines = []
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        lines.append(line)
    return "\n".join(lines)


# A repository path a comment cites: folders, then a file name with a known extension.
CITED_PATH = re.compile(r"(?<![\w./-])((?:[\w.-]+/)+[\w.-]+\.(?:py|md|yaml|json|jsonl|sh|toml))\b")


@pytest.mark.parametrize("path", RECIPES + ACCELERATE_CONFIGS, ids=lambda p: p.name)
def test_every_file_a_recipe_cites_exists(path):
    """Why: recipe comments point readers at code and docs; a renamed module left one citing
    a file that was gone (rewards/sandbox.py)."""
    cited = CITED_PATH.findall(path.read_text())
    assert not [name for name in cited if not (REPO / name).exists()]


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_recipe_loads_and_validates(path):
    recipe = load_recipe(path)
    assert recipe.rewards and recipe.trainer["num_generations"] >= 2


def test_the_gpu_recipes_of_issue_6_are_shipped():
    names = {p.name for p in MINE}
    assert {"magistral_math_lora_1gpu.yaml", "magistral_math_zero2_8gpu.yaml",
            "magistral_math_zero3_8gpu.yaml", "magistral_multilingual_lora.yaml"} <= names
    assert any(n.startswith("magistral_code_") for n in names)


@pytest.mark.parametrize("path", MINE, ids=lambda p: p.name)
def test_gpu_recipe_header_has_its_launch_and_plan_commands(path):
    text = header(path)
    relative = f"recipes/{path.name}"
    assert f"reasoning-rl plan {relative}" in text
    assert f"train {relative}" in text  # `reasoning-rl train` or `-m reasoning_rl.cli train`


@pytest.mark.parametrize("path", MINE, ids=lambda p: p.name)
def test_deepspeed_recipe_launches_with_a_matching_accelerate_config(path):
    recipe = load_recipe(path)
    config_files = re.findall(r"--config_file (\S+)", header(path))
    deepspeed = recipe.trainer.get("deepspeed")
    assert bool(config_files) == bool(deepspeed)
    for config_file in config_files:
        config = yaml.safe_load(Path(config_file).read_text())
        assert config["deepspeed_config"]["deepspeed_config_file"] == deepspeed
    if recipe.trainer.get("use_vllm") and recipe.trainer.get("vllm_mode") == "server":
        assert f"trl vllm-serve --model {recipe.model.name_or_path}" in header(path)


def test_multilingual_recipe_uses_the_language_reward():
    recipe = load_recipe(REPO / "recipes/magistral_multilingual_lora.yaml")
    assert "rewards.trl_functions.language_reward" in [r.fn for r in recipe.rewards]
    assert recipe.data.columns.get("lang")


@pytest.mark.parametrize("path", ACCELERATE_CONFIGS, ids=lambda p: p.name)
def test_accelerate_config_parses_with_accelerate(path):
    from accelerate.commands.config.config_args import load_config_from_file

    config = load_config_from_file(str(path))  # rejects unknown keys
    assert config.distributed_type.value == "DEEPSPEED"
    ds_file = Path(config.deepspeed_config["deepspeed_config_file"])
    assert ds_file.is_file()
    stage = json.loads(ds_file.read_text())["zero_optimization"]["stage"]
    assert path.stem == f"zero{stage}"
    # With a DeepSpeed file, accelerate refuses these keys in its own config at launch.
    assert not {"zero_stage", "gradient_accumulation_steps", "gradient_clipping",
                "offload_optimizer_device"} & set(config.deepspeed_config)
    assert getattr(config, "mixed_precision", "no") in (None, "no")


@pytest.mark.parametrize("path", DEEPSPEED_CONFIGS, ids=lambda p: p.name)
def test_deepspeed_config_is_json_without_an_optimizer(path):
    config = json.loads(path.read_text())
    assert path.stem == f"ds_zero{config['zero_optimization']['stage']}"
    # The trainer builds AdamW in code; an optimizer here as well is a DeepSpeed error.
    assert "optimizer" not in config and "scheduler" not in config
    assert config["train_micro_batch_size_per_gpu"] == "auto"


def test_slurm_example_is_valid_bash():
    script = REPO / "recipes/accelerate/slurm_multinode.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)


def _extra(name: str) -> dict[str, Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return {r.name: r for r in map(Requirement, project["optional-dependencies"][name])}


def test_gpu_extra_pins_vllm_to_the_range_trl_supports():
    declared = [Requirement(r) for r in importlib.metadata.requires("trl") or []]
    trl_vllm = [r for r in declared if r.name == "vllm"]
    assert len(trl_vllm) == 1, "TRL no longer declares a vllm range; re-check the gpu extra"
    assert _extra("gpu")["vllm"].specifier == trl_vllm[0].specifier


def test_deepspeed_pin_is_the_same_for_gpu_and_ci():
    assert str(_extra("gpu")["deepspeed"].specifier) == "==0.19.8"
    assert _extra("dev")["deepspeed"].specifier == _extra("gpu")["deepspeed"].specifier
