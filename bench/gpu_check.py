"""GPU check: a few GRPO steps in the GPU recipes' shapes, measured against `reasoning-rl plan`.

    python -m bench.gpu_check --out DIR [--budget-s 380] [--steps 3] [--completion 1024]
    python -m bench.gpu_check --dry-run --out DIR      # CPU, tiny shapes: what CI runs

Run it with -m from the repository root, as above.

For each case (LoRA in the 1-GPU math recipe's shape, full fine-tuning of Qwen3-1.7B and
Qwen3-8B) the model is built from its published config.json (reasoning_rl/plan/configs/) with
random weights, so no hub is needed, and trained for `--steps` GRPO steps with the project's
trainer (recipe `algorithm: magistral`, transformers generation, since a lent GPU machine has no
vLLM). Random weights sample no end-of-sequence token and `min_new_tokens` pins every
completion to `--completion` tokens, so every step has the same, plan-like shape. A reward that
scores text diversity is added to the recipe's own rewards: with all-zero rewards the Magistral
objective filters every group and skips the backward pass, which would measure nothing.

Recorded per case (the first step is a warm-up; figures are medians of the rest): step time,
generation tokens/s (completion tokens / time in `generate`), training tokens/s (prompt +
completion tokens / the rest of the step), peak GPU memory (allocated and reserved), and
`plan`'s estimate for the same recipe, shape and GPU, with the ratio peak reserved / plan
(plan without its assumed 1.5 GB CUDA context, which torch does not count). Written to
DIR/gpu_check.json and DIR/gpu_check.md after every case, so a run cut short keeps its cases.
The tokenizer is the embedded SmolLM2 one (49,152 tokens; ids above it decode to nothing): give
its folder with --tokenizer, or the embedded model is used. `--budget-s` skips the cases that
would not finish in time. `--shared-prefix` then also runs bench/shared_prefix.py on the GPU
(each group's prompt forwarded once vs per sample, Qwen2.5-1.5B's architecture with random
weights, float32; its table goes to DIR/shared_prefix.md). Docs: docs/gpu.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reasoning_rl.data.dataset import load_canonical, to_grpo_dataset
from reasoning_rl.model.loading import load_tokenizer, lora_config, resolve_model_path
from reasoning_rl.plan.launch import make_plan
from reasoning_rl.plan.memory import GB
from reasoning_rl.plan.model_size import known_config_path
from reasoning_rl.recipe.config import RewardSpec, load_recipe
from reasoning_rl.training import bind_rewards, build_trainer, grpo_settings

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data" / "arithmetic_train.jsonl"
DEFAULT_TOKENIZER = REPO / "build" / "gpu" / "tokenizer"
# Dry-run shapes; the vocabulary shrinks to the embedded tokenizer's (the log-prob over the
# vocabulary dominates a CPU step).
TINY = {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "head_dim": 16, "intermediate_size": 128, "vocab_size": 49152}


@dataclass(frozen=True)
class Case:
    """One shape to measure: a recipe, overrides, and the seconds it is allowed to need."""

    name: str
    recipe: str
    overrides: tuple[str, ...]
    allowance_s: float  # start only with this much budget left (an allowance, not a measurement)


CASES = (
    Case("lora-qwen2.5-1.5b", "recipes/magistral_math_lora_1gpu.yaml", (), 100),
    # the largest shape second, so that a slow first case costs the smallest one
    Case("full-qwen3-8b", "recipes/magistral_math_lora_1gpu.yaml",
         ("model.name_or_path=Qwen/Qwen3-8B", "model.lora=null"), 170),
    Case("full-qwen3-1.7b", "recipes/magistral_math_lora_1gpu.yaml",
         ("model.name_or_path=Qwen/Qwen3-1.7B", "model.lora=null"), 100),
)


def spread_reward(prompts: list[Any], completions: list[Any], **_: Any) -> list[float]:
    """Distinct characters per completion / 100: unequal within a group, so no group is filtered.

    >>> spread_reward(["p", "p"], ["aab", [{"role": "assistant", "content": "abc"}]])
    [0.02, 0.03]
    """
    from rewards.trl_functions import message_text

    return [len(set(message_text(c))) / 100 for c in completions]


class StepMeter:
    """Times each optimizer step and the generation inside it; counts the tokens."""

    def __init__(self, trainer, cuda: bool) -> None:
        from transformers import TrainerCallback

        self.cuda, self.steps, self._start = cuda, [], 0.0
        generate = trainer._generate_single_turn  # TRL 1.16: every rollout goes through it

        def timed_generate(prompt_ids, *args, **kwargs):
            started = time.perf_counter()
            completion_ids, logprobs = generate(prompt_ids, *args, **kwargs)
            step = self.steps[-1]  # TRL calls it inside training_step, so inside the step
            step["generation_s"] += time.perf_counter() - started
            step["completion_tokens"] += sum(len(c) for c in completion_ids)
            step["prompt_tokens"] += sum(len(p) for p in prompt_ids)
            step["completions"] += len(completion_ids)
            return completion_ids, logprobs

        score = trainer._calculate_rewards

        def timed_rewards(*args, **kwargs):
            started = time.perf_counter()
            rewards = score(*args, **kwargs)
            self.steps[-1]["rewards_s"] += time.perf_counter() - started
            return rewards

        trainer._generate_single_turn = timed_generate
        trainer._calculate_rewards = timed_rewards
        meter = self

        class Callback(TrainerCallback):
            def on_step_begin(self, args, state, control, **kwargs):
                meter._sync()
                meter.steps.append({"generation_s": 0.0, "rewards_s": 0.0, "completion_tokens": 0,
                                    "prompt_tokens": 0, "completions": 0})
                meter._start = time.perf_counter()

            def on_step_end(self, args, state, control, **kwargs):
                meter._sync()
                meter.steps[-1]["step_s"] = time.perf_counter() - meter._start

        trainer.add_callback(Callback())

    def _sync(self) -> None:
        if self.cuda:
            import torch

            torch.cuda.synchronize()

    def summary(self) -> dict[str, float]:
        """Medians over the steps after the first (all steps when there is only one)."""
        steps = [s for s in self.steps if "step_s" in s]
        measured = steps[1:] or steps

        def median(fn) -> float:
            return statistics.median(fn(s) for s in measured)

        return {
            "steps_measured": len(measured),
            "step_s": median(lambda s: s["step_s"]),
            "generation_s": median(lambda s: s["generation_s"]),
            "rewards_s": median(lambda s: s["rewards_s"]),
            "completions_per_step": median(lambda s: s["completions"]),
            "completion_tokens_per_step": median(lambda s: s["completion_tokens"]),
            "prompt_tokens_mean": median(lambda s: s["prompt_tokens"] / max(s["completions"], 1)),
            "generation_tokens_per_s": median(
                lambda s: s["completion_tokens"] / max(s["generation_s"], 1e-9)),
            "training_tokens_per_s": median(
                lambda s: (s["completion_tokens"] + s["prompt_tokens"])
                / max(s["step_s"] - s["generation_s"] - s["rewards_s"], 1e-9)),
        }


def case_recipe(case: Case, run_dir: Path, steps: int, completion: int, dry_run: bool):
    """The case's recipe with the check's settings: no vLLM, local data, fixed lengths."""
    overrides = [*case.overrides, "trainer.use_vllm=false", f"trainer.max_steps={steps}",
                 "trainer.gradient_accumulation_steps=2",
                 f"trainer.max_completion_length={completion}", "trainer.save_strategy='no'",
                 "trainer.logging_steps=1", "eval.heldout=null", f"data.source={DATA}",
                 "data.split=train", "data.limit=64", "data.columns.prompt=prompt",
                 f"run.output_dir={run_dir}",
                 # Each measured step generates its own batch: the check times generation and
                 # the update of the same step together, so one minibatch per generated batch.
                 "objective.minibatches=1"]
    if dry_run:
        overrides += ["trainer.per_device_train_batch_size=2", "trainer.num_generations=2",
                      "trainer.bf16=false", "model.dtype=float32"]
    recipe = load_recipe(REPO / case.recipe, overrides)
    recipe.trainer["generation_kwargs"] = {"min_new_tokens": completion}
    for spec in recipe.rewards:  # the length penalty's budget follows the completion length
        if "l_max" in spec.params:
            spec.params["l_max"] = completion
    return recipe


def write_model_config(name: str, folder: Path, dry_run: bool) -> dict[str, Any]:
    """The published config.json of `name` (shrunk to TINY on a dry run), written to `folder`."""
    source = known_config_path(name)
    if source is None:
        raise SystemExit(f"no shipped config.json for {name}: add it to reasoning_rl/plan/configs")
    config = json.loads(source.read_text())
    if dry_run:
        config.update(TINY)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    return config


def random_model(config: dict[str, Any], dtype: str, device: str):
    """A causal LM with random weights, built directly on `device`."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    fields = {k: v for k, v in config.items() if k != "model_type"}
    with torch.device(device):
        model_config = AutoConfig.for_model(config["model_type"], **fields)
        return AutoModelForCausalLM.from_config(model_config, dtype=getattr(torch, dtype))


def preflight(recipe) -> dict[str, float]:
    """Score one correct, well-formed completion with the recipe's rewards before any case runs.

    A lent machine lacks packages the rewards import lazily (math-verify, its ANTLR runtime);
    random-weight completions never reach them, so check them here, in seconds.
    """
    completion = [{"role": "assistant", "content": "<think>half</think> So \\boxed{0.5}."}]
    scores = {}
    for fn in bind_rewards(recipe):
        scores[fn.__name__] = fn(prompts=["What is 1/2?"], completions=[completion],
                                 completion_ids=[[0] * 16], answer=["1/2"], task=["math"],
                                 lang=["en"], tests=[[]])[0]
    if not scores.get("correctness_reward"):
        raise SystemExit(f"preflight: a correct answer scored {scores}; math-verify is broken")
    return scores


def run_case(case: Case, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Build, train `args.steps` steps, measure, and compare with the plan."""
    import torch

    cuda = torch.cuda.is_available() and not args.dry_run
    recipe = case_recipe(case, work / case.name / "run", args.steps, args.completion, args.dry_run)
    hub_name = recipe.model.name_or_path
    config = write_model_config(hub_name, work / case.name / "model", args.dry_run)
    recipe.model.name_or_path = str(work / case.name / "model")  # plan sizes this very config
    model = random_model(config, recipe.model.dtype, "cuda" if cuda else "cpu")
    tokenizer = load_tokenizer(str(args.tokenizer))
    recipe.rewards.append(RewardSpec(fn="bench.gpu_check.spread_reward"))
    grpo_args = grpo_settings(recipe, [])
    reward_funcs = bind_rewards(recipe)
    rows = load_canonical(str(DATA), "train", recipe.data.columns, limit=recipe.data.limit)
    trainer = build_trainer(recipe, grpo_args, model, tokenizer, lora_config(recipe.model.lora),
                            reward_funcs, to_grpo_dataset(rows, recipe.prompt, tokenizer))
    meter = StepMeter(trainer, cuda)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    trainer.train()
    result = {"case": case.name, "model": hub_name, "recipe": case.recipe,
              "overrides": list(case.overrides), "trains": "LoRA" if recipe.model.lora else "full",
              "micro_batch": recipe.trainer["per_device_train_batch_size"],
              "completion_tokens": args.completion, "wall_s": time.perf_counter() - started,
              **meter.summary()}
    result.update(memory_versus_plan(case, recipe, result["prompt_tokens_mean"], cuda))
    del trainer, model
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
    return result


def memory_versus_plan(case: Case, recipe, prompt_tokens: float, cuda: bool) -> dict[str, Any]:
    """Peak GPU memory, `plan`'s estimate for the same shape on this GPU, and their ratio."""
    import torch

    gpu_gb = torch.cuda.get_device_properties(0).total_memory / GB if cuda else 80.0
    plan = make_plan(case.recipe, recipe, gpu_memory_gb=gpu_gb,
                     prompt_tokens=max(1, round(prompt_tokens)))
    comparable = sum(m.bytes for m in plan.memory if m.item != "CUDA context")
    peak_allocated = torch.cuda.max_memory_allocated() if cuda else None
    peak_reserved = torch.cuda.max_memory_reserved() if cuda else None
    return {"params": plan.params, "trainable": plan.trainable,
            "plan_lines_bytes": {m.item: m.bytes for m in plan.memory},
            "plan_bytes": comparable, "peak_allocated_bytes": peak_allocated,
            "peak_reserved_bytes": peak_reserved,
            "peak_over_plan": peak_reserved / comparable if peak_reserved else None}


def markdown(report: dict[str, Any]) -> str:
    """The report as a markdown table (GB = 1e9 bytes)."""
    def gb(value: float | None) -> str:
        return "-" if value is None else f"{value / GB:.1f}"

    title = (f"GPU check on {report['device']} (torch {report['torch']}, transformers "
             f"{report['transformers']}, trl {report['trl']}); dry run: {report['dry_run']}")
    header = ("| case | trains | micro-batch x completion | step s | generation tok/s | "
              "training tok/s | peak alloc GB | peak reserved GB | plan GB | peak / plan |")
    lines = [title, "", header, "|---|---|---|---|---|---|---|---|---|---|"]
    for c in report["cases"]:
        ratio = "-" if c["peak_over_plan"] is None else f"{c['peak_over_plan']:.2f}"
        lines.append(f"| {c['case']} | {c['trains']} | {c['micro_batch']} x "
                     f"{c['completion_tokens']} | {c['step_s']:.1f} | "
                     f"{c['generation_tokens_per_s']:.0f} | {c['training_tokens_per_s']:.0f} | "
                     f"{gb(c['peak_allocated_bytes'])} | {gb(c['peak_reserved_bytes'])} | "
                     f"{gb(c['plan_bytes'])} | {ratio} |")
    lines += [f"skipped (budget): {', '.join(report['skipped'])}"] if report["skipped"] else []
    return "\n".join(lines) + "\n"


def environment(dry_run: bool) -> dict[str, Any]:
    import torch
    import transformers
    import trl

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() and not dry_run else "cpu"
    return {"device": device, "torch": torch.__version__, "transformers": transformers.__version__,
            "trl": trl.__version__, "dry_run": dry_run, "cases": [], "skipped": []}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the JSON and table")
    parser.add_argument("--dry-run", action="store_true", help="CPU, tiny models (CI)")
    parser.add_argument("--steps", type=int, default=None, help="GRPO steps per case (3; 2 dry)")
    parser.add_argument("--completion", type=int, default=None,
                        help="completion tokens (1024; 8 dry)")
    parser.add_argument("--budget-s", type=float, default=380, help="skip cases past this")
    parser.add_argument("--cases", nargs="*", default=[c.name for c in CASES])
    parser.add_argument("--tokenizer", type=Path, default=None,
                        help=f"tokenizer folder (default {DEFAULT_TOKENIZER}, else embedded)")
    parser.add_argument("--shared-prefix", action="store_true",
                        help="also run bench/shared_prefix.py on the GPU (not with --dry-run)")
    args = parser.parse_args(argv)
    args.steps = args.steps or (2 if args.dry_run else 3)
    args.completion = args.completion or (8 if args.dry_run else 1024)
    if args.tokenizer is None:
        args.tokenizer = (DEFAULT_TOKENIZER if DEFAULT_TOKENIZER.is_dir()
                          else Path(resolve_model_path("embedded:smollm2-135m-instruct")))
    import torch

    if not args.dry_run and not torch.cuda.is_available():
        parser.error("no CUDA GPU here; use --dry-run for the CPU check")
    started, report = time.monotonic(), environment(args.dry_run)
    report["preflight_rewards"] = preflight(load_recipe(REPO / CASES[0].recipe))
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as work:
        for case in (c for c in CASES if c.name in args.cases):
            if time.monotonic() - started + case.allowance_s > args.budget_s:
                report["skipped"].append(case.name)
                continue
            report["cases"].append(run_case(case, args, Path(work)))
            report["wall_s"] = time.monotonic() - started
            (args.out / "gpu_check.json").write_text(json.dumps(report, indent=2))
            (args.out / "gpu_check.md").write_text(markdown(report))
    (args.out / "gpu_check.json").write_text(json.dumps(report, indent=2))
    (args.out / "gpu_check.md").write_text(markdown(report))
    print(markdown(report))
    if args.shared_prefix and not args.dry_run:
        shared_prefix_bench(args.out, args.tokenizer)
    return 0


def shared_prefix_bench(out: Path, tokenizer: Path) -> None:
    """bench/shared_prefix.py's GPU variant; its output to OUT/shared_prefix.md as it comes."""
    command = [sys.executable, "-m", "bench.shared_prefix", "--device", "cuda", "--model",
               "Qwen/Qwen2.5-1.5B-Instruct", "--tokenizer", str(tokenizer), "--repeats", "3"]
    with open(out / "shared_prefix.md", "w") as log:  # a run cut short keeps its rows
        subprocess.run(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, check=False)


if __name__ == "__main__":
    raise SystemExit(main())
