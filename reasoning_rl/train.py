"""`reasoning-rl train`: one recipe in, one GRPO run out.

Why: the training entry point should read top to bottom like the recipe it runs. `train()` is a
list of named stages: check the run folder, load data, load the policy, bind the rewards,
configure TRL, evaluate before, train (or resume), save, evaluate after, summarise. TRL's
GRPOTrainer does the RL; `algorithm: magistral` swaps in our subclass with the paper's exact
objective, `algorithm: trl` keeps TRL's own.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from reasoning_rl import checkpoint
from reasoning_rl.config import Recipe, import_object, to_dict
from reasoning_rl.dataset import load_canonical, to_grpo_dataset
from reasoning_rl.errors import RecipeError, UserError
from reasoning_rl.gpu_plan import require_gpus_for
from reasoning_rl.heldout_eval import evaluate_heldout
from reasoning_rl.model import load_policy
from reasoning_rl.periodic_eval import PeriodicEval
from reasoning_rl.run_log import (
    MetricsFile,
    RewardProgressBar,
    read_metrics,
    truncate_metrics,
    write_json_atomic,
)
from reasoning_rl.typecheck import build


def train(recipe: Recipe, *, resume: bool = False) -> dict[str, Any]:
    """Run the recipe's GRPO training; return the summary also written to summary.json.

    >>> summary = train(load_recipe("recipes/smoke_cpu.yaml"))  # doctest: +SKIP
    >>> summary["eval_after"]["format_rate"] >= summary["eval_before"]["format_rate"]  # doctest: +SKIP
    True
    """
    started = time.monotonic()
    run_dir = recipe.run_dir
    resume_from = prepare_run_dir(run_dir, resume)
    require_gpus_for(recipe)  # before anything loads: a GPU recipe on a CPU machine stops here
    args, magistral = grpo_settings(recipe, configure_reporting(recipe, run_dir))
    rows = load_canonical(recipe.data.source, recipe.data.split, recipe.data.columns,
                          task=recipe.data.task, lang=recipe.data.lang, limit=recipe.data.limit)
    heldout = load_heldout(recipe)
    model, tokenizer, peft_config = load_policy(recipe.model)
    reward_funcs = bind_rewards(recipe)

    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(to_dict(recipe), sort_keys=False))
    trainer = build_trainer(recipe, args, magistral, model, tokenizer, peft_config,
                            reward_funcs, to_grpo_dataset(rows, recipe.prompt))

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


def load_heldout(recipe: Recipe) -> list[dict[str, Any]]:
    """Canonical rows of the held-out set named in `eval.source` ([] when none)."""
    if not recipe.eval.source:
        return []
    return load_canonical(recipe.eval.source, recipe.eval.split, recipe.data.columns,
                          task=recipe.data.task, lang=recipe.data.lang,
                          limit=recipe.eval.limit, key_path="eval")


def bind_rewards(recipe: Recipe) -> list[Callable[..., list[float | None]]]:
    """The recipe's reward functions with their `params` bound, keeping their names.

    TRL logs each reward as `rewards/<__name__>/mean`, so the bound function keeps the name.
    """
    funcs = []
    for i, spec in enumerate(recipe.rewards):
        fn = import_object(spec.fn, f"rewards[{i}].fn")
        if not callable(fn):
            raise UserError(f"rewards[{i}].fn: {spec.fn} is not callable")
        funcs.append(functools.update_wrapper(functools.partial(fn, **spec.params), fn))
    return funcs


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
    """TRL `GRPOConfig` (and Magistral options) from the recipe, checked before anything runs.

    Settings TRL or the Magistral objective reject become `RecipeError`s (exit code 2).
    """
    import torch
    from trl import GRPOConfig

    settings = {**recipe.trainer, "report_to": report_to or "none"}
    settings.setdefault("use_cpu", not torch.cuda.is_available())
    try:
        args = GRPOConfig(output_dir=str(recipe.run_dir), seed=recipe.run.seed,
                          reward_weights=[r.weight for r in recipe.rewards],
                          save_total_limit=None, **settings)
    except ValueError as exc:
        raise RecipeError(f"trainer: TRL rejects these settings: {exc}") from None
    if recipe.algorithm != "magistral":
        check_rollout(recipe, refill_rounds=0)
        return args, None
    from reasoning_rl.magistral_trainer import MagistralOptions, validate_grpo_config

    options = build(MagistralOptions, recipe.magistral, "magistral")
    try:
        validate_grpo_config(args, options)
    except ValueError as exc:
        raise RecipeError(str(exc)) from None
    check_rollout(recipe, refill_rounds=options.max_refill_rounds)
    return args, options


def check_rollout(recipe: Recipe, refill_rounds: int) -> None:
    """Refuse (exit 2) a `rollout` section the async path cannot run, before anything loads."""
    from reasoning_rl.online.settings import check_async

    check_async(recipe.rollout, recipe.trainer, refill_rounds)
    if recipe.rollout.mode == "async":
        from reasoning_rl.online.hooks import require_engine

        require_engine()


def build_trainer(recipe: Recipe, args, magistral, model, tokenizer, peft_config,
                  reward_funcs, dataset):
    """TRL's GRPOTrainer, or our Magistral subclass when `magistral` options are given."""
    from transformers.trainer_callback import ProgressCallback
    from trl import GRPOTrainer

    callbacks = [PeriodicEval.from_recipe(recipe),  # before MetricsFile: adds eval/... keys
                 MetricsFile(recipe.run_dir), RewardProgressBar(),
                 checkpoint.CommitCheckpoints(recipe.run_dir, recipe.run.keep_checkpoints)]
    kwargs = {"model": model, "args": args, "reward_funcs": reward_funcs,
              "train_dataset": dataset, "processing_class": tokenizer,
              "peft_config": peft_config, "callbacks": callbacks}
    from reasoning_rl.online import hooks
    from reasoning_rl.vllm_cpu import colocate_engine_defaults

    asynchronous = recipe.rollout.mode == "async"
    context = (hooks.stream_generation() if asynchronous  # the engine runs in its own process
               else colocate_engine_defaults(args, recipe.model.dtype))  # vLLM on CPU only
    with context as cpu_colocate:
        if magistral is not None:
            from reasoning_rl.magistral_trainer import MagistralGRPOTrainer

            trainer = MagistralGRPOTrainer(magistral=magistral, **kwargs)
        else:
            trainer = GRPOTrainer(**kwargs)
    if asynchronous:
        hooks.attach(trainer, recipe.rollout, recipe.model.dtype, recipe.run_dir)
    elif cpu_colocate:  # seeded requests: samples depend on the data order only, as in async
        from reasoning_rl.online.seeding import bind_request_seeds

        bind_request_seeds(trainer.vllm_generation, args.seed, lambda: trainer.state.global_step)
    trainer.remove_callback(ProgressCallback)  # ours shows the reward too
    return trainer


def evaluate_once(recipe: Recipe, trainer, tokenizer, rows, path: Path, *,
                  reuse: bool = True) -> dict[str, Any] | None:
    """Held-out greedy eval, cached in `path` so a resumed run keeps its 'before' numbers."""
    if not rows or not recipe.eval.before_after:
        return None
    if reuse and path.is_file():
        return json.loads(path.read_text())
    result = evaluate_heldout(trainer.model, tokenizer, rows,
                              recipe.eval.prompt_for(recipe.prompt),
                              max_new_tokens=recipe.eval.max_new_tokens,
                              batch_size=recipe.eval.batch_size)
    write_json_atomic(path, result)
    return result


def save_final(trainer, run_dir: Path) -> Path:
    """Save the trained model (or LoRA adapter) to run_dir/final, atomically."""
    final_dir, staging = run_dir / "final", run_dir / ".final.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    trainer.save_model(str(staging))
    trainer.processing_class.save_pretrained(str(staging))
    if final_dir.exists():
        shutil.rmtree(final_dir)
    os.replace(staging, final_dir)
    return final_dir
