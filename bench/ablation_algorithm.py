"""Ablation: `algorithm: magistral` vs `algorithm: trl` on the embedded model, same seed.

Why: the two objectives differ in the advantage scale, in what happens to groups whose rewards
are all equal, and in the loss normaliser (see docs/algorithm.md). This script trains the same
small CPU setting twice from the same seed and prints, step by step, the mean reward and the
fraction of groups that carried no signal (Magistral removes them; TRL keeps them and only
logs the fraction as `frac_reward_zero_std`). The rewards are the production ones the smoke
recipe uses (`rewards.trl_functions.format_reward` and `correctness_reward`), so the bench
measures what training optimises.

    .venv/bin/python bench/ablation_algorithm.py --steps 12
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import torch
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import GRPOConfig, GRPOTrainer

from reasoning_rl.data.prompting import build_prompt
from reasoning_rl.model.embedded import ensure_converted
from reasoning_rl.objective.trainer import MagistralGRPOTrainer
from reasoning_rl.recipe.config import load_recipe
from reasoning_rl.recipe.objective_section import ObjectiveSection
from rewards.trl_functions import correctness_reward, format_reward


def arithmetic_dataset(size: int, seed: int) -> Dataset:
    """`size` addition problems 'What is a + b?' with their answers, as chat prompts."""
    rng = random.Random(seed)
    # The smoke recipe's prompt (three short worked examples): with a single example the
    # embedded model almost never emits the format, and both algorithms see only zero rewards.
    section = load_recipe(Path(__file__).resolve().parents[1] / "recipes/smoke_cpu.yaml").prompt
    rows = {"prompt": [], "answer": []}
    for _ in range(size):
        a, b = rng.randint(1, 50), rng.randint(1, 50)
        rows["prompt"].append(build_prompt(f"What is {a} + {b}?", section, None))
        rows["answer"].append(str(a + b))
    return Dataset.from_dict(rows)


def train(algorithm: str, args: argparse.Namespace, folder: str) -> tuple[list[dict], float]:
    """Train one algorithm; return TRL's per-step log records and the wall time in seconds."""
    torch.manual_seed(args.seed)
    config = GRPOConfig(
        output_dir=tempfile.mkdtemp(prefix=f"ablation-{algorithm}-"),
        per_device_train_batch_size=args.batch, num_generations=args.generations,
        max_completion_length=args.max_tokens, max_steps=args.steps, learning_rate=args.lr,
        beta=0.0, epsilon=0.2, epsilon_high=0.28, num_iterations=1, temperature=1.0,
        report_to=[], use_cpu=True, logging_steps=1, save_strategy="no", seed=args.seed,
        bf16=False, gradient_checkpointing=False,  # GRPOConfig defaults; bf16 is slow on this CPU
    )  # fmt: skip
    kwargs = {
        "model": AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32),
        "args": config,
        "reward_funcs": [format_reward, correctness_reward],
        "train_dataset": arithmetic_dataset(args.problems, args.seed),
        "processing_class": AutoTokenizer.from_pretrained(folder),
    }
    if algorithm == "magistral":
        objective = ObjectiveSection(max_refill_rounds=args.refill)
        trainer: GRPOTrainer = MagistralGRPOTrainer(objective=objective, **kwargs)
    else:
        trainer = GRPOTrainer(**kwargs)
    start = time.perf_counter()
    trainer.train()
    return [r for r in trainer.state.log_history if "reward" in r], time.perf_counter() - start


def print_table(runs: dict[str, tuple[list[dict], float]]) -> None:
    """Side-by-side reward and filtered/zero-std group fraction per step, then means."""
    mag, trl_logs = runs["magistral"][0], runs["trl"][0]
    print("\n| step | magistral reward | magistral filtered groups | trl reward "
          "| trl zero-std groups |")
    print("| --- | --- | --- | --- | --- |")
    for i, (m, t) in enumerate(zip(mag, trl_logs, strict=True), start=1):
        print(
            f"| {i} | {m['reward']:.3f} | {m['magistral/filtered_group_frac']:.2f} "
            f"| {t['reward']:.3f} | {t['frac_reward_zero_std']:.2f} |"
        )

    def mean(logs: list[dict], key: str) -> float:
        return sum(r[key] for r in logs) / len(logs)

    print(
        f"| mean | {mean(mag, 'reward'):.3f} | {mean(mag, 'magistral/filtered_group_frac'):.2f} "
        f"| {mean(trl_logs, 'reward'):.3f} | {mean(trl_logs, 'frac_reward_zero_std'):.2f} |"
    )
    skipped = sum(r["magistral/skipped_step"] for r in mag)
    print(f"\nmagistral: {skipped:.0f}/{len(mag)} steps skipped (every group filtered)")
    for name, (_, seconds) in runs.items():
        print(f"{name}: {seconds:.0f} s wall for {len(runs[name][0])} steps")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--batch", type=int, default=8, help="generations per step")
    parser.add_argument("--generations", type=int, default=4, help="generations per prompt")
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--problems", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-5)
    parser.add_argument("--refill", type=int, default=0, help="magistral max_refill_rounds")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    folder = ensure_converted("embedded:smollm2-135m-instruct")
    runs = {name: train(name, args, folder) for name in ("magistral", "trl")}
    print(f"\nsettings: {vars(args)}")
    print_table(runs)


if __name__ == "__main__":
    main()
