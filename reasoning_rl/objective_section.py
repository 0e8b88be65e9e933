"""Recipe section `objective`: the options of the Magistral objective, and what it needs of TRL.

Why a module of its own: the recipe loader checks these options (and the `trainer` values the
objective cannot honour) before anything runs, and `MagistralGRPOTrainer` checks the same rules
when built from Python. Both import them from here; importing this module loads neither
torch nor TRL.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from reasoning_rl.prompting import ExampleTurn

# Rewards closer than this count as equal: such a group is "non-diverse" and is filtered out.
DEFAULT_EQUAL_ATOL = 1e-6


@dataclass
class ObjectiveSection:
    """Recipe section `objective` (`algorithm: magistral` only): knobs GRPOConfig has no field for.

    `max_refill_rounds`: extra prompt batches to draw when filtering leaves fewer informative
    groups than the batch holds (DAPO-style dynamic sampling); 0 turns refill off.
    `equal_reward_atol`: rewards within this distance count as equal (group filtered).
    `drop_filtered_rows`: remove filtered groups' rows from the batch to save compute; the loss
    is the same either way, since filtered rows carry weight 0.
    `scaffold_examples`, `scaffold_steps` (base checkpoints, `reasoning_rl.scaffold`): worked
    examples shown to the sampler only, for a share of groups that falls from 1 to 0 over the
    first `scaffold_steps` steps; the policy is trained on the recipe's own prompt.

    >>> ObjectiveSection(max_refill_rounds=2).drop_filtered_rows
    True
    """

    max_refill_rounds: int = 0
    equal_reward_atol: float = DEFAULT_EQUAL_ATOL
    drop_filtered_rows: bool = True
    scaffold_examples: list[ExampleTurn] = field(default_factory=list)
    scaffold_steps: int = 0


def objective_problems(args: Any, options: ObjectiveSection) -> list[str]:
    """Each GRPOConfig value (read from `args`) or option the objective cannot honour, by key path.

    `args` is a `GRPOConfig`, or any object with its attributes (the recipe loader passes the
    `trainer` section over GRPOConfig's defaults).

    >>> from types import SimpleNamespace
    >>> args = SimpleNamespace(beta=0.04, num_iterations=1, steps_per_generation=1,
    ...     gradient_accumulation_steps=1, importance_sampling_level="token",
    ...     top_entropy_quantile=1.0, off_policy_mask_threshold=None, delta=None,
    ...     entropy_coef=0.0, use_adaptive_entropy=False,
    ...     multi_objective_aggregation="sum_then_normalize")
    >>> objective_problems(args, ObjectiveSection(max_refill_rounds=-1))
    ... # doctest: +NORMALIZE_WHITESPACE
    ['trainer.beta: algorithm: magistral needs 0.0 (no KL term and no reference model); got 0.04',
     'objective.max_refill_rounds: expected an integer >= 0; got -1']
    """
    gas = args.gradient_accumulation_steps
    expected = [
        ("beta", args.beta == 0.0, "0.0 (no KL term and no reference model)"),
        ("num_iterations", args.num_iterations == 1, "1 (one gradient step per batch)"),
        ("steps_per_generation", args.steps_per_generation == gas,
         f"trainer.gradient_accumulation_steps={gas} (one optimizer step per batch)"),
        ("importance_sampling_level", args.importance_sampling_level == "token", "'token'"),
        ("top_entropy_quantile", args.top_entropy_quantile == 1.0, "1.0"),
        ("off_policy_mask_threshold", args.off_policy_mask_threshold is None, "null"),
        ("delta", args.delta is None, "null (no two-sided ratio clip in Magistral)"),
        ("entropy_coef", args.entropy_coef == 0.0 and not args.use_adaptive_entropy,
         "0.0 with use_adaptive_entropy false"),
        ("multi_objective_aggregation", args.multi_objective_aggregation == "sum_then_normalize",
         "'sum_then_normalize'"),
    ]
    problems = [f"trainer.{name}: algorithm: magistral needs {want}; got {getattr(args, name)!r}"
                for name, ok, want in expected if not ok]
    refill = options.max_refill_rounds
    if refill < 0:
        problems.append(f"objective.max_refill_rounds: expected an integer >= 0; got {refill}")
    if refill > 0 and not options.drop_filtered_rows:
        problems.append("objective.drop_filtered_rows: max_refill_rounds > 0 needs true")
    if refill > 0 and args.steps_per_generation != 1:
        problems.append("objective.max_refill_rounds: refill needs "
                        f"trainer.gradient_accumulation_steps = 1 (a refilled batch cannot be "
                        f"split evenly); got {gas}")
    return problems + scaffold_problems(args, options)


def scaffold_problems(args: Any, options: ObjectiveSection) -> list[str]:
    """What is wrong with the scaffold options, by key path (empty when they can run).

    >>> from types import SimpleNamespace
    >>> scaffold_problems(SimpleNamespace(use_vllm=False), ObjectiveSection(scaffold_steps=5))
    ['objective.scaffold_steps: 5 steps of scaffold but objective.scaffold_examples is empty']
    """
    steps, examples = options.scaffold_steps, options.scaffold_examples
    if steps < 0:
        return [f"objective.scaffold_steps: expected an integer >= 0; got {steps}"]
    if steps and not examples:
        return [f"objective.scaffold_steps: {steps} steps of scaffold but "
                f"objective.scaffold_examples is empty"]
    if examples and not steps:
        return ["objective.scaffold_examples: set objective.scaffold_steps > 0 (the steps over "
                "which the scaffold fades out), or remove the examples"]
    if steps and args.use_vllm and getattr(args, "vllm_importance_sampling_correction", True):
        return ["objective.scaffold_steps: scaffolded samples come from another prompt, so "
                "vLLM's importance-sampling correction would compare different contexts; set "
                "trainer.vllm_importance_sampling_correction: false"]
    return []


def grpo_view(trainer: dict[str, Any]) -> SimpleNamespace:
    """Recipe `trainer` values over GRPOConfig's defaults, as attributes, for `objective_problems`.

    No GRPOConfig is built: its __post_init__ sets up the device. steps_per_generation is derived
    as GRPOConfig does on one process; `reasoning_rl.training` re-checks the real GRPOConfig.
    """
    from trl import GRPOConfig

    view = {f.name: f.default for f in dataclasses.fields(GRPOConfig)
            if f.default is not dataclasses.MISSING}
    view.update(trainer)
    if view.get("steps_per_generation") is None:
        batch = view.get("generation_batch_size")
        view["steps_per_generation"] = (view["gradient_accumulation_steps"] if batch is None
                                        else batch // view["per_device_train_batch_size"])
    return SimpleNamespace(**view)
