"""Per-GPU memory estimate of a GRPO training process: states, activations, vLLM's share.

Why: whether a run fits is arithmetic on bytes per parameter and per token, and that arithmetic
must be testable against known figures on its own, apart from launch planning. Weights,
gradients and Adam states follow the ZeRO stage (1 shards optimizer states, 2 also gradients,
3 also weights, each over the data-parallel ranks); LoRA trains only its adapters; activations
follow micro-batch x sequence x hidden x layers, with or without gradient checkpointing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reasoning_rl.plan.model_size import Architecture
from reasoning_rl.recipe.config import Recipe

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
    """Weights, gradients and optimizer states per GPU, ZeRO-stage aware."""
    params, lora = arch.params(), recipe.model.lora is not None
    width = DTYPE_BYTES[recipe.model.dtype]
    if stage is not None and not lora:
        width = 2  # DeepSpeed bf16: 16-bit weights and grads, fp32 master copy in the optimizer
    shard = {name: world if stage is not None and stage >= level else 1
             for name, level in (("optimizer", 1), ("grads", 2), ("weights", 3))}
    lines = [MemoryLine("weights", params * width / shard["weights"],
                        f"{params:,} params x {width} B" + _per(shard["weights"]))]
    trained = trainable_params(arch, recipe)
    if lora:
        lines.append(MemoryLine("LoRA adapters (fp32)", trained * 4 / shard["weights"],
                                f"{trained:,} params x 4 B" + _per(shard["weights"])))
        grad_width, optim_width = 4, 8  # fp32 adapters: fp32 grads, Adam m and v
    elif stage is not None:
        grad_width, optim_width = 2, 12  # fp32 master weights + Adam m and v
    else:
        grad_width, optim_width = width, 2 * width  # plain torch AdamW keeps m, v in param dtype
    lines.append(MemoryLine("gradients", trained * grad_width / shard["grads"],
                            f"{trained:,} x {grad_width} B" + _per(shard["grads"])))
    if stage is not None and not lora:
        # DeepSpeed's 16-bit optimizer casts each rank's gradient partition to fp32 for the step
        lines.append(MemoryLine("fp32 gradient partition", trained * 4 / shard["optimizer"],
                                f"{trained:,} x 4 B" + _per(shard["optimizer"])))
    lines.append(MemoryLine("optimizer states", trained * optim_width / shard["optimizer"],
                            f"{trained:,} x {optim_width} B" + _per(shard["optimizer"])))
    if stage == 3:
        gathered = arch.layer_params() + arch.embedding_params()
        lines.append(MemoryLine("ZeRO-3 gathered params", gathered * 2,
                                "one block + the embedding matrix, gathered in bf16"))
    return lines


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
