"""Recipe loading: precedence, resolved output, and clear errors (exit code 2) for bad input."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
import yaml

from reasoning_rl.cli import main
from reasoning_rl.recipe.config import TRAINER_DEFAULTS, apply_override, load_recipe
from reasoning_rl.recipe.errors import RecipeError

REPO = Path(__file__).resolve().parents[2]
GOOD = textwrap.dedent("""\
    run: {name: t}
    data: {source: DATA}
    rewards:
      - fn: rewards.trl_functions.format_reward
    trainer: {max_steps: 3, learning_rate: 1.0e-5}
""")


@pytest.fixture()
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"question": "What is 1 + 1?", "answer": "2"}\n')
    return path


def write_recipe(tmp_path: Path, text: str, data_file: Path) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(text.replace("DATA", str(data_file)))
    return path


def test_precedence_defaults_then_file_then_command_line(tmp_path, data_file):
    recipe = load_recipe(write_recipe(tmp_path, GOOD, data_file),
                         ["trainer.max_steps=7", "run.seed=3"])
    assert recipe.trainer["max_steps"] == 7  # command line beats the file (3)
    assert recipe.trainer["learning_rate"] == 1e-5  # file beats TRL's default
    assert recipe.trainer["beta"] == TRAINER_DEFAULTS["beta"] == 0.0  # our default
    assert recipe.run.seed == 3 and recipe.run.name == "t"
    assert recipe.run_dir == Path("runs/t")


def test_print_config_prints_resolved_recipe(tmp_path, data_file, capsys):
    path = write_recipe(tmp_path, GOOD, data_file)
    assert main(["train", str(path), "--print-config", "trainer.num_generations=2"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["trainer"]["num_generations"] == 2
    assert printed["trainer"]["epsilon_high"] == 0.28
    assert printed["model"]["name_or_path"] == "embedded:smollm2-135m-instruct"
    assert printed["run"]["output_dir"] == "runs/t"
    assert "<think>" in printed["prompt"]["system"]


def test_smoke_recipe_resolves():
    recipe = load_recipe(REPO / "recipes/smoke_cpu.yaml")
    assert recipe.algorithm == "magistral" and recipe.eval.heldout.source
    # Held-out eval uses a stricter prompt (one worked example) than training (three).
    assert len(recipe.prompt.examples) == 3
    eval_prompt = recipe.eval.prompt_for(recipe.prompt)
    assert eval_prompt.examples == recipe.prompt.examples[:1]
    assert eval_prompt.system == recipe.prompt.system


def test_hub_heldout_reads_the_test_split_unless_told(tmp_path, data_file):
    recipe = load_recipe(write_recipe(tmp_path, GOOD, data_file),
                         ["eval.heldout={source: HuggingFaceH4/MATH-500}"])
    assert recipe.eval.heldout.split == "test"
    recipe = load_recipe(write_recipe(tmp_path, GOOD, data_file),
                         ["eval.heldout={source: owner/data, split: validation}"])
    assert recipe.eval.heldout.split == "validation"


def test_eval_prompt_defaults_to_training_prompt(tmp_path, data_file):
    recipe = load_recipe(write_recipe(tmp_path, GOOD, data_file))
    assert recipe.eval.prompt is None
    assert recipe.eval.prompt_for(recipe.prompt) is recipe.prompt


MALFORMED = [
    ("unknown top-level key", "trainerr: {}", "trainerr: unknown key"),
    ("unknown nested key", "run: {name: t, sead: 1}", "run.sead: unknown key"),
    ("wrong scalar type", "run: {name: t, seed: abc}", "run.seed: expected an integer"),
    ("bad literal", "model: {dtype: float8}", "model.dtype: expected one of"),
    ("lora wrong type", "model: {lora: {r: sixteen}}", "model.lora.r: expected an integer"),
    ("shared prefix not a boolean", "model: {shared_prefix: sometimes}",
     "model.shared_prefix: expected true/false"),
    ("unknown trainer field", "trainer: {lerning_rate: 0.1}",
     "trainer.lerning_rate: not a TRL GRPOConfig field; did you mean learning_rate"),
    ("trainer wrong type", "trainer: {num_generations: four}",
     "trainer.num_generations: expected an integer"),
    ("trainer key owned elsewhere", "trainer: {output_dir: /tmp/x}",
     "trainer.output_dir: set by run.output_dir"),
    ("algorithm unknown", "algorithm: ppo", "algorithm: expected one of 'magistral' or 'trl'"),
    ("section not a mapping", "eval: 3", "eval: expected a mapping"),
    ("reward weight not a number", ("rewards: [{fn: rewards.trl_functions.format_reward, "
     "weight: heavy}]"), "rewards[0].weight: expected a number"),
    ("reward fn not importable", "rewards: [{fn: rewards.nope.fn}]",
     "rewards[0].fn: cannot import module 'rewards.nope'"),
    ("reward fn missing attribute", "rewards: [{fn: rewards.trl_functions.nope}]",
     "rewards[0].fn: module 'rewards.trl_functions' has no attribute 'nope'"),
    ("rewards empty", "rewards: []", "rewards: the list is empty"),
    ("missing data file", "data: {source: /no/such/file.jsonl}",
     "data.source: file not found: /no/such/file.jsonl"),
    ("missing eval file", "eval: {heldout: {source: missing.jsonl}}",
     "eval.heldout.source: file not found"),
    ("benchmark key in the held-out section", "eval: {heldout: {source: x.jsonl, samples: 4}}",
     "eval.heldout.samples: unknown key"),
]


@pytest.mark.parametrize(("case", "patch", "expected"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_recipe_exits_2_naming_the_key(tmp_path, data_file, capsys, case, patch,
                                                 expected):
    raw = yaml.safe_load(GOOD.replace("DATA", str(data_file)))
    raw.update(yaml.safe_load(patch))
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main(["train", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and expected in err, err
    assert not (tmp_path / "runs").exists()


def test_missing_required_section(tmp_path, capsys):
    path = tmp_path / "r.yaml"
    path.write_text("rewards: [{fn: rewards.trl_functions.format_reward}]\n")
    assert main(["train", str(path)]) == 2
    assert "data: required key is missing" in capsys.readouterr().err


def test_yaml_syntax_error_names_file_and_line(tmp_path, capsys):
    path = tmp_path / "r.yaml"
    path.write_text("run:\n  name: [unclosed\n")
    assert main(["train", str(path)]) == 2
    err = capsys.readouterr().err
    assert "r.yaml: not valid YAML" in err and "line" in err


def test_missing_recipe_file(capsys):
    assert main(["train", "no/such/recipe.yaml"]) == 2
    assert "recipe file not found: no/such/recipe.yaml" in capsys.readouterr().err


def test_bad_override(tmp_path, data_file, capsys):
    path = write_recipe(tmp_path, GOOD, data_file)
    assert main(["train", str(path), "trainer.max_steps"]) == 2
    assert "expected key.sub=value" in capsys.readouterr().err


def test_override_into_list_and_bad_index():
    raw = {"rewards": [{"fn": "a", "weight": 1.0}]}
    apply_override(raw, "rewards.0.weight=0.5")
    assert raw["rewards"][0]["weight"] == 0.5
    with pytest.raises(RecipeError, match="'3' is not an index of rewards"):
        apply_override(raw, "rewards.3.weight=1")


def test_missing_dataset_column_exits_2_before_writing(tmp_path, data_file, capsys,
                                                      monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_recipe(tmp_path, GOOD, data_file)
    assert main(["train", str(path)]) == 2  # rows have `question`, not `prompt`
    err = capsys.readouterr().err
    assert "data.columns.prompt: column 'prompt' not found" in err
    assert "available columns: answer, question" in err
    assert not (tmp_path / "runs").exists()


def test_settings_the_magistral_objective_rejects_exit_2_before_writing(tmp_path, data_file,
                                                                         capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_recipe(tmp_path, GOOD, data_file)
    assert main(["train", str(path), "data.columns.prompt=question", "trainer.beta=0.04"]) == 2
    err = capsys.readouterr().err
    assert "error: trainer.beta: algorithm: magistral needs 0.0" in err, err
    assert not (tmp_path / "runs").exists()
    # The same check runs at load: --print-config refuses the recipe too.
    assert main(["train", str(path), "--print-config", "trainer.beta=0.04"]) == 2
    assert "trainer.beta: algorithm: magistral needs 0.0" in capsys.readouterr().err


def test_print_config_shows_the_typed_objective_section(tmp_path, data_file, capsys):
    path = write_recipe(tmp_path, GOOD, data_file)
    assert main(["train", str(path), "--print-config", "objective.max_refill_rounds=1"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["objective"] == {"minibatches": 1, "max_refill_rounds": 1,
                                    "equal_reward_atol": 1e-6, "drop_filtered_rows": True,
                                    "scaffold_is_cap": 2.0, "scaffold_weighting": "shaped",
                                    "scaffold_shaping_gamma": 0.1}
    rollout = printed["rollout"]
    assert rollout["scaffold_examples"] == [] and rollout["scaffold_steps"] == 0
    assert main(["train", str(path), "--print-config", "algorithm=trl"]) == 0
    assert "objective" not in yaml.safe_load(capsys.readouterr().out)


def test_smoke_recipe_prints_its_objective_section(capsys):
    assert main(["train", str(REPO / "recipes/smoke_cpu.yaml"), "--print-config"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["objective"]["max_refill_rounds"] == 2


ALGORITHM_MISMATCH = [
    ("magistral ignores loss_type", "algorithm: magistral\ntrainer: {loss_type: dapo}",
     "trainer.loss_type: ignored by algorithm: magistral"),
    ("magistral ignores scale_rewards", "trainer: {scale_rewards: batch}",
     "trainer.scale_rewards: ignored by algorithm: magistral"),
    ("trl reads no objective", "algorithm: trl\nobjective: {max_refill_rounds: 1}",
     "objective: only algorithm: magistral reads this section"),
    ("objective unknown key", "objective: {refill: 1}", "objective.refill: unknown key"),
    ("objective refill negative", "objective: {max_refill_rounds: -1}",
     "objective.max_refill_rounds: expected an integer >= 0"),
    ("minibatches of whole groups", ("objective: {minibatches: 2}\n"
     "trainer: {per_device_train_batch_size: 2, num_generations: 4}"),
     "not whole groups of trainer.num_generations = 4"),
    ("minibatches need their steps", ("objective: {minibatches: 2}\n"
     "trainer: {steps_per_generation: 1}"), "trainer.steps_per_generation: algorithm: magistral "
     "needs objective.minibatches x trainer.gradient_accumulation_steps = 2"),
    ("checkpoints between generated batches", ("objective: {minibatches: 2}\n"
     "trainer: {save_steps: 3}"), "trainer.save_steps: 3 is not a multiple of "
     "objective.minibatches = 2"),
]


@pytest.mark.parametrize(("case", "patch", "expected"), ALGORITHM_MISMATCH,
                         ids=[m[0] for m in ALGORITHM_MISMATCH])
def test_settings_the_algorithm_ignores_are_rejected_at_load(tmp_path, data_file, case, patch,
                                                             expected):
    raw = yaml.safe_load(GOOD.replace("DATA", str(data_file)))
    for key, value in yaml.safe_load(patch).items():
        raw[key] = {**raw.get(key, {}), **value} if isinstance(value, dict) else value
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(RecipeError, match=re.escape(expected)):
        load_recipe(path)


def test_trl_fields_wider_than_their_annotation_are_accepted(tmp_path, data_file):
    path = write_recipe(tmp_path, GOOD, data_file)
    recipe = load_recipe(path, ["algorithm=trl", "trainer.scale_rewards=false",
                                "trainer.loss_type=dr_grpo"])
    assert recipe.trainer["scale_rewards"] is False and recipe.objective is None


def test_every_problem_is_reported_at_once_with_its_key_path(tmp_path, data_file, capsys):
    raw = yaml.safe_load(GOOD.replace("DATA", str(data_file)))
    raw["run"]["seed"] = "abc"
    raw["trainer"]["lerning_rate"] = 0.1
    raw["objective"] = {"max_refill_rounds": -1}
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main(["train", str(path), "--print-config"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3 and all(line.startswith("error: ") for line in lines), lines
    assert [line.split(":")[1].strip() for line in lines] == [
        "run.seed", "trainer.lerning_rate", "objective.max_refill_rounds"]


def test_settings_trl_rejects_exit_2(tmp_path, data_file, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_recipe(tmp_path, GOOD, data_file)
    # 3 completions per step cannot hold whole groups of 2 generations.
    assert main(["train", str(path), "data.columns.prompt=question",
                 "trainer.per_device_train_batch_size=3", "trainer.num_generations=2"]) == 2
    assert "trainer: TRL rejects these settings" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_shared_prefix_is_on_by_default_and_a_recipe_key_turns_it_off(tmp_path, data_file):
    path = write_recipe(tmp_path, GOOD, data_file)
    assert load_recipe(path).model.shared_prefix is True
    assert load_recipe(path, ["model.shared_prefix=false"]).model.shared_prefix is False


def test_lora_dropout_defaults_to_zero_so_importance_ratios_are_not_noise(tmp_path, data_file):
    # With dropout the loss pass and the behaviour pass would see different random masks, and
    # the clipped ratio pi_theta / pi_old would measure the masks, not the policy's change.
    recipe = load_recipe(write_recipe(tmp_path, GOOD + "model: {lora: {r: 8}}\n", data_file))
    assert recipe.model.lora.dropout == 0.0


def test_a_mapping_value_of_the_wrong_type_is_an_error(tmp_path, data_file):
    # dict[str, str]: the values are checked too, not just that it is a mapping.
    path = write_recipe(tmp_path, GOOD, data_file)
    with pytest.raises(RecipeError) as caught:
        load_recipe(path, ["data.columns={prompt: question, answer: 3}"])
    assert caught.value.problems == ["data.columns.answer: expected a string, got 3 (int)"]


def test_every_type_problem_is_reported_with_its_key_path_and_what_it_takes(tmp_path,
                                                                           data_file):
    path = write_recipe(tmp_path, GOOD, data_file)
    with pytest.raises(RecipeError) as caught:
        load_recipe(path, ["run.seed=true", "model.lora={r: 8.5, target_modules: 3}",
                           "rewards.0.params=[]", "trainer.bf16=1", "trainer.report_to=3",
                           "eval.heldout={split: test}", "prompt.examples=[{user: a}]",
                           "stages=[{name: b, overrides: {}, extra: 1}]"])
    assert caught.value.problems == [
        "run.seed: expected an integer, got True (bool)",
        "rewards[0].params: expected a mapping, got [] (list)",
        "model.lora.r: expected an integer, got 8.5 (float)",
        "model.lora.target_modules: expected a list or a string, got 3 (int)",
        "eval.heldout.source: required key is missing",
        "prompt.examples[0].assistant: required key is missing",
        "stages[0].extra: unknown key; valid keys under stages[0]: name, overrides",
        "trainer.bf16: expected true/false, got 1 (int)",
        "trainer.report_to: expected a string or a list, got 3 (int)",
    ]


def test_unknown_section_key_names_the_closest_valid_key(tmp_path, data_file):
    path = write_recipe(tmp_path, GOOD, data_file)
    with pytest.raises(RecipeError, match=re.escape(
            "eval.heldout.limt: unknown key; did you mean limit? valid keys under eval.heldout: "
            "source, split, limit, before_after")):
        load_recipe(path, [f"eval.heldout={{source: {data_file}, limt: 3}}"])


def test_values_keep_their_json_type_and_enum_fields_take_their_values(tmp_path, data_file):
    # A YAML date is read as the text written; TRL enums (save_strategy) and lists of enums
    # (debug) take their values; an integer for a float trainer field reaches TRL unchanged;
    # a mapping for a dataclass field (parallelism_config) is built into that dataclass.
    path = write_recipe(tmp_path, GOOD + "eval:\n", data_file)
    recipe = load_recipe(path, ["run.name=2026-01-01", "trainer.save_strategy=steps",
                                "trainer.debug=[underflow_overflow]", "trainer.save_steps=10",
                                "trainer.parallelism_config={dp_replicate_size: 1}"])
    assert recipe.run.name == "2026-01-01" and recipe.eval.every_steps == 0
    assert recipe.trainer["save_strategy"] == "steps"
    assert recipe.trainer["debug"] == ["underflow_overflow"]
    assert recipe.trainer["save_steps"] == 10 and isinstance(recipe.trainer["save_steps"], int)
    assert recipe.trainer["parallelism_config"].dp_replicate_size == 1
    with pytest.raises(RecipeError, match=re.escape(
            "trainer.debug[0]: expected one of 'underflow_overflow' or 'tpu_metrics_debug'")):
        load_recipe(path, ["trainer.debug=[overflow]"])
