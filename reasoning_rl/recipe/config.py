"""The recipe: one YAML document that says everything a run does.

Why: a run must be reproducible from one readable file, like a torchtune recipe. Sections are
typed dataclasses, validated by pydantic; unknown keys and wrong types are errors that name the
key path, all of a recipe's problems at once. Values
resolve as: defaults here < the recipe file < `key.sub=value` overrides on the command line.
Each default lives in exactly one place: a dataclass field below, or `TRAINER_DEFAULTS` for the
`trainer` section, whose keys are TRL `GRPOConfig` fields and are checked against it.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
import importlib
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pydantic
import yaml

from reasoning_rl.recipe.errors import RecipeError, collecting
from reasoning_rl.recipe.eval_section import EvalSection
from reasoning_rl.recipe.objective_section import (
    ObjectiveSection,
    grpo_view,
    objective_problems,
    steps_per_generation,
)
from reasoning_rl.recipe.overrides import apply_override, set_dotted
from reasoning_rl.recipe.prompt_section import PromptSection, check_template
from reasoning_rl.recipe.rollout_section import RolloutSection, scaffold_problems

# Magistral-style GRPO settings (arXiv 2506.10910, section 2.1): no KL term (beta 0), clip-higher
# (epsilon_high 0.28), one gradient step per batch. Plus settings measured to suit CPU runs.
TRAINER_DEFAULTS: dict[str, Any] = {
    "beta": 0.0,
    "epsilon": 0.2,
    "epsilon_high": 0.28,
    "num_generations": 8,
    "num_iterations": 1,
    "logging_steps": 1,
    "save_steps": 50,
    "gradient_checkpointing": False,  # measured: no speed gain for small models on CPU
    "bf16": False,  # GPU recipes set it; bf16 on a CPU without AVX-512 BF16 is slow
}

# GRPOConfig fields that other recipe keys own, so they cannot be set twice.
TRAINER_OWNED = {
    "output_dir": "run.output_dir",
    "seed": "run.seed",
    "reward_weights": "rewards[].weight",
    "save_total_limit": "run.keep_checkpoints",
    "resume_from_checkpoint": "the --resume flag",
}

# GRPOConfig fields that `algorithm: magistral` ignores: its objective fixes both (see
# docs/algorithm.md), so setting them would silently do nothing.
MAGISTRAL_IGNORES = ("loss_type", "scale_rewards")

# GRPOConfig fields whose __post_init__ accepts more than their annotation says.
TRAINER_WIDER_TYPES: dict[str, Any] = {
    "scale_rewards": str | bool,  # true/false map to "group"/"none"
}


@dataclass
class RunSection:
    """Recipe section `run`: where and under which name results go."""

    name: str = "reasoning-rl"
    output_dir: str | None = None  # None means runs/<name>
    seed: int = 0
    keep_checkpoints: int = 2  # completed checkpoints kept; older ones are deleted
    # Code rewards on a machine without sandbox isolation (see rewards/sandbox/isolation.py):
    # policy programs then run with the user's own rights. Off: such a run stops at launch.
    unsafe_weak_code_sandbox: bool = False


@dataclass
class LoraSection:
    """Recipe section `model.lora`: PEFT LoRA adapters instead of a full fine-tune."""

    r: int = 16
    alpha: int = 32
    # 0, not PEFT's usual 0.05: with dropout the log-probs of the loss pass and of the
    # behaviour pass differ by a random mask, so the importance ratio the clip acts on would be
    # noise rather than the policy's change (objective.minibatches > 1, vLLM correction).
    dropout: float = 0.0
    target_modules: list[str] | str = "all-linear"


@dataclass
class ModelSection:
    """Recipe section `model`: which checkpoint to train and how to hold it."""

    name_or_path: str = "embedded:smollm2-135m-instruct"
    dtype: Literal["float32", "bfloat16", "float16", "auto"] = "float32"
    lora: LoraSection | None = None
    # Each group's prompt forwarded once (loss, log-prob passes, transformers prefill) where
    # that is exact; elsewhere, or false, each completion forwards its own copy of the prompt.
    # See reasoning_rl/objective/shared_prefix.py; the smoke run with it on and off is in
    # docs/benchmarks.md (same held-out results, steps x2.0 faster).
    shared_prefix: bool = True


@dataclass
class DataSection:
    """Recipe section `data`: the training problems, mapped onto the canonical row.

    `columns` maps canonical names (prompt, answer, task, lang, tests, source) to the dataset's
    own column names; `task` and `lang` fill rows whose dataset has no such column.
    """

    source: str
    split: str = "train"
    columns: dict[str, str] = field(default_factory=dict)
    task: Literal["math", "code"] = "math"
    lang: str = ""
    limit: int | None = None


@dataclass
class RewardSpec:
    """One entry of `rewards`: a reward function by dotted path, its weight and parameters."""

    fn: str
    weight: float = 1.0
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class StageSpec:
    """One stage of a curriculum: recipe overrides (dotted keys) applied on top of the base.

    Stage k+1 starts from stage k's final model; a typical curriculum raises
    `trainer.max_completion_length` and the length-penalty thresholds, lowers the batch size as
    lengths grow, and moves to a harder data split.
    """

    name: str
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass
class Recipe:
    """A whole recipe. `trainer` holds TRL `GRPOConfig` keyword arguments."""

    data: DataSection
    rewards: list[RewardSpec]
    run: RunSection = field(default_factory=RunSection)
    model: ModelSection = field(default_factory=ModelSection)
    prompt: PromptSection = field(default_factory=PromptSection)
    algorithm: Literal["magistral", "trl"] = "magistral"
    objective: ObjectiveSection | None = None  # filled with defaults under algorithm: magistral
    trainer: dict[str, Any] = field(default_factory=dict)
    eval: EvalSection = field(default_factory=EvalSection)
    rollout: RolloutSection = field(default_factory=RolloutSection)
    stages: list[StageSpec] = field(default_factory=list)

    @property
    def run_dir(self) -> Path:
        """The run's output folder."""
        return Path(self.run.output_dir or f"runs/{self.run.name}")


def load_recipe(path: str | Path, overrides: list[str] | None = None) -> Recipe:
    """Read, override and validate a recipe; raise `RecipeError` naming the bad key path.

    >>> r = load_recipe("recipes/smoke_cpu.yaml", ["trainer.max_steps=2"])  # doctest: +SKIP
    >>> r.trainer["max_steps"]  # doctest: +SKIP
    2
    """
    path = Path(path)
    raw = read_yaml(path)
    for item in overrides or []:
        apply_override(raw, item)
    recipe = _resolve(raw, path)
    stage_recipes(recipe, raw, path)  # validate every stage now, before anything runs
    return recipe


def load_stages(path: str | Path, overrides: list[str] | None = None) -> list[Recipe]:
    """The recipes to run in order: one per `stages` entry, or just the recipe itself.

    >>> [r.run.name for r in load_stages("recipes/magistral_curriculum_cpu.yaml")]  # doctest: +SKIP
    ['curriculum/short', 'curriculum/long']
    """
    path = Path(path)
    raw = read_yaml(path)
    for item in overrides or []:
        apply_override(raw, item)
    return stage_recipes(_resolve(raw, path), raw, path)


def stage_recipes(base: Recipe, raw: dict[str, Any], path: Path) -> list[Recipe]:
    """One full recipe per stage (the base recipe alone when there are no stages).

    Stage i writes to `<run dir>/stage<i>-<name>`; its model is set by the trainer to the
    previous stage's final model when the previous stage finishes.
    """
    if not base.stages:
        return [base]
    if base.model.lora is not None:
        raise RecipeError("stages: a curriculum with model.lora is not supported (each stage "
                          "starts from the previous full model); drop model.lora or the stages")
    recipes = []
    for i, stage in enumerate(base.stages):
        stage_raw = copy.deepcopy({k: v for k, v in raw.items() if k != "stages"})
        stage_raw.setdefault("run", {})
        stage_raw["run"]["output_dir"] = str(base.run_dir / f"stage{i + 1}-{stage.name}")
        stage_raw["run"]["name"] = f"{base.run.name}/{stage.name}"
        try:
            for key, value in stage.overrides.items():
                set_dotted(stage_raw, key, value)
            recipes.append(_resolve(stage_raw, path))
        except RecipeError as exc:
            raise RecipeError(*(f"stages[{i}] ({stage.name}): {problem}"
                                for problem in exc.problems)) from None
    return recipes


def _resolve(raw: dict[str, Any], path: Path) -> Recipe:
    """Build and check one recipe from raw data (no stage expansion), reporting every problem."""
    values, problems = _sections(raw)
    values["trainer"] = resolve_trainer(values.get("trainer", {}), problems)
    if "rewards" in values and not values["rewards"]:
        problems.append("rewards: the list is empty; add at least one {fn: dotted.path}")
    for i, spec in enumerate(values.get("rewards", [])):
        with collecting(problems):
            import_object(spec.fn, f"rewards[{i}].fn")
    if "data" in values:
        with collecting(problems):
            values["data"].source = resolve_source(values["data"].source, path, "data.source")
    if "eval" in values and values["eval"].heldout is not None:
        with collecting(problems):
            heldout = values["eval"].heldout
            heldout.source = resolve_source(heldout.source, path, "eval.heldout.source")
            heldout.split = heldout.split or "test"  # a local file has no splits to choose from
    if "eval" in values:
        with collecting(problems):
            values["eval"].check()
    if "prompt" in values:
        with collecting(problems):
            check_template(values["prompt"].template, "prompt.template")
    if "eval" in values and values["eval"].prompt is not None:
        with collecting(problems):
            check_template(values["eval"].prompt.template, "eval.prompt.template")
    if "run" in values and values["run"].keep_checkpoints < 1:
        problems.append("run.keep_checkpoints: expected an integer >= 1")
    problems += _algorithm_problems(values, raw)
    if "rollout" in values and "trainer" in values:
        problems += scaffold_problems(values["rollout"], grpo_view(values["trainer"]),
                                      values.get("algorithm", "magistral"))
    if problems:
        raise RecipeError(*problems)
    return Recipe(**values)


def _algorithm_problems(values: dict[str, Any], raw: dict[str, Any]) -> list[str]:
    """Check `objective` and `trainer` against the algorithm; fill `objective`'s defaults."""
    algorithm = values.get("algorithm", "magistral")
    if algorithm == "trl":
        if raw.get("objective") is not None:
            return ["objective: only algorithm: magistral reads this section; remove it, or set "
                    "algorithm: magistral"]
        return []
    if algorithm != "magistral" or ("objective" not in values and "objective" in raw):
        return []  # the algorithm or objective section is already reported as malformed
    given = raw.get("trainer") if isinstance(raw.get("trainer"), dict) else {}
    problems = [f"trainer.{key}: ignored by algorithm: magistral (its objective fixes the loss "
                f"normaliser and advantage scale); remove it, or set algorithm: trl"
                for key in MAGISTRAL_IGNORES if key in given]
    objective = values["objective"] = values.get("objective") or ObjectiveSection()
    trainer = dict(values["trainer"])
    if trainer.get("steps_per_generation") is None:
        trainer["steps_per_generation"] = steps_per_generation(trainer, objective)
    return problems + objective_problems(grpo_view(trainer), objective)


def read_yaml(path: Path) -> dict[str, Any]:
    """Parse the recipe file into a mapping, with file and line in any error."""
    if not path.is_file():
        raise RecipeError(f"recipe file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RecipeError(f"{path}: not valid YAML: {exc}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise RecipeError(f"{path}: the recipe must be a mapping of sections, "
                          f"got {type(raw).__name__}")
    return raw


def resolve_trainer(values: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """`TRAINER_DEFAULTS` under the recipe's `trainer`, each key checked on GRPOConfig.

    Returns the values that check out; each bad key's problem is appended to `problems`.
    Values go to TRL as written (`save_steps: 10` stays an integer; TRL converts), except a
    mapping for a dataclass field (`parallelism_config`), which goes as that dataclass.
    """
    from trl import GRPOConfig

    fields = [f.name for f in dataclasses.fields(GRPOConfig) if f.init]
    for key in values:
        if key in TRAINER_OWNED:
            problems.append(f"trainer.{key}: set by {TRAINER_OWNED[key]}, not in trainer")
        elif key not in fields:
            close = _close_matches(key, fields)
            problems.append(f"trainer.{key}: not a TRL GRPOConfig field"
                            + (f"; did you mean {close}?" if close else ""))
    given = {k: v for k, v in {**TRAINER_DEFAULTS, **values}.items() if k in fields}
    typed, found = validate_keys(_trainer_model(), given, "trainer")
    problems += found
    return {k: v if dataclasses.is_dataclass(v) else given[k] for k, v in typed.items()}


# Recipes are YAML, so JSON data, and pydantic validates them as it validates JSON in strict
# mode: a mapping becomes its dataclass and an enum is matched by value, but no scalar is
# coerced ("4" is not an integer, true is not 1); a key that names no field is an error.
STRICT = pydantic.ConfigDict(strict=True, extra="forbid")
# Keys an older recipe may still use, and where they live now: a clear error, not a lookalike.
MOVED_KEYS = {
    "objective.scaffold_examples": "rollout.scaffold_examples",  # what the sampler is shown
    "objective.scaffold_steps": "rollout.scaffold_steps",
}


@functools.cache
def _sections_model() -> type[pydantic.BaseModel]:
    """`Recipe`'s fields as a pydantic model, each optional so that each key validates alone."""
    hints = typing.get_type_hints(Recipe)
    fields: dict[str, Any] = {f.name: (hints[f.name], None) for f in dataclasses.fields(Recipe)}
    return pydantic.create_model("recipe", __config__=STRICT, **fields)


@functools.cache
def _trainer_model() -> type[pydantic.BaseModel]:
    """GRPOConfig's fields (their annotations, or `TRAINER_WIDER_TYPES`) as a pydantic model.

    Why not validate GRPOConfig itself: building one runs its __post_init__, which sets up
    the device; `reasoning_rl.training` builds the real one.
    """
    from trl import GRPOConfig

    hints = {**typing.get_type_hints(GRPOConfig), **TRAINER_WIDER_TYPES}
    fields: dict[str, Any] = {f.name: (hints[f.name], None) for f in dataclasses.fields(GRPOConfig)
                              if f.init}
    return pydantic.create_model("trainer", __config__=STRICT, **fields)


def _sections(raw: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The recipe's sections that validate, typed, and one line per problem of the others.

    An empty section (`eval:` with every key commented out) takes its defaults.
    """
    fields = dataclasses.fields(Recipe)
    problems = [f"{f.name}: required key is missing" for f in fields if f.name not in raw
                and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    hints = typing.get_type_hints(Recipe)
    raw = {k: {} if v is None and dataclasses.is_dataclass(hints.get(k)) else v
           for k, v in raw.items()}
    values, found = validate_keys(_sections_model(), raw)
    return values, problems + found


def validate_keys(model: type[pydantic.BaseModel], data: dict[str, Any],
                  path: str = "") -> tuple[dict[str, Any], list[str]]:
    """Each key of `data` validated by `model` on its own: the typed values that pass, and
    one line per problem (key path, what it takes, what it got) for those that do not.

    Why key by key: the keys that are right are still checked against each other afterwards,
    so a recipe with three mistakes lists all three.

    >>> Run = pydantic.create_model("run", __config__=STRICT, seed=(int, 0), name=(str, "x"))
    >>> validate_keys(Run, {"seed": "4", "name": "a", "sead": 1}, "run")
    ({'name': 'a'}, ["run.seed: expected an integer, got '4' (str)", \
'run.sead: unknown key; did you mean seed? valid keys under run: seed, name'])
    """
    values: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in data.items():
        text = json.dumps({key: value}, default=str)  # YAML dates become strings, as written
        try:
            values[key] = getattr(model.model_validate_json(text), key)
        except pydantic.ValidationError as exc:
            problems += _problems(exc, json.loads(text), path, model)
    return values, problems


# pydantic's error types in the words of a YAML recipe; others keep pydantic's own message.
_EXPECTED = {"int_type": "an integer", "float_type": "a number", "bool_type": "true/false",
             "string_type": "a string", "list_type": "a list", "dict_type": "a mapping",
             "dataclass_type": "a mapping", "none_required": "null"}


def _problems(exc: pydantic.ValidationError, data: dict[str, Any], path: str,
              model: type[pydantic.BaseModel]) -> list[str]:
    """One line per bad key path; the branches of a union merge ("a list or a string")."""
    lines: dict[str, str] = {}
    wanted: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        kind, loc = error["type"], error["loc"]
        if kind in ("missing", "missing_argument"):
            where = _join(path, [*_key_parts(loc[:-1], data), loc[-1]])
            lines[where] = f"{where}: required key is missing"
            continue
        parts = _key_parts(loc, data)
        where = _join(path, parts)
        if kind in ("extra_forbidden", "unexpected_keyword_argument") and where in MOVED_KEYS:
            lines[where] = f"{where}: moved to {MOVED_KEYS[where]} (same value); rename the key"
            continue
        if kind in ("extra_forbidden", "unexpected_keyword_argument"):
            parent = _join(path, parts[:-1])
            keys = _keys_under(model, parts[:-1])
            close = _close_matches(str(parts[-1]), keys)
            lines[where] = (f"{where}: unknown key; " + (f"did you mean {close}? " if close else "")
                            + f"valid keys under {parent or 'the recipe root'}: {', '.join(keys)}")
            continue
        wanted.setdefault(where, []).append(_expected(error))
        shown = repr(error["input"])
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        lines[where] = (f"{where}: expected {' or '.join(dict.fromkeys(wanted[where]))}, "
                        f"got {shown} ({type(error['input']).__name__})")
    return list(lines.values())


def _expected(error: Any) -> str:
    """What a pydantic error says the key takes, in the words of a YAML recipe."""
    if error["type"] in ("literal_error", "enum"):
        return f"one of {error['ctx']['expected']}"
    return _EXPECTED.get(error["type"]) or error["msg"].removeprefix("Input should be ")


def _key_parts(loc: tuple[str | int, ...], data: Any) -> list[str | int]:
    """The parts of a pydantic error location that are keys or indexes in `data`, without the
    names pydantic gives a union's branches (`target_modules.list[str]`)."""
    parts: list[str | int] = []
    for part in loc:
        if (isinstance(data, dict) and part in data
                or isinstance(data, list) and isinstance(part, int) and part < len(data)):
            parts.append(part)
            data = data[part]
    return parts


def _keys_under(annotation: Any, parts: list[str | int]) -> list[str]:
    """The keys the mapping at `parts` takes, walking the annotations from `annotation` down."""
    for part in [*parts, None]:
        while typing.get_args(annotation):  # `X | None`, `list[X]`: the X
            annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
        if isinstance(part, str):
            annotation = _field_types(annotation)[part]
    return list(_field_types(annotation))


def _field_types(cls: type) -> dict[str, Any]:
    if issubclass(cls, pydantic.BaseModel):
        return {name: info.annotation for name, info in cls.model_fields.items()}
    return {f.name: typing.get_type_hints(cls)[f.name] for f in dataclasses.fields(cls) if f.init}


def _close_matches(key: str, keys: list[str]) -> str:
    return ", ".join(difflib.get_close_matches(key, keys, n=3, cutoff=0.75))


def _join(path: str, parts: list[str | int]) -> str:
    for part in parts:
        path = f"{path}[{part}]" if isinstance(part, int) else f"{path}.{part}" if path else part
    return path


def import_object(dotted: str, key_path: str) -> Any:
    """Import `package.module.name` (a recipe's reference to Python code).

    >>> import_object("math.sqrt", "rewards[0].fn")(4.0)
    2.0
    """
    module_name, _, attr = dotted.rpartition(".")
    if not module_name:
        raise RecipeError(f"{key_path}: {dotted!r} is not a dotted path like package.module.name")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise RecipeError(f"{key_path}: cannot import module {module_name!r} ({exc})") from None
    if not hasattr(module, attr):
        raise RecipeError(f"{key_path}: module {module_name!r} has no attribute {attr!r}")
    return getattr(module, attr)


def resolve_source(source: str, recipe_path: Path, key_path: str) -> str:
    """A local dataset path checked to exist (relative to the working dir, else to the recipe).

    Anything that does not look like a file path is taken as a dataset hub name.
    """
    looks_local = source.endswith((".jsonl", ".json", ".parquet")) or source.startswith(
        ("/", "./", "../"))
    if not looks_local:
        return source
    for candidate in (Path(source), recipe_path.parent / source):
        if candidate.is_file():
            return str(candidate)
    raise RecipeError(f"{key_path}: file not found: {source} (looked in the working directory "
                      f"and next to {recipe_path})")


def to_dict(recipe: Recipe) -> dict[str, Any]:
    """The fully resolved recipe as plain data (what `--print-config` prints)."""
    data = dataclasses.asdict(recipe)
    data["run"]["output_dir"] = str(recipe.run_dir)
    order = ["run", "model", "data", "prompt", "rewards", "algorithm", "objective", "trainer",
             "rollout", "eval"]
    if recipe.objective is None:  # algorithm: trl has no objective section
        del data["objective"]
    return {k: _plain(data[k]) for k in order + [k for k in data if k not in order] if k in data}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "value") and not isinstance(value, (str, int, float, bool)):
        return value.value  # enums from TRL's field types
    return value
