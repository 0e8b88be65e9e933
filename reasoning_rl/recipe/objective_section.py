"""Recipe section `objective`: the options of the Magistral objective, and what it needs of TRL.

Why a module of its own: the recipe loader checks these options (and the `trainer` values the
objective cannot honour) before anything runs, and `MagistralGRPOTrainer` checks the same rules
when built from Python. Both import them from here; importing this module loads neither
torch nor TRL.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

# Rewards closer than this count as equal: such a group is "non-diverse" and is filtered out.
DEFAULT_EQUAL_ATOL = 1e-6
# Truncation of the scaffold's per-token importance weights pi(y|plain) / mu(y|hinted), as
# truncated importance sampling (TIS; Yao et al., 2025) truncates sampler/learner ratios at 2.
DEFAULT_SCAFFOLD_IS_CAP = 2.0
# LUFFY's shaping constant (arXiv 2504.14945, f(p) = p / (p + gamma), their default 0.1).
DEFAULT_SCAFFOLD_SHAPING_GAMMA = 0.1
SCAFFOLD_WEIGHTINGS = ("tis", "shaped", "likelihood")


@dataclass
class ObjectiveSection:
    """Recipe section `objective` (`algorithm: magistral` only): knobs GRPOConfig has no field for.

    `minibatches` (M): each generated batch is split into M minibatches of whole groups, one
    optimizer step each, with advantages normalised per minibatch (Magistral, section 2.1). From
    the second minibatch on the policy has moved, so the ratio to the sampling policy differs
    from 1 and the asymmetric clip acts. Needs `trainer.steps_per_generation` = M x
    `trainer.gradient_accumulation_steps` (the recipe loader sets it when unset).
    `max_refill_rounds`: extra prompt batches to draw when filtering leaves fewer informative
    groups than the batch holds (DAPO-style dynamic sampling); 0 turns refill off.
    `equal_reward_atol`: rewards within this distance count as equal (group filtered).
    `drop_filtered_rows`: remove filtered groups' rows from the batch to save compute; the loss
    is the same either way, since filtered rows carry weight 0.
    `scaffold_weighting` says how the scaffold's off-policy tokens (`rollout.scaffold_steps`,
    `reasoning_rl.rollout.scaffold`) enter the loss: "shaped" (default)
    replaces their ratio by LUFFY's f(pi) = pi / (pi + `scaffold_shaping_gamma`), unclipped;
    "tis" weights Magistral's surrogate by pi(y|plain) / mu(y|hinted) truncated at
    `scaffold_is_cap`; "likelihood" gives every hinted token weight 1, the advantage times
    log pi(y|plain), as if the policy had sampled it (docs/algorithm.md says why the default is
    "shaped").

    >>> ObjectiveSection(max_refill_rounds=2).drop_filtered_rows, ObjectiveSection().minibatches
    (True, 1)
    """

    minibatches: int = 1
    max_refill_rounds: int = 0
    equal_reward_atol: float = DEFAULT_EQUAL_ATOL
    drop_filtered_rows: bool = True
    scaffold_is_cap: float = DEFAULT_SCAFFOLD_IS_CAP
    scaffold_weighting: str = "shaped"
    scaffold_shaping_gamma: float = DEFAULT_SCAFFOLD_SHAPING_GAMMA


def objective_problems(args: Any, options: ObjectiveSection) -> list[str]:
    """Each GRPOConfig value (read from `args`) or option the objective cannot honour, by key path.

    `args` is a `GRPOConfig`, or any object with its attributes (the recipe loader passes the
    `trainer` section over GRPOConfig's defaults).

    >>> from types import SimpleNamespace
    >>> args = SimpleNamespace(beta=0.04, num_iterations=1, steps_per_generation=1,
    ...     gradient_accumulation_steps=1, importance_sampling_level="token",
    ...     top_entropy_quantile=1.0, off_policy_mask_threshold=None, delta=None,
    ...     entropy_coef=0.0, use_adaptive_entropy=False,
    ...     multi_objective_aggregation="sum_then_normalize", per_device_train_batch_size=4,
    ...     num_generations=4, save_steps=50, save_strategy="steps")
    >>> objective_problems(args, ObjectiveSection(max_refill_rounds=-1))
    ... # doctest: +NORMALIZE_WHITESPACE
    ['trainer.beta: algorithm: magistral needs 0.0 (no KL term and no reference model); got 0.04',
     'objective.max_refill_rounds: expected an integer >= 0; got -1']
    """
    gas, minibatches = args.gradient_accumulation_steps, options.minibatches
    if minibatches < 1:
        return [f"objective.minibatches: expected an integer >= 1; got {minibatches}"]
    expected = [
        ("beta", args.beta == 0.0, "0.0 (no KL term and no reference model)"),
        ("num_iterations", args.num_iterations == 1,
         "1 (each sample enters one optimizer step; use objective.minibatches for more steps)"),
        ("steps_per_generation", args.steps_per_generation == minibatches * gas,
         f"objective.minibatches x trainer.gradient_accumulation_steps = {minibatches * gas} "
         f"(one optimizer step per minibatch); leave it unset"),
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
    return problems + minibatch_problems(args, options) + scaffold_problems(args, options)


def minibatch_problems(args: Any, options: ObjectiveSection, processes: int = 1) -> list[str]:
    """With M > 1, minibatches hold whole groups and checkpoints fall between generated batches.

    (With M = 1 a group may span processes: TRL gathers rewards and every row is one step.)

    >>> from types import SimpleNamespace
    >>> args = SimpleNamespace(per_device_train_batch_size=4, gradient_accumulation_steps=1,
    ...                        num_generations=8, save_steps=15, save_strategy="steps")
    >>> minibatch_problems(args, ObjectiveSection(minibatches=2))  # doctest: +NORMALIZE_WHITESPACE
    ['objective.minibatches: a minibatch holds trainer.per_device_train_batch_size x
      trainer.gradient_accumulation_steps = 4 completions per process, not whole groups of
      trainer.num_generations = 8',
     'trainer.save_steps: 15 is not a multiple of objective.minibatches = 2 (a checkpoint
      between the minibatches of one generated batch could not resume exactly)']
    """
    rows = args.per_device_train_batch_size * args.gradient_accumulation_steps * processes
    problems = []
    if options.minibatches > 1 and rows % args.num_generations:
        problems.append(f"objective.minibatches: a minibatch holds "
                        f"trainer.per_device_train_batch_size x "
                        f"trainer.gradient_accumulation_steps = {rows} completions per process, "
                        f"not whole groups of trainer.num_generations = {args.num_generations}")
    save_steps = args.save_steps
    strategy = getattr(args.save_strategy, "value", args.save_strategy)  # an Enum in GRPOConfig
    if (options.minibatches > 1 and strategy == "steps"
            and isinstance(save_steps, int) and save_steps % options.minibatches):
        problems.append(f"trainer.save_steps: {save_steps} is not a multiple of "
                        f"objective.minibatches = {options.minibatches} (a checkpoint between "
                        f"the minibatches of one generated batch could not resume exactly)")
    return problems


def scaffold_problems(args: Any, options: ObjectiveSection) -> list[str]:
    """What is wrong with the scaffold's loss options, by key path (empty when they can run).

    (The scaffold's own keys, what the sampler is shown, are `rollout`'s.)

    >>> from types import SimpleNamespace
    >>> scaffold_problems(SimpleNamespace(), ObjectiveSection(scaffold_is_cap=0.5))
    ... # doctest: +ELLIPSIS
    ['objective.scaffold_is_cap: expected a number >= 1.0 (the truncation of ...); got 0.5']
    """
    if options.scaffold_weighting not in SCAFFOLD_WEIGHTINGS:
        return [f"objective.scaffold_weighting: expected one of {', '.join(SCAFFOLD_WEIGHTINGS)};"
                f" got {options.scaffold_weighting!r}"]
    if not options.scaffold_shaping_gamma > 0.0:
        return [f"objective.scaffold_shaping_gamma: expected a number > 0; got "
                f"{options.scaffold_shaping_gamma}"]
    if options.scaffold_is_cap < 1.0:
        return [f"objective.scaffold_is_cap: expected a number >= 1.0 (the truncation of "
                f"pi(y|plain) / mu(y|hinted)); got {options.scaffold_is_cap}"]
    return []


def grpo_view(trainer: dict[str, Any]) -> SimpleNamespace:
    """Recipe `trainer` values over GRPOConfig's defaults, as attributes, for `objective_problems`.

    No GRPOConfig is built: its __post_init__ sets up the device. steps_per_generation is derived
    as GRPOConfig does on one process (`steps_per_generation` below sets it first for the
    objective); `reasoning_rl.training` re-checks the real GRPOConfig.
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


def steps_per_generation(trainer: dict[str, Any], options: ObjectiveSection | None) -> int | None:
    """The `trainer.steps_per_generation` the objective needs: M minibatches x accumulation.

    None leaves TRL's own derivation (no objective section, or the recipe set the key itself,
    which `objective_problems` then checks).

    >>> steps_per_generation({"gradient_accumulation_steps": 2}, ObjectiveSection(minibatches=3))
    6
    >>> steps_per_generation({"steps_per_generation": 4}, ObjectiveSection()) is None
    True
    """
    if options is None or trainer.get("steps_per_generation") is not None:
        return None
    return options.minibatches * trainer.get("gradient_accumulation_steps", 1)
