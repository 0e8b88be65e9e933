"""`reasoning-rl train`: one recipe in, one GRPO run out.

Why: the training entry point should read top to bottom like the recipe it runs. `train()` is a
list of named stages: check the run folder, load data, load the policy, bind the rewards,
configure TRL, evaluate before, train (or resume), save, evaluate after, summarise. TRL's
GRPOTrainer does the RL; `algorithm: magistral` swaps in our subclass with the paper's exact
objective, `algorithm: trl` keeps TRL's own.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from reasoning_rl.atomic import atomic_path, write_json_atomic
from reasoning_rl.data.dataset import load_canonical, to_grpo_dataset
from reasoning_rl.data.prompting import answer_text, prompt_texts, stop_strings
from reasoning_rl.eval.heldout import evaluate_heldout, load_heldout
from reasoning_rl.eval.periodic import PeriodicEval
from reasoning_rl.model.loading import load_policy
from reasoning_rl.plan.launch import require_gpus_for
from reasoning_rl.recipe.config import Recipe, import_object, to_dict
from reasoning_rl.recipe.errors import RecipeError, UserError
from reasoning_rl.recipe.objective_section import objective_problems, steps_per_generation
from reasoning_rl.rollout import engines
from reasoning_rl.rollout.scaffold import scaffold_for
from reasoning_rl.run import checkpoint
from reasoning_rl.run.language_metrics import LanguageMetrics
from reasoning_rl.run.metrics import MetricsFile, RewardProgressBar, read_metrics, truncate_metrics
from rewards.language_id import run_languages


def train(recipe: Recipe, *, resume: bool = False) -> dict[str, Any]:
    """Run the recipe's GRPO training; return the summary also written to summary.json.

    >>> summary = train(load_recipe("recipes/smoke_cpu.yaml"))  # doctest: +SKIP
    >>> summary["eval_after"]["metrics"]["format_rate"] >= 0.9  # doctest: +SKIP
    True
    """
    started = time.monotonic()
    run_dir = recipe.run_dir
    resume_from = prepare_run_dir(run_dir, resume)
    require_gpus_for(recipe)  # before anything loads: a GPU recipe on a CPU machine stops here
    args = grpo_settings(recipe, configure_reporting(recipe, run_dir))
    rows = load_canonical(recipe.data.source, recipe.data.split, recipe.data.columns,
                          task=recipe.data.task, lang=recipe.data.lang, limit=recipe.data.limit)
    heldout = load_heldout(recipe)
    require_code_sandbox(recipe, rows + heldout)  # before the model loads
    model, tokenizer, peft_config = load_policy(recipe.model)
    stop = stop_strings(recipe.prompt, tokenizer)  # [] unless prompts are plain text
    languages = run_languages(data_languages(rows + heldout), prompt_texts(
        recipe.prompt, recipe.rollout.scaffold_examples))
    reward_funcs = bind_rewards(recipe, stop, languages,
                                per_language=any(row.get("lang") for row in rows))
    engines.stop_rollouts_at(stop, args, model, tokenizer)

    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(to_dict(recipe), sort_keys=False))
    trainer = build_trainer(recipe, args, model, tokenizer, peft_config, reward_funcs,
                            to_grpo_dataset(rows, recipe.prompt, tokenizer))

    eval_before = evaluate_once(recipe, trainer, tokenizer, heldout, run_dir / "eval_before.json")
    trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    final_dir = save_final(trainer, run_dir)
    eval_after = evaluate_once(recipe, trainer, tokenizer, heldout, run_dir / "eval_after.json",
                               reuse=False)

    metrics = read_metrics(run_dir)
    summary = {
        "run": recipe.run.name, "algorithm": recipe.algorithm,
        "steps": trainer.state.global_step, "resumed_from": str(resume_from or ""),
        "wall_time_s": round(time.monotonic() - started, 1),
        "final_model": str(final_dir), "last_metrics": metrics[-1] if metrics else {},
        "eval_before": eval_before, "eval_after": eval_after,
    }
    write_json_atomic(run_dir / "summary.json", summary)
    return summary


def train_stages(recipes: list[Recipe], *, resume: bool = False) -> list[dict[str, Any]]:
    """Run a curriculum: each stage starts from the previous stage's final model.

    With `resume`, finished stages (those with a summary.json) are skipped and the first
    unfinished one resumes from its last checkpoint, or starts if it has none.
    """
    summaries = []
    for i, recipe in enumerate(recipes):
        if i > 0:
            recipe.model.name_or_path = str(recipes[i - 1].run_dir / "final")
        if resume and (recipe.run_dir / "summary.json").is_file():
            summaries.append(json.loads((recipe.run_dir / "summary.json").read_text()))
            continue
        has_checkpoint = checkpoint.last_complete(recipe.run_dir) is not None
        summaries.append(train(recipe, resume=resume and has_checkpoint))
    return summaries


def prepare_run_dir(run_dir: Path, resume: bool) -> Path | None:
    """Refuse to overwrite a run, or pick the checkpoint to resume from (nothing written)."""
    existing = checkpoint.checkpoints(run_dir)
    if not resume:
        if existing or (run_dir / "summary.json").exists():
            raise UserError(f"run.output_dir: {run_dir} already holds a run; pass --resume to "
                            f"continue it, or choose another run.name / run.output_dir")
        return None
    last = checkpoint.last_complete(run_dir)
    if last is None:
        raise UserError(f"--resume: no complete checkpoint in {run_dir}; "
                        f"start the run without --resume")
    checkpoint.discard_incomplete(run_dir)
    truncate_metrics(run_dir, int(last.name.split("-")[-1]))
    return last


def require_code_sandbox(recipe: Recipe, rows: list[dict[str, Any]]) -> None:
    """Stop (UserError, exit 2) when rows are code tasks and the sandbox is below the minimum
    isolation, unless the recipe sets ``run.unsafe_weak_code_sandbox`` (then warn loudly)."""
    if not any(str(row.get("task") or "").strip().lower() == "code" for row in rows):
        return
    from rewards.sandbox.isolation import launch_problem

    problem = launch_problem(recipe.run.unsafe_weak_code_sandbox)
    if problem:
        raise UserError(problem)
    if launch_problem(False):
        logging.getLogger(__name__).warning(
            "UNSAFE: run.unsafe_weak_code_sandbox is set and the code sandbox is weak: policy "
            "programs run with your rights, can read the data and use the network")


def bind_rewards(recipe: Recipe, stop: Sequence[str] = (),
                 languages: tuple[str, ...] = ("en",), per_language: bool = False
                 ) -> list[Callable[..., list[float | None]]]:
    """The recipe's reward functions with their `params` bound, keeping their names.

    TRL logs each reward as `rewards/<__name__>/mean`, so the bound function keeps the name.
    Each sees completions of plain-text prompts as evaluation does (`text_prompt_view`). A
    function with a `languages` or `candidates` parameter the recipe leaves unset gets
    `languages` (the run's: data, prompt and worked examples, `rewards.language_id.run_languages`),
    which the language judge adds to its candidates. With `per_language`, the functions also
    log `LanguageMetrics`, inside the text view: the metric judges what the reward judges (it
    once judged the raw completion with its stop string, "\nUser:", which made every Chinese
    sample of the multilingual smoke inconsistent in the log while the reward paid it).
    """
    funcs = []
    for i, spec in enumerate(recipe.rewards):
        fn = import_object(spec.fn, f"rewards[{i}].fn")
        if not callable(fn):
            raise UserError(f"rewards[{i}].fn: {spec.fn} is not callable")
        params = dict(spec.params)
        for name in ("languages", "candidates"):
            if name in inspect.signature(fn).parameters and name not in params:
                params[name] = list(languages)
        funcs.append(functools.update_wrapper(functools.partial(fn, **params), fn))
    if per_language:
        funcs = LanguageMetrics([f.__name__ for f in funcs], [r.weight for r in recipe.rewards],
                                languages).wrap(funcs)
    return [text_prompt_view(fn, stop) for fn in funcs]


def data_languages(rows: list[dict[str, Any]]) -> tuple[str, ...]:
    """The languages language ID judges among: the rows' `lang` values plus English.

    >>> data_languages([{"lang": "fr"}, {"lang": ""}, {"lang": "zh"}])
    ('en', 'fr', 'zh')
    """
    from rewards.language_id import languages_for

    try:
        return languages_for(row.get("lang") for row in rows)
    except ValueError as exc:
        raise RecipeError(f"data.columns.lang: {exc}") from None


def text_prompt_view(fn: Callable[..., list], stop: Sequence[str]) -> Callable[..., list]:
    """`fn` seeing, for plain-text prompts, what the grader sees in evaluation.

    The completion gets the prompt's trailing `<think>` and is cut at the first stop string
    (`prompting.answer_text`), and the prompt is the problem itself (the `problem` column), as
    the last user message is for chat prompts. Chat prompts pass through unchanged.
    """
    @functools.wraps(fn)
    def reward(prompts=None, completions=(), **columns):
        if prompts and isinstance(prompts[0], str):
            completions = [answer_text(p, c, stop) for p, c in zip(prompts, completions,
                                                                   strict=True)]
            prompts = columns.get("problem") or prompts
        return fn(prompts=prompts, completions=completions, **columns)

    return reward


def configure_reporting(recipe: Recipe, run_dir: Path) -> list[str]:
    """wandb when a key is set or the recipe asks for it (offline without a key)."""
    asked = recipe.trainer.get("report_to") or []
    asked = [asked] if isinstance(asked, str) else list(asked)
    asked = [r for r in asked if r != "none"]
    if os.environ.get("WANDB_API_KEY") and "wandb" not in asked:
        asked.append("wandb")
    if "wandb" in asked:
        os.environ.setdefault("WANDB_DIR", str(run_dir))
        os.environ.setdefault("WANDB_PROJECT", "reasoning-rl")
        if not os.environ.get("WANDB_API_KEY"):
            os.environ["WANDB_MODE"] = "offline"
    return asked


def grpo_settings(recipe: Recipe, report_to: list[str]):
    """TRL `GRPOConfig` from the recipe, checked before anything runs.

    Settings TRL or the Magistral objective reject become `RecipeError`s (exit code 2).
    `load_recipe` already checked the objective against the `trainer` values; this re-checks
    the GRPOConfig TRL actually derived from them.
    """
    import torch
    from trl import GRPOConfig

    settings = {**recipe.trainer, "report_to": report_to or "none"}
    settings.setdefault("use_cpu", not torch.cuda.is_available())
    if settings.get("steps_per_generation") is None:  # M minibatches, each one optimizer step
        settings["steps_per_generation"] = steps_per_generation(settings, recipe.objective)
    try:
        args = GRPOConfig(output_dir=str(recipe.run_dir), seed=recipe.run.seed,
                          reward_weights=[r.weight for r in recipe.rewards],
                          save_total_limit=None, **settings)
    except ValueError as exc:
        raise RecipeError(f"trainer: TRL rejects these settings: {exc}") from None
    if recipe.objective is not None:
        problems = objective_problems(args, recipe.objective)
        if problems:
            raise RecipeError(*problems)
    engines.check_rollout(recipe)
    return args


def build_trainer(recipe: Recipe, args, model, tokenizer, peft_config, reward_funcs, dataset):
    """TRL's GRPOTrainer (`algorithm: trl`), or our Magistral subclass (`algorithm: magistral`),
    both scoring each group's prompt once where exact (`model.shared_prefix`)."""
    from transformers.trainer_callback import ProgressCallback

    from reasoning_rl.objective.shared_prefix_trainer import SharedPrefixGRPOTrainer
    from reasoning_rl.run.sandbox_metrics import SandboxMetrics

    callbacks = [PeriodicEval.from_recipe(recipe),  # before MetricsFile: adds eval/... keys
                 SandboxMetrics(),  # before MetricsFile: adds sandbox/... counters
                 MetricsFile(recipe.run_dir), RewardProgressBar(),
                 checkpoint.CommitCheckpoints(recipe.run_dir, recipe.run.keep_checkpoints)]
    kwargs = {"model": model, "args": args, "reward_funcs": reward_funcs,
              "train_dataset": dataset, "processing_class": tokenizer,
              "peft_config": peft_config, "callbacks": callbacks,
              "shared_prefix": recipe.model.shared_prefix}
    with engines.building(recipe, args) as cpu_colocate:
        if recipe.algorithm == "magistral":
            from reasoning_rl.objective.trainer import MagistralGRPOTrainer

            trainer = MagistralGRPOTrainer(objective=recipe.objective,
                                           scaffold=scaffold_for(recipe.prompt, recipe.rollout,
                                                                 tokenizer), **kwargs)
        else:
            trainer = SharedPrefixGRPOTrainer(**kwargs)
    engines.attach(trainer, recipe, args, cpu_colocate)
    trainer.remove_callback(ProgressCallback)  # ours shows the reward too
    return trainer


def evaluate_once(recipe: Recipe, trainer, tokenizer, rows, path: Path, *,
                  reuse: bool = True) -> dict[str, Any] | None:
    """Held-out greedy eval, cached in `path` so a resumed run keeps its 'before' numbers."""
    if not rows or not recipe.eval.heldout or not recipe.eval.heldout.before_after:
        return None
    if reuse and path.is_file():
        return json.loads(path.read_text())
    result = evaluate_heldout(trainer.model, tokenizer, rows,
                              recipe.eval.prompt_for(recipe.prompt),
                              max_new_tokens=recipe.eval.max_new_tokens,
                              batch_size=recipe.eval.batch_size,
                              out_dir=path.with_suffix(""))
    write_json_atomic(path, result)
    return result


def save_final(trainer, run_dir: Path) -> Path:
    """Save the trained model (or LoRA adapter) to run_dir/final, atomically."""
    with atomic_path(run_dir / "final") as staging:
        trainer.save_model(str(staging))
        trainer.processing_class.save_pretrained(str(staging))
    return run_dir / "final"
