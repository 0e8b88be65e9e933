"""`algorithm: magistral`: TRL's GRPOTrainer with the Magistral objective swapped in.

Why TRL alone falls short: with `scale_rewards: batch` TRL divides advantages by the std of the
*rewards*; it keeps groups whose rewards are all equal (it only logs their fraction), so their
tokens still dilute the token normaliser; and its `dapo` loss divides by the token count of the
whole batch, where Magistral divides each group by its own length and averages over groups.

Why this seam: TRL 1.16 offers no hook for the advantage formula or the loss aggregation, but its
two phases are separate overridable methods. `_generate_and_score_completions` returns the
batch dict that `_prepare_inputs` shuffles and splits into gradient-accumulation micro-batches,
and `compute_loss` delegates to `_compute_loss`. We override both, plus `_calculate_rewards` to
see the raw rewards. Everything else (sampling, generation, reward calls, vLLM, logging, the
optimizer loop) stays TRL's. Each row carries its share of the group normaliser as a weight,
so the objective is exact however TRL splits the batch. If a TRL upgrade stops calling these
methods or changes the batch keys we read, `_require` raises instead of silently training with
TRL's objective, and tests/test_magistral_trainer.py compares the applied gradient with one
computed independently.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
import trl
from trl import GRPOConfig

from reasoning_rl.magistral_objective import (
    clip_fractions,
    clipped_surrogate,
    group_advantages,
    group_sequence_weights,
    normalize_minibatch,
    weighted_token_loss,
)
from reasoning_rl.objective_section import ObjectiveSection, objective_problems
from reasoning_rl.scaffold import hint_share, hinted_rows

# The TRL methods this class overrides or calls; checked at construction so an upgrade that
# renames one fails here rather than silently falling back to TRL's own objective.
_TRL_HOOKS = (
    "_generate_and_score_completions",
    "_calculate_rewards",
    "_compute_loss",
    "_get_per_token_logps_and_entropies",
    "_prepare_inputs",
    "_generate",
    "_tokenize_prompts",
)
WEIGHT_KEY = "magistral_seq_weight"
_LEFT_PADDED = {"prompt_ids": "pad", "prompt_mask": 0}
_RIGHT_PADDED = {
    "completion_ids": "pad",
    "completion_mask": 0,
    "tool_mask": 1,
    "old_per_token_logps": 0.0,
    "sampling_per_token_logps": 0.0,
    "importance_sampling_ratio": 0.0,
}
_PER_ROW_1D = ("advantages",)
_SCALARS = ("num_items_in_batch",)
# Model inputs TRL forwards for multimodal batches; passed through unchanged.
_MODEL_KWARGS = (
    "pixel_values", "image_grid_thw", "num_images", "pixel_attention_mask", "spatial_shapes",
    "num_tiles", "image_sizes", "token_type_ids", "mm_token_type_ids", "image_position_ids",
)


def validate_grpo_config(args: GRPOConfig, options: ObjectiveSection) -> None:
    """Raise ValueError, naming each recipe key, for settings the objective cannot honour."""
    problems = objective_problems(args, options)
    if problems:
        raise ValueError("; ".join(problems))


def _require(condition: bool, what: str) -> None:
    """Fail loudly when TRL no longer behaves as this seam assumes (e.g. after an upgrade)."""
    if not condition:
        raise RuntimeError(
            f"MagistralGRPOTrainer: TRL internals changed ({what}); pinned trl==1.16.0 is "
            f"installed as trl=={trl.__version__}. Re-check reasoning_rl/magistral_trainer.py."
        )


def _pad_to(t: torch.Tensor, width: int, value: float, left: bool) -> torch.Tensor:
    extra = width - t.shape[1]
    return F.pad(t, (extra, 0) if left else (0, extra), value=value) if extra else t


def concat_rows(parts: list[dict], pad_token_id: int) -> dict:
    """Stack the rows of several TRL batch dicts, re-padding prompts left and completions right."""
    out: dict = {}
    for key, value in parts[0].items():
        if key in _LEFT_PADDED or key in _RIGHT_PADDED:
            left = key in _LEFT_PADDED
            fill = (_LEFT_PADDED | _RIGHT_PADDED)[key]
            fill = pad_token_id if fill == "pad" else fill
            width = max(p[key].shape[1] for p in parts)
            out[key] = torch.cat([_pad_to(p[key], width, fill, left) for p in parts])
        elif key in _PER_ROW_1D:
            out[key] = torch.cat([p[key] for p in parts])
        elif key in _SCALARS:
            out[key] = value
        else:
            _require(False, f"unknown batch key {key!r} cannot be re-batched")
    mask = out["completion_mask"] * out.get("tool_mask", 1)
    out["num_items_in_batch"] = mask.sum()
    return out


def take_rows(batch: dict, rows: torch.Tensor) -> dict:
    """Select rows of a TRL batch dict (prompts keep their left padding, completions right)."""
    out = {}
    for key, value in batch.items():
        if key in _SCALARS:
            out[key] = value
        else:
            _require(key in _LEFT_PADDED or key in _RIGHT_PADDED or key in _PER_ROW_1D,
                     f"unknown batch key {key!r} cannot be row-selected")
            out[key] = value[rows]
    return out


@dataclass
class _Round:
    """One TRL generation call: its batch dict and, per row, reward and loss-token count."""

    batch: dict
    rewards: torch.Tensor
    lengths: torch.Tensor


class MagistralGRPOTrainer(trl.GRPOTrainer):
    """GRPOTrainer whose advantages, group filter and loss are Magistral's (arXiv 2506.10910).

    Same constructor as `trl.GRPOTrainer`, plus the keywords `objective` and `scaffold` (the
    prompt with `objective.scaffold_examples` for a problem text; see `reasoning_rl.scaffold`).
    """

    # Our weights already spread the normaliser over micro-batches: Trainer must not rescale.
    loss_is_scaled_for_ga = True

    def __init__(self, *, objective: ObjectiveSection | None = None,
                 scaffold: Callable[[str], object] | None = None, **grpo_trainer_kwargs):
        missing = [name for name in _TRL_HOOKS if not hasattr(trl.GRPOTrainer, name)]
        _require(not missing, f"GRPOTrainer lacks {missing}")
        self.objective = objective or ObjectiveSection()
        args = grpo_trainer_kwargs.get("args")
        if args is None:
            raise ValueError("MagistralGRPOTrainer needs explicit args=GRPOConfig(beta=0.0, ...)")
        validate_grpo_config(args, self.objective)
        super().__init__(**grpo_trainer_kwargs)
        if self.objective.max_refill_rounds and self.accelerator.num_processes > 1:
            raise ValueError("objective.max_refill_rounds: refill is single-process only; "
                             "set it to 0")
        self._captured_rewards: torch.Tensor | None = None
        self._magistral_skip = False
        self._refill_generator = torch.Generator().manual_seed(args.seed + 1)
        self._scaffold = scaffold if self.objective.scaffold_steps else None
        self._round_problems: list[str] = []
        self._round = 0  # generation rounds (first + refills) of the current step

    # -- generation phase -------------------------------------------------------------------

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards_per_func = super()._calculate_rewards(inputs, prompts, completions,
                                                      completion_ids_list)
        self._captured_rewards = rewards_per_func
        return rewards_per_func

    def _generate(self, prompts: list):
        """TRL's generation; scaffolded groups are sampled from their hinted prompt, and the
        prompt ids returned (what the policy is trained on) are always the plain prompt's."""
        share = hint_share(self.state.global_step, self.objective.scaffold_steps)
        if self._scaffold is None or not self.model.training or share == 0.0:
            return super()._generate(prompts)
        _require(len(self._round_problems) == len(prompts) and all(self._round_problems),
                 "scaffold: every row needs its problem text in a `problem` column")
        # Seeded by step and round: a resumed run scaffolds the same groups.
        flags = hinted_rows(len(prompts), self.num_generations, share, self.args.seed,
                            self.state.global_step * 64 + self._round)
        problems = self._round_problems
        shown = [self._scaffold(problem) if flag else prompt
                 for prompt, problem, flag in zip(prompts, problems, flags, strict=True)]
        result = list(super()._generate(shown))
        result[0] = self._tokenize_prompts(prompts)[0]
        self._metrics["train"]["scaffold/hinted_frac"].append(sum(flags) / len(flags))
        return tuple(result)

    def _score_round(self, inputs: list[dict]) -> _Round:
        self._captured_rewards = None
        self._round_problems = [x.get("problem", "") for x in inputs]
        self._round += 1
        batch = super()._generate_and_score_completions(inputs)
        _require(self._captured_rewards is not None, "_calculate_rewards was not called")
        per_func = self._captured_rewards
        rewards = (per_func * self.reward_weights.to(per_func.device).unsqueeze(0)).nansum(dim=1)
        rewards[torch.isnan(per_func).all(dim=1)] = torch.nan
        mask = batch["completion_mask"] * batch.get("tool_mask", 1)
        lengths = self.accelerator.gather(mask.sum(dim=1))
        _require(rewards.shape == lengths.shape, "rewards are not gathered per completion row")
        return _Round(batch, rewards.detach().cpu().float(), lengths.cpu())

    def _draw_refill_prompts(self, num_groups: int, group_size: int) -> list[dict]:
        picks = torch.randperm(len(self.train_dataset), generator=self._refill_generator)
        return [self.train_dataset[int(i)] for i in picks[:num_groups] for _ in range(group_size)]

    def _generate_and_score_completions(self, inputs):
        start = time.perf_counter()
        mode = "train" if self.model.training else "eval"
        group_size = self.num_generations if mode == "train" else self.num_generations_eval
        self._round = 0
        rounds = [self._score_round(inputs)]
        target = rounds[0].rewards.numel() // group_size
        refills = self.objective.max_refill_rounds if mode == "train" else 0
        while refills and self._kept_groups(rounds, group_size) < target:
            refills -= 1
            rounds.append(self._score_round(self._draw_refill_prompts(target, group_size)))
        batch, rewards, lengths = self._assemble(rounds, group_size, target)
        adv_raw, keep = group_advantages(rewards, group_size, self.objective.equal_reward_atol)
        seq_keep = keep.repeat_interleave(group_size)
        weights = group_sequence_weights(lengths, group_size, seq_keep)
        advantages = normalize_minibatch(adv_raw, seq_keep)
        local = self._local_slice(batch["completion_ids"].shape[0])
        device = batch["completion_ids"].device
        batch["advantages"] = advantages[local].to(device)
        batch[WEIGHT_KEY] = weights[local].to(device)
        self._magistral_skip = not bool((weights > 0).any())
        drawn_tokens = sum(float(r.lengths.sum()) for r in rounds)
        self._log_batch_metrics(mode, rounds, group_size, adv_raw[seq_keep], drawn_tokens, start)
        return batch

    def _kept_groups(self, rounds: list[_Round], group_size: int) -> int:
        atol = self.objective.equal_reward_atol
        return sum(int(group_advantages(r.rewards, group_size, atol)[1].sum()) for r in rounds)

    def _local_slice(self, local_rows: int) -> slice:
        start = self.accelerator.process_index * local_rows
        return slice(start, start + local_rows)

    def _assemble(
        self, rounds: list[_Round], group_size: int, target: int
    ) -> tuple[dict, torch.Tensor, torch.Tensor]:
        """The batch: kept groups only (up to `target`) when rows may be dropped, else round 0."""
        first = rounds[0]
        compactable = (
            self.objective.drop_filtered_rows
            and self.accelerator.num_processes == 1
            and self.args.steps_per_generation == 1
            and all(key not in first.batch for key in _MODEL_KWARGS)
        )
        if not compactable:
            return first.batch, first.rewards, first.lengths
        parts, rewards, lengths, kept = [], [], [], 0
        for r in rounds:
            _, keep = group_advantages(r.rewards, group_size, self.objective.equal_reward_atol)
            groups = torch.nonzero(keep).flatten()[: target - kept]
            kept += groups.numel()
            rows = (groups.unsqueeze(1) * group_size + torch.arange(group_size)).flatten()
            if rows.numel():
                parts.append(take_rows(r.batch, rows.to(r.batch["completion_ids"].device)))
                rewards.append(r.rewards[rows])
                lengths.append(r.lengths[rows])
        if not parts:  # nothing informative: keep round 0 as is, the step will be skipped
            return first.batch, first.rewards, first.lengths
        batch = concat_rows(parts, self._tokenizer.pad_token_id)
        return batch, torch.cat(rewards), torch.cat(lengths)

    def _log_batch_metrics(
        self, mode: str, rounds: list[_Round], group_size: int, kept_adv: torch.Tensor,
        drawn_tokens: float, start: float,
    ) -> None:
        metrics = self._metrics[mode]
        drawn_groups = sum(r.rewards.numel() for r in rounds) // group_size
        kept_groups = self._kept_groups(rounds, group_size)
        metrics["magistral/filtered_group_frac"].append(1.0 - kept_groups / drawn_groups)
        metrics["magistral/kept_groups"].append(float(kept_groups))
        metrics["magistral/refill_rounds"].append(float(len(rounds) - 1))
        metrics["magistral/skipped_step"].append(float(self._magistral_skip))
        if kept_groups:
            metrics["magistral/generations_per_kept_group"].append(
                drawn_groups * group_size / kept_groups
            )
        if kept_adv.numel() > 1:
            metrics["magistral/adv_mean_raw"].append(kept_adv.mean().item())
            metrics["magistral/adv_std_raw"].append(kept_adv.std().item())
        seconds = max(time.perf_counter() - start, 1e-9)
        metrics["magistral/gen_tokens_per_s"].append(drawn_tokens / seconds)

    # -- optimisation phase -----------------------------------------------------------------

    def training_step(self, model, inputs, num_items_in_batch):
        loss = super().training_step(model, inputs, num_items_in_batch)
        if self._magistral_skip:
            # No gradient at all (rather than a zero one) makes torch optimizers skip every
            # parameter: no Adam moment decay, no weight decay. The step is logged, not taken.
            for param in model.parameters():
                param.grad = None
        return loss

    def _compute_loss(self, model, inputs):
        _require(WEIGHT_KEY in inputs, "batch did not pass through _generate_and_score_completions")
        weights = inputs[WEIGHT_KEY]
        if not bool((weights > 0).any()) and self.accelerator.num_processes == 1:
            # Nothing to learn in this micro-batch; skip the forward. (Under DDP every rank must
            # run the forward, so there the zero weights make the loss 0 instead.)
            return torch.zeros((), device=weights.device, requires_grad=True)
        prompt_ids, completion_ids = inputs["prompt_ids"], inputs["completion_ids"]
        mask = inputs["completion_mask"] * inputs.get("tool_mask", 1)
        logps, entropies, aux_loss = self._get_per_token_logps_and_entropies(
            model,
            torch.cat([prompt_ids, completion_ids], dim=1),
            torch.cat([inputs["prompt_mask"], inputs["completion_mask"]], dim=1),
            completion_ids.size(1),
            compute_entropy=True,
            compute_aux_loss=self.aux_loss_enabled,
            **{key: inputs.get(key) for key in _MODEL_KWARGS},
        )
        old_logps = inputs.get("old_per_token_logps")
        ratio = torch.exp(logps - (logps.detach() if old_logps is None else old_logps))
        surrogate = clipped_surrogate(ratio, inputs["advantages"], self.epsilon_low,
                                      self.epsilon_high)
        if "importance_sampling_ratio" in inputs:  # vLLM sampler/learner mismatch correction
            surrogate = surrogate * inputs["importance_sampling_ratio"]
        # DDP averages gradients over ranks while our weights already sum to the global objective.
        loss = weighted_token_loss(surrogate, mask, weights) * self.accelerator.num_processes
        if self.aux_loss_enabled:
            accumulation = self.current_gradient_accumulation_steps if model.training else 1
            loss = loss + self.router_aux_loss_coef * aux_loss / accumulation
        active = mask * (weights > 0).unsqueeze(1)
        self._log_loss_metrics(ratio.detach(), inputs["advantages"], active, entropies)
        return loss

    def _log_loss_metrics(
        self, ratio: torch.Tensor, advantages: torch.Tensor, active: torch.Tensor,
        entropies: torch.Tensor,
    ) -> None:
        """TRL's own metric names, computed over the tokens that enter our loss only."""
        mode = "train" if self.model.training else "eval"
        low, high = clip_fractions(ratio, advantages, active, self.epsilon_low, self.epsilon_high)
        count = active.sum().float()
        sums = torch.stack([(entropies * active).sum(), low * count, high * count, count])
        totals = self.accelerator.reduce(sums, reduction="sum")
        denominator = totals[3].clamp(min=1.0)
        metrics = self._metrics[mode]
        metrics["entropy"].append((totals[0] / denominator).item())
        metrics["clip_ratio/low_mean"].append((totals[1] / denominator).item())
        metrics["clip_ratio/high_mean"].append((totals[2] / denominator).item())
        metrics["clip_ratio/region_mean"].append(((totals[1] + totals[2]) / denominator).item())
