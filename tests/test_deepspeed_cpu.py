"""DeepSpeed and multi-process launches, checked on CPU.

DeepSpeed's CPU accelerator (gloo) runs a real ZeRO-2 engine, so the shipped ds_zero2.json,
with its "auto" values filled by transformers from a GRPOConfig exactly as the trainer does,
is checked by taking one optimizer step on the embedded model, and the shared-prefix scoring is
checked through ZeRO-2 and ZeRO-3 engines (ds_zero3.json too). Ranks are checked with
accelerate's MULTI_CPU mode (DDP over gloo), because in DeepSpeed mode without GPUs
accelerate 1.15 reports every rank as process 0 of 1. Both run in subprocesses: they
initialise torch.distributed, which must not leak into the other tests.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from reasoning_rl.model.embedded import ensure_converted
from reasoning_rl.plan.launch import batch_for

REPO = Path(__file__).resolve().parents[1]

ZERO2_STEP = textwrap.dedent("""\
    import importlib, json, math, sys
    import torch
    # DeepSpeed JIT-compiles a shared-memory all-reduce op (a CPU-only speed-up) with g++ on
    # first use: 100+ s of CPU. gloo runs the same collectives without it.
    importlib.import_module("deepspeed.comm.torch").build_shm_op = lambda: None
    import deepspeed
    from transformers import AutoModelForCausalLM
    from transformers.integrations.deepspeed import HfTrainerDeepSpeedConfig
    from trl import GRPOConfig

    ds_file, model_dir, out_dir = sys.argv[1:4]
    args = GRPOConfig(output_dir=out_dir, use_cpu=True, per_device_train_batch_size=2,
                      num_generations=2, learning_rate=1e-3, report_to="none")
    deepspeed.init_distributed(dist_backend="gloo")
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    config = HfTrainerDeepSpeedConfig(ds_file)
    config.trainer_config_process(args)
    config.trainer_config_finalize(args, model, 1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate)  # as the Trainer
    engine, ds_optimizer, _, _ = deepspeed.initialize(model=model, optimizer=optimizer,
                                                      config=config.config)
    watched = ["model.layers.0.self_attn.q_proj.weight", "model.layers.29.mlp.down_proj.weight",
               "model.embed_tokens.weight"]
    params = dict(model.named_parameters())
    before = {name: params[name].detach().clone() for name in watched}
    ids = torch.randint(0, 1000, (2, 16), generator=torch.Generator().manual_seed(0))
    loss = engine(input_ids=ids, labels=ids).loss
    engine.backward(loss)
    engine.step()
    print("RESULT " + json.dumps({
        "stage": engine.zero_optimization_stage(),
        "optimizer": type(ds_optimizer).__name__,
        "micro_batch": engine.train_micro_batch_size_per_gpu(),
        "loss": loss.item(),
        "steps": engine.global_steps,
        "changed": {n: (params[n].detach() - before[n]).abs().max().item() for n in watched},
    }))
    from reasoning_rl.cli import leave_process_group
    leave_process_group()
""")

MAGISTRAL_ZERO2 = textwrap.dedent("""\
    import importlib, json, sys
    import torch
    importlib.import_module("deepspeed.comm.torch").build_shm_op = lambda: None
    from datasets import Dataset
    from transformers import AutoTokenizer, TrainerCallback
    from trl import GRPOConfig

    from reasoning_rl.objective import shared_prefix
    from reasoning_rl.recipe.objective_section import ObjectiveSection
    from reasoning_rl.objective.trainer import MagistralGRPOTrainer

    ds_file, model_dir, out_dir, checkpointing = sys.argv[1:5]
    calls = []
    loss_prompt_passes = []  # shared-prefix prompt passes with gradients (the loss's) that
    prompt_cache = shared_prefix._prompt_cache  # built a cache rather than a fallback reason

    def counting(model, *args, **kwargs):
        cache = prompt_cache(model, *args, **kwargs)
        if torch.is_grad_enabled() and not isinstance(cache, str):
            loss_prompt_passes.append(type(model).__name__)
        return cache

    shared_prefix._prompt_cache = counting

    def reward(prompts, completions, **kwargs):
        # Batch 1: every group all-equal. Batch 2: every group informative. Batch 3: only the
        # first group (rows 0-1), so its 2 rows leave 2 of the 4 micro-batches empty.
        calls.append(len(completions))
        if len(calls) == 1:
            return [1.0] * len(completions)
        return [float(i % 2) if len(calls) == 2 or i < 2 else 1.0
                for i in range(len(completions))]

    def snapshot(trainer):
        engine = trainer.model_wrapped
        opt = engine.optimizer
        moments = {f"{i}.{k}": v.detach().clone()
                   for i, st in enumerate(opt.optimizer.state.values())
                   for k, v in st.items() if torch.is_tensor(v)}
        return {"engine": type(engine).__name__, "optimizer": type(opt).__name__,
                "stage": engine.zero_optimization_stage(), "steps": engine.global_steps,
                "micro_steps": engine.micro_steps, "moments": moments,
                "params": {n: p.detach().clone() for n, p in engine.module.named_parameters()},
                "fp32": [p.detach().clone() for p in opt.single_partition_of_fp32_groups]}

    def same(a, b):
        return (a["steps"] == b["steps"] and a["micro_steps"] == b["micro_steps"]
                and a["moments"].keys() == b["moments"].keys()
                and all(torch.equal(a["moments"][k], b["moments"][k]) for k in a["moments"])
                and all(torch.equal(a["params"][n], b["params"][n]) for n in a["params"])
                and all(torch.equal(x, y) for x, y in zip(a["fp32"], b["fp32"], strict=True)))

    class Watch(TrainerCallback):
        snaps = {}
        def on_train_begin(self, args, state, control, **kwargs):
            self.snaps[0] = snapshot(trainer)
        def on_step_end(self, args, state, control, **kwargs):
            self.snaps[state.global_step] = snapshot(trainer)

    args = GRPOConfig(output_dir=out_dir, use_cpu=True, deepspeed=ds_file,
                      per_device_train_batch_size=2, gradient_accumulation_steps=4,
                      steps_per_generation=4, num_generations=2, max_completion_length=6,
                      max_steps=3, learning_rate=1e-3, report_to="none", save_strategy="no",
                      logging_steps=1, beta=0.0, seed=0,
                      gradient_checkpointing=checkpointing == "checkpointing")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    dataset = Dataset.from_dict({"prompt": [f"Count to {i}." for i in range(16)]})
    trainer = MagistralGRPOTrainer(model=model_dir, args=args, reward_funcs=[reward],
                                   train_dataset=dataset, processing_class=tokenizer,
                                   objective=ObjectiveSection(), shared_prefix=True)
    watch = Watch()
    trainer.add_callback(watch)
    trainer.train()
    s = watch.snaps
    print("RESULT " + json.dumps({
        "engine": s[0]["engine"], "optimizer": s[0]["optimizer"], "stage": s[0]["stage"],
        "steps": [s[k]["steps"] for k in range(4)],
        "skipped_identical": same(s[0], s[1]),
        "second_changed": not same(s[1], s[2]), "third_changed": not same(s[2], s[3]),
        "moments_after": len(s[2]["moments"]),
        "skipped": [e.get("magistral/skipped_step") for e in trainer.state.log_history
                    if "loss" in e],
        "loss_prompt_passes": sorted(set(loss_prompt_passes)),
    }))
    from reasoning_rl.cli import leave_process_group
    leave_process_group()
""")

SHARED_CHECKPOINTED = textwrap.dedent("""\
    import importlib, json, sys
    import torch
    importlib.import_module("deepspeed.comm.torch").build_shm_op = lambda: None
    import deepspeed
    from deepspeed.utils import safe_get_full_grad
    from transformers import AutoModelForCausalLM
    from transformers.integrations.deepspeed import HfTrainerDeepSpeedConfig
    from trl import GRPOConfig

    from reasoning_rl.objective import shared_prefix

    ds_file, model_dir, out_dir = sys.argv[1:4]
    # bf16=False: with GRPOConfig's default bf16 the engine runs the model in bfloat16, whose
    # round-off (measured: ~6e-3 relative between the two paths) is far above the 1e-4 checked.
    args = GRPOConfig(output_dir=out_dir, use_cpu=True, per_device_train_batch_size=6,
                      num_generations=2, learning_rate=0.0, report_to="none", bf16=False)
    deepspeed.init_distributed(dist_backend="gloo")

    def load():
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        return model.train()

    plain = load()  # the reference: per-sample path, no engine
    model = load()
    config = HfTrainerDeepSpeedConfig(ds_file)
    config.trainer_config_process(args)
    config.trainer_config_finalize(args, model, 1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.0)  # step() only clears the grads
    engine, _, _, _ = deepspeed.initialize(model=model, optimizer=optimizer, config=config.config)
    engine.train()

    # 3 prompts of 5, 7 and 9 tokens, left-padded, 2 rows each in shuffled order
    gen = torch.Generator().manual_seed(0)
    prompts = [torch.randint(100, 1000, (n,), generator=gen) for n in (5, 7, 9)]
    order = [2, 0, 1, 0, 2, 1]
    prompt_mask = torch.stack([(torch.arange(9) >= 9 - len(prompts[i])).long() for i in order])
    prompt_ids = torch.stack([torch.cat([torch.zeros(9 - len(prompts[i]), dtype=torch.long),
                                         prompts[i]]) for i in order])
    completion_ids = torch.randint(100, 1000, (6, 5), generator=gen)
    completion_mask = (torch.arange(5) < torch.tensor([5, 3, 5, 1, 4, 5])[:, None]).long()
    batch = (prompt_ids, prompt_mask, completion_ids, completion_mask)

    built = []  # what the checkpointed prompt pass returned: a cache, or a fallback reason
    checkpointed_cache = shared_prefix._checkpointed_prompt_cache
    def recording(*a, **k):
        built.append(type(result := checkpointed_cache(*a, **k)).__name__)
        return result
    shared_prefix._checkpointed_prompt_cache = recording
    attention_calls = []
    engine.module.model.layers[0].self_attn.register_forward_hook(
        lambda module, inputs, out: attention_calls.append(1))

    def pass_(score):
        logps, entropies = score(engine, *batch, compute_entropy=True)
        forwards = len(attention_calls)
        engine.backward(logps.sum() + entropies.sum())
        replays = len(attention_calls) - forwards
        grads = {n: safe_get_full_grad(p).clone() for n, p in engine.module.named_parameters()}
        engine.step()  # lr 0: clears the reduced gradients, leaves the weights
        return logps.detach(), entropies.detach(), grads, replays

    shared = pass_(shared_prefix.grouped_completion_logps)
    sample = pass_(shared_prefix.per_sample_completion_logps)
    logps, entropies = shared_prefix.per_sample_completion_logps(plain, *batch,
                                                                 compute_entropy=True)
    (logps.sum() + entropies.sum()).backward()
    reference = {n: p.grad for n, p in plain.named_parameters()}
    worst = max(((shared[2][n] - g).norm() / g.norm()).item() for n, g in sample[2].items())
    worst_plain = max(((shared[2][n] - g).norm() / g.norm()).item() for n, g in reference.items())
    print("RESULT " + json.dumps({
        "engine": type(engine).__name__, "stage": engine.zero_optimization_stage(),
        "built": built, "fallbacks": sorted(shared_prefix._LOGGED_REASONS),
        "replays": [shared[3], sample[3]],
        "logp_diff": (shared[0] - sample[0]).abs().max().item(),
        "entropy_diff": (shared[1] - sample[1]).abs().max().item(),
        "logp_min": sample[0].min().item(), "grads": len(sample[2]), "worst_grad": worst,
        "plain_logp_diff": (shared[0] - logps.detach()).abs().max().item(),
        "worst_plain_grad": worst_plain,
        "zero_grads": [n for n, g in sample[2].items() if not g.abs().sum() > 0],
    }))
    from reasoning_rl.cli import leave_process_group
    leave_process_group()
""")

RANKS = textwrap.dedent("""\
    import json, sys
    import torch
    from accelerate import PartialState
    from accelerate.utils import gather
    from trl import GRPOConfig
    from reasoning_rl.cli import leave_process_group

    args = GRPOConfig(output_dir=sys.argv[1], use_cpu=True, per_device_train_batch_size=4,
                      gradient_accumulation_steps=2, num_generations=4, report_to="none")
    state = PartialState()
    gathered = gather(torch.tensor([state.process_index])).tolist()
    print("RESULT " + json.dumps({
        "rank": state.process_index, "world": state.num_processes,
        "type": state.distributed_type.value, "gathered": gathered,
        "generation_batch_size": args.generation_batch_size, "args_world": args.world_size,
    }), flush=True)
    leave_process_group()  # what the CLI does before exit; without it gloo can abort at exit
""")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_script(cmd: list[str], env: dict[str, str], timeout: int) -> list[dict]:
    done = subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=timeout, cwd=REPO, check=False)
    # Two processes print at once, so one line may hold both results: decode each "RESULT ".
    decoder = json.JSONDecoder()
    results = [decoder.raw_decode(part)[0] for part in done.stdout.split("RESULT ")[1:]]
    assert done.returncode == 0 and results, done.stdout[-3000:] + done.stderr[-3000:]
    return results


def test_zero2_engine_takes_a_real_optimizer_step_on_cpu(tmp_path):
    script = tmp_path / "zero2_step.py"
    script.write_text(ZERO2_STEP)
    model_dir = ensure_converted("embedded:smollm2-135m-instruct")
    env = {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": str(free_port())}
    [result] = run_script([sys.executable, str(script), "recipes/accelerate/ds_zero2.json",
                           str(model_dir), str(tmp_path / "out")], env, timeout=420)
    assert result["stage"] == 2 and result["optimizer"] == "DeepSpeedZeroOptimizer"
    assert result["micro_batch"] == 2  # "auto" filled from per_device_train_batch_size
    assert result["steps"] == 1 and result["loss"] == result["loss"]  # finite, not NaN
    for name, change in result["changed"].items():
        assert change > 0, f"{name} did not change in the optimizer step"


@pytest.mark.parametrize("checkpointing", ["checkpointing", "no-checkpointing"])
def test_magistral_skips_an_all_equal_batch_before_backward_under_zero2(tmp_path, small_model,
                                                                        checkpointing):
    """The Magistral trainer on a real ZeRO-2 engine (one CPU process): a batch whose groups all
    tie leaves weights, fp32 master weights, Adam moments and step counts bit-identical; an
    informative batch changes them, also when half of its micro-batches are empty. (The trainer
    before this test cleared gradients only after backward, where accelerate has already stepped
    the engine; run here, it crashed first: DeepSpeed's backward refuses a loss with no graph.)
    The loss runs the shared-prefix path through the engine (its prompt pass and completion
    pass, one backward), with TRL's non-reentrant gradient checkpointing as without it."""
    script = tmp_path / "magistral_zero2.py"
    script.write_text(MAGISTRAL_ZERO2)
    env = {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": str(free_port()), "PYTHONPATH": str(REPO)}
    [result] = run_script([sys.executable, str(script), "recipes/accelerate/ds_zero2.json",
                           small_model, str(tmp_path / "out"), checkpointing], env, timeout=420)
    assert (result["engine"], result["optimizer"], result["stage"]) == (
        "DeepSpeedEngine", "DeepSpeedZeroOptimizer", 2)
    assert result["skipped"] == [1.0, 0.0, 0.0]
    assert result["steps"] == [0, 0, 1, 2]
    assert result["skipped_identical"]
    assert result["second_changed"] and result["third_changed"] and result["moments_after"] > 0
    assert result["loss_prompt_passes"] == ["DeepSpeedEngine"]


@pytest.mark.parametrize("stage", [2, 3])
def test_shared_prefix_under_zero_with_checkpointing_equals_the_per_sample_path(
        tmp_path, small_model, stage):
    """Under a ZeRO-2 or ZeRO-3 engine (the shipped configs) with non-reentrant gradient
    checkpointing, the shared-prefix path gives the per-sample path's log-probs, entropies and
    ZeRO-reduced gradients. Why here: the engine is what the trainer scores through, and its
    `config` is DeepSpeed's dict, not the model's (the checkpointed prompt pass once crashed
    reading it); ZeRO's gradient hooks (and ZeRO-3's parameter gathering) must also serve the
    replayed layers."""
    script = tmp_path / "shared_checkpointed.py"
    script.write_text(SHARED_CHECKPOINTED)
    env = {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": str(free_port()), "PYTHONPATH": str(REPO)}
    [result] = run_script([sys.executable, str(script), f"recipes/accelerate/ds_zero{stage}.json",
                           small_model, str(tmp_path / "out")], env, timeout=300)
    assert (result["engine"], result["stage"]) == ("DeepSpeedEngine", stage)
    assert result["built"] == ["DynamicCache"] and result["fallbacks"] == []  # shared, no line
    assert all(replays > 0 for replays in result["replays"])  # the backward replayed layers
    assert result["logp_min"] < -1  # real log-probs, not masked zeros
    assert result["logp_diff"] < 1e-4 and result["entropy_diff"] < 1e-4
    assert result["grads"] > 0 and result["zero_grads"] == []
    assert result["worst_grad"] < 1e-4, f"relative gradient difference {result['worst_grad']}"
    # and both equal the plain model's per-sample path: ZeRO collected every gradient
    assert result["plain_logp_diff"] < 1e-4 and result["worst_plain_grad"] < 1e-4


def test_two_cpu_processes_get_distinct_ranks_and_trl_batch(tmp_path):
    script = tmp_path / "ranks.py"
    script.write_text(RANKS)
    accelerate = str(Path(sys.executable).parent / "accelerate")
    cmd = [accelerate, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no",
           "--main_process_port", str(free_port()), str(script), str(tmp_path / "out")]
    results = run_script(cmd, {"CUDA_VISIBLE_DEVICES": ""}, timeout=300)
    assert sorted(r["rank"] for r in results) == [0, 1]
    expected = batch_for({"per_device_train_batch_size": 4, "gradient_accumulation_steps": 2,
                          "num_generations": 4}, world_size=2)
    for r in results:
        assert (r["world"], r["args_world"], r["type"]) == (2, 2, "MULTI_CPU")
        assert r["gathered"] == [0, 1]  # a real collective across both processes
        assert r["generation_batch_size"] == expected.generation_batch == 16
