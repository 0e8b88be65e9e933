"""Per-GPU memory estimate of a GRPO training process: states, activations, vLLM's share.

Why: whether a run fits is arithmetic on bytes per parameter and per token, and that arithmetic
must be testable against known figures on its own, apart from launch planning. A full fine-tune
under DeepSpeed ZeRO-2/3 takes DeepSpeed's own model-state estimators (weights, gradients, fp32
master copy and Adam states in one figure); LoRA, or no DeepSpeed, is torch AdamW on the trained
parameters; activations follow micro-batch x sequence x hidden x layers, with or without
gradient checkpointing.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from dataclasses import dataclass
from typing import Any

from reasoning_rl.plan.model_size import Architecture
from reasoning_rl.recipe.config import Recipe
from reasoning_rl.recipe.errors import UserError

GB = 1e9  # decimal gigabytes; an "80 GB" H100 holds 85.9e9 bytes, so estimates err safe
CUDA_OVERHEAD_BYTES = 1.5 * GB  # assumed: CUDA context, kernels, allocator slack
ACTIVATION_BYTES_PER_TOKEN_HIDDEN = 34  # one block's activations, 16-bit (Korthikanti et al.)
DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2, "auto": 2}


@dataclass
class MemoryLine:
    """One item of the per-GPU memory estimate."""

    item: str
    bytes: float
    how: str


def trainable_params(arch: Architecture, recipe: Recipe) -> int:
    """Parameters the optimizer updates: all of them, or the LoRA adapters only."""
    lora = recipe.model.lora
    if lora is None:
        return arch.params()
    return arch.lora_params(lora.r, lora.target_modules)


def state_memory(arch: Architecture, recipe: Recipe, stage: int | None,
                 world: int) -> list[MemoryLine]:
    """Weights, gradients and optimizer states per GPU: DeepSpeed's estimate for a full
    fine-tune under ZeRO-2/3, else torch AdamW on the trained parameters (sharded by stage).

    DeepSpeed ships estimators only for ZeRO-2 and ZeRO-3 full fine-tunes; a full fine-tune
    under ZeRO-0/1 is refused rather than sized by a formula nothing checks.

    >>> from reasoning_rl.recipe.config import DataSection, ModelSection
    >>> from reasoning_rl.plan.model_size import architecture_for
    >>> plain = Recipe(data=DataSection(source="x"), rewards=[],
    ...                model=ModelSection(name_or_path="m", dtype="float32"))
    >>> arch = architecture_for("Qwen/Qwen2.5-1.5B-Instruct")[0]
    >>> [line.bytes / arch.params() for line in state_memory(arch, plain, None, 1)]
    [4.0, 4.0, 8.0]
    """
    lora = recipe.model.lora is not None
    if stage is not None and not lora:
        if stage not in (2, 3):
            raise UserError(f"trainer.deepspeed: ZeRO stage {stage}: `plan` sizes full "
                            f"fine-tunes with DeepSpeed's estimators, which exist for ZeRO-2 "
                            f"and ZeRO-3 only; set zero_optimization.stage to 2 or 3, or use "
                            f"LoRA (model.lora)")
        return [zero_model_states(arch, stage, world)]
    params, trained = arch.params(), trainable_params(arch, recipe)
    shard = {name: world if stage is not None and stage >= level else 1
             for name, level in (("optimizer", 1), ("grads", 2), ("weights", 3))}
    width = DTYPE_BYTES[recipe.model.dtype]
    lines = [MemoryLine("weights", params * width / shard["weights"],
                        f"{params:,} params x {width} B" + _per(shard["weights"]))]
    # LoRA adapters train in fp32 (fp32 grads, Adam m and v); plain torch AdamW keeps its
    # moments in the parameters' dtype
    grad_width, optim_width = (4, 8) if lora else (width, 2 * width)
    if lora:
        lines.append(MemoryLine("LoRA adapters (fp32)", trained * 4 / shard["weights"],
                                f"{trained:,} params x 4 B" + _per(shard["weights"])))
    lines.append(MemoryLine("gradients", trained * grad_width / shard["grads"],
                            f"{trained:,} x {grad_width} B" + _per(shard["grads"])))
    lines.append(MemoryLine("optimizer states", trained * optim_width / shard["optimizer"],
                            f"{trained:,} x {optim_width} B" + _per(shard["optimizer"])))
    if stage == 3:
        gathered = _zero3_estimate(arch, world)[2]
        lines.append(MemoryLine("ZeRO-3 gathered layer", gathered,
                                "DeepSpeed's estimate: 4 B x the largest layer"))
    return lines


def zero_model_states(arch: Architecture, stage: int, world: int) -> MemoryLine:
    """DeepSpeed's own per-GPU model-state estimate for a full fine-tune, no offload.

    Why no fallback formula: a recipe with `trainer.deepspeed` cannot launch without DeepSpeed
    (the `gpu` extra installs it), so a missing DeepSpeed fails closed with the install command.

    >>> from reasoning_rl.plan.model_size import architecture_for
    >>> zero_model_states(architecture_for("Qwen/Qwen2.5-7B-Instruct")[0], 2, 7).bytes
    34814246912
    """
    params = arch.params()
    if stage == 3:
        gpu_bytes = _zero3_estimate(arch, world)[1]
        how = (f"DeepSpeed estimate_zero3: 4 B x {arch.largest_layer_params():,} largest layer "
               f"+ 18 B x {params:,} params" + _per(world))
    else:
        stage_1_and_2 = _deepspeed_zero("stage_1_and_2")
        gpu_bytes = stage_1_and_2.estimate_zero2_model_states_mem_needs(
            params, world, 1, cpu_offload=False)[1]
        how = f"DeepSpeed estimate_zero2: 2 B x {params:,} params + 18 B x params" + _per(world)
    return MemoryLine(f"model states (ZeRO-{stage})", gpu_bytes, how)


def _zero3_estimate(arch: Architecture, world: int) -> tuple[int, int, int]:
    # (CPU, GPU, gathered-layer) bytes; only the product of GPUs per node and nodes reaches the
    # GPU figure, so the world size is passed as one node
    return _deepspeed_zero("stage3").estimate_zero3_model_states_mem_needs(
        arch.params(), arch.largest_layer_params(), world, 1, cpu_offload=False,
        cpu_offload_params=False)


def _deepspeed_zero(module: str) -> Any:
    try:
        # DeepSpeed's logger writes to the stdout of its import ("Setting accelerator to CPU"
        # on a machine without GPU); the plan's stdout stays the plan
        with contextlib.redirect_stdout(sys.stderr):
            return importlib.import_module(f"deepspeed.runtime.zero.{module}")
    except ImportError as error:
        raise UserError("trainer.deepspeed: sizing ZeRO model states uses DeepSpeed's "
                        "estimators and deepspeed is not installed; install the gpu extra "
                        "(pip install -e '.[gpu]', deepspeed==0.19.8), which the recipe "
                        "needs to launch anyway") from error


def _per(ranks: int) -> str:
    return f" / {ranks} ranks" if ranks > 1 else ""


def activation_memory(arch: Architecture, trainer: dict[str, Any], prompt_tokens: int,
                      dtype: str) -> list[MemoryLine]:
    """Activations of one micro-batch, and its completion logits with their gradient."""
    micro = int(trainer.get("per_device_train_batch_size", 8))
    completion = int(trainer.get("max_completion_length", 512))
    tokens = micro * (prompt_tokens + completion)
    block = ACTIVATION_BYTES_PER_TOKEN_HIDDEN * tokens * arch.hidden
    checkpointing = trainer.get("gradient_checkpointing", True)
    if checkpointing:
        acts = arch.layers * tokens * arch.hidden * 2 + block
        how = f"{tokens:,} tokens: checkpointed block inputs + one block recomputed"
    else:
        acts = arch.layers * block
        how = f"{tokens:,} tokens x {arch.layers} blocks x 34 B x hidden"
    logit_bytes = 2 * DTYPE_BYTES[dtype]  # logits and their gradient
    logits = micro * completion * arch.vocab * logit_bytes
    return [MemoryLine("activations", acts, how),
            MemoryLine("logits", logits, f"{micro} x {completion} completion tokens x "
                                         f"{arch.vocab:,} vocab x {logit_bytes} B")]


def vllm_memory(recipe: Recipe, gpu_bytes: float) -> list[MemoryLine]:
    """vLLM's share of each training GPU: its whole reservation in colocate mode, else none."""
    trainer = recipe.trainer
    if not trainer.get("use_vllm") or trainer.get("vllm_mode") == "server":
        return []
    share = float(trainer.get("vllm_gpu_memory_utilization", 0.3))
    return [MemoryLine("vLLM (colocate)", share * gpu_bytes,
                       f"vllm_gpu_memory_utilization {share} x GPU memory")]
