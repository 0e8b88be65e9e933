"""Online RL: synchronous vs asynchronous rollouts (K = 1, 2) on one recipe, side by side.

    .venv-vllm/bin/python -m bench.online_rl [--recipe recipes/smoke_cpu_async.yaml]
                                             [--steps 12] [--staleness 1 2] [--out DIR]

(`-m` from the repo root, as above.)

Each mode is a full `reasoning-rl train` of the same recipe and seed (`rollout.mode=sync`, then
`rollout.mode=async rollout.max_staleness=K`), run one after the other in this invocation, so the
ratios compare like with like. Reported per mode: steps/hour and completion tokens/s over the
training steps (engine start and held-out eval excluded: the clock is metrics.jsonl's
wall_time_s from the first to the last step), learner and generator idle fractions, weight-sync
time, staleness, and the mean-reward curve. On a machine where learner and generator share the
same few CPU cores, async cannot add compute, only overlap; on a GPU box it is the real test.
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

from reasoning_rl.recipe.config import load_recipe
from reasoning_rl.run.metrics import read_metrics

REPO = Path(__file__).resolve().parents[1]


def run_mode(recipe: Path, out: Path, name: str, steps: int, overrides: list[str]) -> Path:
    """Train one mode to `out/name`; return the run folder."""
    run_dir = out / name
    command = [sys.executable, "-m", "reasoning_rl.cli", "train", str(recipe),
               f"run.output_dir={run_dir}", f"run.name={name}", f"trainer.max_steps={steps}",
               f"trainer.save_steps={steps + 1}", "eval.heldout=null", *overrides]
    subprocess.run(command, cwd=REPO, check=True,
                   env={**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1"})
    return run_dir


def _mean(rows: list[dict], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return round(statistics.fmean(values), 4) if values else None


def summarize(run_dir: Path, completions_per_step: int) -> dict:
    """Throughput and idle numbers of one run, from its metrics.jsonl."""
    rows = read_metrics(run_dir)
    # The first step carries engine start-up (async) or nothing comparable; time steps 2..N.
    timed = rows[1:]
    seconds = rows[-1]["wall_time_s"] - rows[0]["wall_time_s"]
    tokens = sum(r.get("completions/mean_length", 0.0) * completions_per_step for r in timed)
    return {
        "steps": len(rows),
        "steps_per_hour": round(3600 * len(timed) / seconds, 1),
        "completion_tokens_per_s": round(tokens / seconds, 2),
        "median_step_s": round(statistics.median(r["step_time_s"] for r in timed), 2),
        "learner_idle_frac": _mean(timed, "online/learner_idle_frac"),
        "generator_idle_frac": _mean(timed, "online/generator_idle_frac"),
        "queue_depth": _mean(timed, "online/queue_depth"),
        "weight_sync_s": _mean(timed, "online/weight_sync_s"),
        "engine_reload_s": _mean(timed, "online/engine_reload_s"),
        "staleness_mean": _mean(timed, "online/staleness_mean"),
        "is_ratio_min": _mean(timed, "sampling/importance_sampling_ratio/min"),
        "reward_curve": [round(r["reward"], 3) for r in rows],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="recipes/smoke_cpu_async.yaml")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--staleness", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--out", default=None, help="run folders go here (default: a temp dir)")
    args = parser.parse_args()
    recipe = Path(args.recipe)
    loaded = load_recipe(recipe)
    per_step = (loaded.trainer["per_device_train_batch_size"]
                * loaded.trainer.get("gradient_accumulation_steps", 1))
    out = Path(args.out or tempfile.mkdtemp(prefix="bench-online-"))
    modes = {"sync": ["rollout.mode=sync"]}
    modes |= {f"async_k{k}": ["rollout.mode=async", f"rollout.max_staleness={k}"]
              for k in args.staleness}
    results = {name: summarize(run_mode(recipe, out, name, args.steps, extra), per_step)
               for name, extra in modes.items()}
    base = results["sync"]["steps_per_hour"]
    for row in results.values():
        row["speedup_vs_sync"] = round(row["steps_per_hour"] / base, 3)
    print(json.dumps({"recipe": str(recipe), "steps": args.steps, "runs": str(out),
                      "results": results}, indent=2))


if __name__ == "__main__":
    main()
