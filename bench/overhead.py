"""Overhead of `reasoning-rl train` over plain TRL, side by side in one run.

    .venv/bin/python -m bench.overhead [--steps 6] [--rounds 1]      # from the repo root

One small configuration (recipes/smoke_cpu.yaml's model, data, prompt and rewards; 1 prompt x
4 generations of exactly `--tokens` tokens per step, a checkpoint at the last step, and a
tie-breaking `spread_reward` so every group is informative and every variant updates every step)
runs as:

- `bare`: `trl.GRPOTrainer` built by hand, no callbacks of ours, the same GRPOConfig values;
- `trl`: `reasoning_rl.train(recipe)` with `algorithm: trl` (what `reasoning-rl train` runs);
- `magistral`: the same with `algorithm: magistral` (refill off).

Each run is a fresh process; runs alternate (bare, trl, magistral, bare, ...) so load on the
shared machine hits all variants alike. Step time is the wall time from one step's start to the
next (the last step ends with training): it includes generation, rewards, the update, logging,
callbacks and the checkpoint. The first step of each run is warm-up and is left out. The table
also splits where the rest of the time goes: each callback's total time, the held-out eval
before and after training, and saving the final model. Ratios are the result; the machine is
shared, so absolute seconds are not.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "recipes/smoke_cpu.yaml"
VARIANTS = ("bare", "trl", "magistral")


def spread_reward(completions, **kwargs) -> list[float]:
    """A deterministic score in [0, 0.01) from each completion's text: groups never tie.

    Why: with the production rewards alone, a small model's groups are often all-equal, and the
    Magistral objective then skips the update (a cheaper step, not a faster framework). Added
    to every variant, so all of them update on every step.

    >>> spread_reward(["a", "b"]) != spread_reward(["b", "a"])
    True
    """
    texts = [c if isinstance(c, str) else c[-1]["content"] for c in completions]
    return [int(hashlib.sha256(t.encode()).hexdigest()[:8], 16) / 2**32 / 100 for t in texts]


def overrides(args: argparse.Namespace, variant: str, out_dir: str) -> list[str]:
    """The smoke recipe shrunk to a few equal-cost steps (same values for every variant)."""
    common = [
        "rewards=[{fn: rewards.trl_functions.format_reward}, "
        "{fn: rewards.trl_functions.correctness_reward}, {fn: bench.overhead.spread_reward}]",
        f"run.output_dir={out_dir}", "run.name=overhead", f"trainer.max_steps={args.steps}",
        f"trainer.save_steps={args.steps}", "trainer.save_only_model=true",
        f"trainer.max_completion_length={args.tokens}",
        # Every completion gets exactly `tokens` tokens, so each step does the same work.
        f"trainer.generation_kwargs={{min_new_tokens: {args.tokens}}}",
        f"eval.heldout.limit={args.eval_problems}", f"eval.max_new_tokens={args.tokens}",
        # The framework's overhead, not its compute savings: `bare` has no shared prefix.
        "model.shared_prefix=false",
    ]
    if variant == "magistral":
        return common + ["algorithm=magistral", "objective.max_refill_rounds=0"]
    return common + ["algorithm=trl", "objective=null"]


class StepClock(TrainerCallback):
    """Records when each step starts and when training ends."""

    def __init__(self) -> None:
        self.starts: list[float] = []
        self.end = 0.0

    def on_step_begin(self, args, state, control, **kwargs):
        self.starts.append(time.perf_counter())

    def on_train_end(self, args, state, control, **kwargs):
        self.end = time.perf_counter()

    def step_times(self) -> list[float]:
        marks = self.starts + [self.end]
        return [b - a for a, b in zip(marks, marks[1:], strict=False)]


def instrument(trainer, callback_s: dict[str, float]) -> StepClock:
    """Time every callback method of `trainer` (per class) and add a step clock last."""
    for callback in trainer.callback_handler.callbacks:
        name = type(callback).__name__
        for attr in dir(TrainerCallback):
            if attr.startswith("on_") and attr in type(callback).__dict__:
                setattr(callback, attr, _timed(getattr(callback, attr), name, callback_s))
    clock = StepClock()
    trainer.add_callback(clock)
    return clock


def _timed(method, name: str, totals: dict[str, float]):
    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            totals[name] += time.perf_counter() - started
    return timed


def run_bare(args: argparse.Namespace, out_dir: str) -> dict[str, Any]:
    """Plain TRL: GRPOTrainer with the recipe's resolved GRPOConfig values and reward functions."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from reasoning_rl.data.dataset import load_canonical, to_grpo_dataset
    from reasoning_rl.model.loading import resolve_model_path
    from reasoning_rl.recipe.config import import_object, load_recipe

    recipe = load_recipe(RECIPE, overrides(args, "trl", out_dir))
    folder = resolve_model_path(recipe.model.name_or_path)
    rows = load_canonical(recipe.data.source, recipe.data.split, recipe.data.columns)
    config = GRPOConfig(output_dir=out_dir, seed=recipe.run.seed, report_to="none", use_cpu=True,
                        reward_weights=[r.weight for r in recipe.rewards], **recipe.trainer)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    trainer = GRPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32), args=config,
        reward_funcs=[import_object(r.fn, "rewards") for r in recipe.rewards],
        train_dataset=to_grpo_dataset(rows, recipe.prompt, tokenizer), processing_class=tokenizer)
    callback_s: dict[str, float] = defaultdict(float)
    clock = instrument(trainer, callback_s)
    trainer.train()
    return {"step_s": clock.step_times(), "callback_s": dict(callback_s)}


def run_framework(args: argparse.Namespace, variant: str, out_dir: str) -> dict[str, Any]:
    """`reasoning_rl.train(recipe)`, with its trainer, evals and final save timed."""
    from reasoning_rl import training
    from reasoning_rl.recipe.config import load_recipe

    recipe = load_recipe(RECIPE, overrides(args, variant, out_dir))
    callback_s: dict[str, float] = defaultdict(float)
    phase_s: dict[str, float] = defaultdict(float)
    clocks: list[StepClock] = []
    build, evaluate_once, save_final = (training.build_trainer, training.evaluate_once,
                                        training.save_final)

    def build_timed(*a, **k):
        trainer = build(*a, **k)
        clocks.append(instrument(trainer, callback_s))
        return trainer

    # Instrumentation only: the same functions run, wrapped in timers.
    training.build_trainer = build_timed
    training.evaluate_once = _timed(evaluate_once, "eval before+after", phase_s)
    training.save_final = _timed(save_final, "final save", phase_s)
    started = time.perf_counter()
    training.train(recipe)
    return {"step_s": clocks[0].step_times(), "callback_s": dict(callback_s),
            "phase_s": dict(phase_s), "train_wall_s": time.perf_counter() - started}


def child(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix=f"overhead-{args.child}-") as tmp:
        out_dir = str(Path(tmp) / "run")
        result = (run_bare(args, out_dir) if args.child == "bare"
                  else run_framework(args, args.child, out_dir))
    print("RESULT " + json.dumps(result))


def launch(args: argparse.Namespace, variant: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.overhead", "--child", variant,
               "--steps", str(args.steps), "--tokens", str(args.tokens),
               "--eval-problems", str(args.eval_problems)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        sys.exit(f"{variant} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(lines[-1].removeprefix("RESULT "))


def report(runs: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> None:
    """The Markdown table: median step time, ratio to bare TRL, and where the extra time goes."""
    steps = {v: [s for r in runs[v] for s in r["step_s"][1:]] for v in VARIANTS}
    base = statistics.median(steps["bare"])
    print(f"\nsettings: {vars(args)}; {len(runs['bare'])} run(s) per variant, "
          f"{len(steps['bare'])} timed steps each (first step of a run left out)\n")
    print("| variant | median step s | vs bare TRL | mean step s | callbacks s/step "
          "| eval before+after s | final save s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for v in VARIANTS:
        n_steps = sum(len(r["step_s"]) for r in runs[v])
        callbacks = sum(sum(r["callback_s"].values()) for r in runs[v]) / n_steps
        phases = [r.get("phase_s", {}) for r in runs[v]]
        evals = statistics.mean(p.get("eval before+after", 0.0) for p in phases)
        final = statistics.mean(p.get("final save", 0.0) for p in phases)
        median = statistics.median(steps[v])
        print(f"| {v} | {median:.2f} | {median / base:.3f}x | {statistics.mean(steps[v]):.2f} "
              f"| {callbacks:.3f} | {evals:.1f} | {final:.1f} |")
    print("\ncallback time per run (s, summed over the run's steps):")
    for v in VARIANTS:
        totals: dict[str, float] = defaultdict(float)
        for r in runs[v]:
            for name, seconds in r["callback_s"].items():
                totals[name] += seconds / len(runs[v])
        print(f"  {v}: " + ", ".join(f"{k} {s:.2f}" for k, s in sorted(totals.items())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--tokens", type=int, default=32, help="tokens per completion")
    parser.add_argument("--eval-problems", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=1, help="runs per variant, alternating")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    for _ in range(args.rounds):
        for variant in VARIANTS:
            started = time.perf_counter()
            runs[variant].append(launch(args, variant))
            steps = ", ".join(f"{s:.1f}" for s in runs[variant][-1]["step_s"])
            print(f"{variant}: {time.perf_counter() - started:.0f} s; steps (s): {steps}",
                  flush=True)
    report(runs, args)


if __name__ == "__main__":
    main()
