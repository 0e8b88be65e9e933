"""Step time and peak memory: the base Gemma 3 270M recipe next to the SmolLM2 smoke recipe.

Why: `recipes/smoke_cpu_base.yaml` trains a model twice the size of the smoke recipe's, with a
262k-token vocabulary (a 168M-parameter embedding and LM head). This runs a few GRPO steps of
each recipe, as the recipe is (same trainer settings, no held-out eval, no checkpoint), one
after the other in fresh processes, and prints the median step time (first step excluded),
mean completion length and peak resident memory of each, with the base/smoke ratios.

    python -m bench.base_model --steps 4
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RECIPES = {"smollm2-135m-instruct (smoke_cpu)": "recipes/smoke_cpu.yaml",
           "gemma3-270m base (smoke_cpu_base)": "recipes/smoke_cpu_base.yaml"}


def run_recipe(recipe: str, steps: int, folder: Path) -> dict[str, float]:
    """Train `steps` steps of `recipe` in a child process; its step times and peak RSS."""
    command = [sys.executable, "-m", "reasoning_rl.cli", "train", recipe,
               f"trainer.max_steps={steps}", "trainer.save_steps=100000",
               "eval.heldout=null", f"run.output_dir={folder}"]
    child = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{recipe}: training failed (exit {os.waitstatus_to_exitcode(status)})")
    lines = (folder / "metrics.jsonl").read_text().splitlines()
    metrics = [json.loads(line) for line in lines]
    return {"step_s": statistics.median(m["step_time_s"] for m in metrics[1:] or metrics),
            "tokens": statistics.mean(m["completions/mean_length"] for m in metrics),
            "peak_gib": usage.ru_maxrss / 2**20}  # ru_maxrss is in KiB on Linux


def table(results: dict[str, dict[str, float]]) -> str:
    """A Markdown table with one row per model and a ratio row (last / first)."""
    lines = ["| model | median step (s) | mean completion tokens | peak RSS (GiB) |",
             "|---|---|---|---|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['step_s']:.1f} | {r['tokens']:.1f} | {r['peak_gib']:.2f} |")
    rows = list(results.values())
    first, last = rows[0], rows[-1]
    lines.append(f"| ratio base / smoke | {last['step_s'] / first['step_s']:.2f}x | "
                 f"{last['tokens'] / first['tokens']:.2f}x | "
                 f"{last['peak_gib'] / first['peak_gib']:.2f}x |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for i, (name, recipe) in enumerate(RECIPES.items()):
            results[name] = run_recipe(recipe, args.steps, Path(scratch) / f"run{i}")
            print(f"{name}: {results[name]}", file=sys.stderr)
    print(table(results))


if __name__ == "__main__":
    main()
