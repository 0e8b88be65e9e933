"""`algorithm: magistral`: TRL's GRPOTrainer with the Magistral objective swapped in.

Why TRL alone falls short: with `scale_rewards: batch` TRL divides advantages by the std of the
*rewards*; it keeps groups whose rewards are all equal (it only logs their fraction), so their
tokens still dilute the token normaliser; its `dapo` loss divides by the token count of the
whole batch, where Magistral divides each group by its own length and averages over groups;
and when `steps_per_generation` splits a batch into several optimizer steps it shuffles rows
across them and normalises advantages once for the whole batch, where Magistral normalises
per minibatch.

Why this seam: TRL 1.16 offers no hook for the advantage formula, the loss aggregation or the
minibatch layout, but its phases are separate overridable methods. `_generate_and_score_
completions` returns the batch dict, `_prepare_inputs` buffers it as micro-batches, and
`compute_loss` delegates to `_compute_loss`. We override those, plus `_calculate_rewards` (to
see the raw rewards), `_generate` (the scaffold's prompt swap) and `training_step` (to skip an
optimizer step with nothing to learn before any backward: under DeepSpeed, accelerate's
`backward` already steps the engine). Scoring (`_get_per_token_logps_and_entropies`) and the
transformers sampler's prefill come from `SharedPrefixMixin`, shared with `algorithm: trl`:
each group's prompt forwarded once where that is exact. Everything else (sampling, reward
calls, vLLM, logging, the optimizer loop) stays TRL's. If a TRL upgrade stops calling these
methods or changes the batch keys we read, `require` raises instead of silently training with
TRL's objective, and tests/objective/test_trainer.py compares the applied gradient with one computed
independently from the paper's formula.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import torch
import trl
from trl import GRPOConfig
from trl.models.utils import disable_gradient_checkpointing
from trl.trainer.utils import split_pixel_values_by_grid, unsplit_pixel_values_by_grid

from reasoning_rl.objective import metrics
from reasoning_rl.objective.batch import (
    MODEL_KWARGS,
    SCAFFOLD_LOGPS_KEY,
    SCAFFOLD_ROW_KEY,
    WEIGHT_KEY,
    concat_rows,
    require,
    split_minibatches,
    take_rows,
)
from reasoning_rl.objective.loss import (
    clipped_surrogate,
    group_advantages,
    group_sequence_weights,
    minibatch_of_rows,
    normalize_minibatch,
    shaped_probability,
    truncated_importance_weights,
    weighted_token_loss,
)
from reasoning_rl.objective.shared_prefix_trainer import SharedPrefixMixin
from reasoning_rl.recipe.objective_section import (
    ObjectiveSection,
    minibatch_problems,
    objective_problems,
)
from reasoning_rl.rollout.scaffold import Scaffold

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
    "_save_rng_state",
    "_load_rng_state",
)
# Saved in each checkpoint next to the Trainer's rng_state.pth: the refill sampler's RNG, so a
# resumed run draws the same refill prompts.
OBJECTIVE_STATE_FILE = "magistral_objective_state.pt"


def validate_grpo_config(args: GRPOConfig, options: ObjectiveSection) -> None:
    """Raise ValueError, naming each recipe key, for settings the objective cannot honour."""
    problems = objective_problems(args, options)
    if problems:
        raise ValueError("; ".join(problems))


@dataclass
class _Round:
    """One TRL generation call: its batch dict and, per row, reward and loss-token count."""

    batch: dict
    rewards: torch.Tensor
    lengths: torch.Tensor
    hinted: torch.Tensor  # (rows,) bool: sampled from the scaffold's prompt


class MagistralGRPOTrainer(SharedPrefixMixin, trl.GRPOTrainer):
    """GRPOTrainer whose advantages, group filter, minibatches and loss are Magistral's.

    Same constructor as `trl.GRPOTrainer`, plus the keywords `objective`, `scaffold` (the
    rollouts' prompt swap, `reasoning_rl.rollout.scaffold.Scaffold`) and `shared_prefix`
    (default False; recipes pass true by default: each group's prompt forwarded once in scoring
    and in transformers generation where exact; see
    `reasoning_rl.objective.shared_prefix_trainer`). `args.steps_per_generation` must be
    `objective.minibatches` x `args.gradient_accumulation_steps`.
    """

    # Our weights already spread the normaliser over micro-batches: Trainer must not rescale.
    loss_is_scaled_for_ga = True

    def __init__(self, *, objective: ObjectiveSection | None = None,
                 scaffold: Scaffold | None = None, **grpo_trainer_kwargs):
        missing = [name for name in _TRL_HOOKS if not hasattr(trl.GRPOTrainer, name)]
        require(not missing, f"GRPOTrainer lacks {missing}")
        self.objective = objective or ObjectiveSection()
        args = grpo_trainer_kwargs.get("args")
        if args is None:
            raise ValueError("MagistralGRPOTrainer needs explicit args=GRPOConfig(beta=0.0, ...)")
        validate_grpo_config(args, self.objective)
        super().__init__(**grpo_trainer_kwargs)
        problems = minibatch_problems(args, self.objective, self.accelerator.num_processes)
        if self.objective.max_refill_rounds and self.accelerator.num_processes > 1:
            problems.append("objective.max_refill_rounds: refill is single-process only; set it "
                            "to 0")
        if problems:
            raise ValueError("; ".join(problems))
        self._captured_rewards: torch.Tensor | None = None
        self._refill_generator = torch.Generator().manual_seed(args.seed + 1)
        self._scaffold = scaffold if scaffold is not None and scaffold.steps else None
        self._round_problems: list[str] = []
        self._round_langs: list[str | None] = []
        self._round_hinted: tuple[list[bool], list[list[int]]] | None = None
        self._round = 0  # generation rounds (first + refills) of the current step
        self._minibatch_live: list[bool] = []  # per minibatch: does any row carry weight?
        self._local_minibatch = torch.zeros(0, dtype=torch.long)
        self._pending: dict | None = None  # a prepared micro-batch handed to Trainer's step
        self._skipped_steps = 0

    # -- generation phase -------------------------------------------------------------------

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards_per_func = super()._calculate_rewards(inputs, prompts, completions,
                                                      completion_ids_list)
        self._captured_rewards = rewards_per_func
        return rewards_per_func

    def _generate(self, prompts: list):
        """TRL's generation; scaffolded groups are sampled from their hinted prompt, and the
        prompt ids returned (what the policy is trained on) are always the plain prompt's."""
        step = self.state.global_step
        if self._scaffold is None or not self.model.training or self._scaffold.share(step) == 0:
            return super()._generate(prompts)
        require(len(self._round_problems) == len(prompts) and all(self._round_problems),
                "scaffold: every row needs its problem text in a `problem` column")
        # Seeded by step and round: a resumed run scaffolds the same groups.
        shown, flags = self._scaffold.swap(prompts, self._round_problems, self._round_langs,
                                           group_size=self.num_generations, step=step,
                                           seed=self.args.seed, draw=step * 64 + self._round)
        result = list(super()._generate(shown))
        self._round_hinted = (flags, result[0])  # the token ids the sampler was conditioned on
        result[0] = self._tokenize_prompts(prompts)[0]
        self._metrics["train"]["scaffold/hinted_frac"].append(sum(flags) / len(flags))
        return tuple(result)

    def _score_round(self, inputs: list[dict]) -> _Round:
        self._captured_rewards = None
        self._round_hinted = None
        self._round_problems = [x.get("problem", "") for x in inputs]
        self._round_langs = [x.get("lang") for x in inputs]
        self._round += 1
        batch = super()._generate_and_score_completions(inputs)
        require(self._captured_rewards is not None, "_calculate_rewards was not called")
        per_func = self._captured_rewards
        rewards = (per_func * self.reward_weights.to(per_func.device).unsqueeze(0)).nansum(dim=1)
        rewards[torch.isnan(per_func).all(dim=1)] = torch.nan
        mask = batch["completion_mask"] * batch.get("tool_mask", 1)
        lengths = self.accelerator.gather(mask.sum(dim=1))
        require(rewards.shape == lengths.shape, "rewards are not gathered per completion row")
        hinted = torch.zeros(batch["completion_ids"].shape[0], dtype=torch.bool)
        if self._round_hinted is not None:
            hinted = self._attach_behaviour_logps(batch)
        hinted = self.accelerator.gather(hinted.long().to(mask.device)).cpu().bool()
        return _Round(batch, rewards.detach().cpu().float(), lengths.cpu(), hinted)

    def _attach_behaviour_logps(self, batch: dict) -> torch.Tensor:
        """Log-probs of the hinted rows' completions under the prompt they were sampled from
        (mu, the sampling policy on the hinted prompt), for the scaffold's importance weights."""
        flags, hinted_ids = self._round_hinted
        completion_ids, completion_mask = batch["completion_ids"], batch["completion_mask"]
        rows = [i for i, flag in enumerate(flags) if flag]
        behaviour = torch.zeros(completion_ids.shape, dtype=torch.float32,
                                device=completion_ids.device)
        if rows:
            width = max(len(hinted_ids[i]) for i in rows)
            pad = self._tokenizer.pad_token_id
            prompt = torch.tensor([[pad] * (width - len(hinted_ids[i])) + list(hinted_ids[i])
                                   for i in rows], device=completion_ids.device)
            prompt_mask = (torch.arange(width, device=prompt.device).unsqueeze(0)
                           >= torch.tensor([width - len(hinted_ids[i]) for i in rows],
                                           device=prompt.device).unsqueeze(1)).long()
            with torch.no_grad(), disable_gradient_checkpointing(
                    self.model, self.args.gradient_checkpointing_kwargs):
                logps, _, _ = self._get_per_token_logps_and_entropies(
                    self.model, torch.cat([prompt, completion_ids[rows]], dim=1),
                    torch.cat([prompt_mask, completion_mask[rows]], dim=1),
                    completion_ids.shape[1])
            behaviour[rows] = logps.float()
        batch[SCAFFOLD_LOGPS_KEY] = behaviour
        hinted = torch.tensor(flags, dtype=torch.bool)
        batch[SCAFFOLD_ROW_KEY] = hinted.to(completion_ids.device).float()
        return hinted

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
        batch, rewards, lengths, hinted = self._assemble(rounds, group_size, target)
        minibatches = self.objective.minibatches if mode == "train" else 1
        per_process = rounds[0].batch["completion_ids"].shape[0]
        minibatch = minibatch_of_rows(rewards.numel(), per_process, minibatches)
        adv_raw, keep = group_advantages(rewards, group_size, self.objective.equal_reward_atol)
        seq_keep = keep.repeat_interleave(group_size)
        weights = group_sequence_weights(lengths, group_size, seq_keep, minibatch)
        advantages = normalize_minibatch(adv_raw, seq_keep, minibatch)
        local = self._local_slice(batch["completion_ids"].shape[0])
        device = batch["completion_ids"].device
        batch["advantages"] = advantages[local].to(device)
        batch[WEIGHT_KEY] = weights[local].to(device)
        self._local_minibatch = minibatch[local]
        self._minibatch_live = [bool((weights[minibatch == m] > 0).any())
                                for m in range(minibatches)]
        drawn_tokens = sum(float(r.lengths.sum()) for r in rounds)
        metrics.log_batch(
            self._metrics[mode], drawn_groups=sum(r.rewards.numel() for r in rounds) // group_size,
            kept_groups=self._kept_groups(rounds, group_size), group_size=group_size,
            refill_rounds=len(rounds) - 1, adv_raw=adv_raw, hinted_kept=seq_keep & hinted,
            plain_kept=seq_keep & ~hinted, scaffold=self._scaffold is not None and mode == "train",
            drawn_tokens=drawn_tokens, seconds=time.perf_counter() - start)
        return batch

    def _kept_groups(self, rounds: list[_Round], group_size: int) -> int:
        atol = self.objective.equal_reward_atol
        return sum(int(group_advantages(r.rewards, group_size, atol)[1].sum()) for r in rounds)

    def _local_slice(self, local_rows: int) -> slice:
        start = self.accelerator.process_index * local_rows
        return slice(start, start + local_rows)

    def _assemble(
        self, rounds: list[_Round], group_size: int, target: int
    ) -> tuple[dict, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The batch: kept groups only (up to `target`) when rows may be dropped, else round 0."""
        first = rounds[0]
        compactable = (
            self.objective.drop_filtered_rows
            and self.accelerator.num_processes == 1
            and all(key not in first.batch for key in MODEL_KWARGS)
        )
        if not compactable:
            return first.batch, first.rewards, first.lengths, first.hinted
        parts, rewards, lengths, hinted, kept = [], [], [], [], 0
        for r in rounds:
            _, keep = group_advantages(r.rewards, group_size, self.objective.equal_reward_atol)
            groups = torch.nonzero(keep).flatten()[: target - kept]
            kept += groups.numel()
            rows = (groups.unsqueeze(1) * group_size + torch.arange(group_size)).flatten()
            if rows.numel():
                parts.append(take_rows(r.batch, rows))
                rewards.append(r.rewards[rows])
                lengths.append(r.lengths[rows])
                hinted.append(r.hinted[rows])
        if not parts:  # nothing informative: keep round 0 as is, every step will be skipped
            return first.batch, first.rewards, first.lengths, first.hinted
        batch = concat_rows(parts, self._tokenizer.pad_token_id)
        return batch, torch.cat(rewards), torch.cat(lengths), torch.cat(hinted)

    # -- optimisation phase -----------------------------------------------------------------

    def _prepare_inputs(self, generation_batch):
        """TRL's buffering, with the batch laid out as minibatches of whole groups, in order.

        TRL shuffles rows across the optimizer steps of one generated batch; Magistral's
        minibatches are the unit of advantage normalisation, so rows stay with their minibatch.
        """
        if self._pending is not None:  # prepared by training_step just before
            batch, self._pending = self._pending, None
            return batch
        if not self.model.training:
            return super()._prepare_inputs(generation_batch)
        per_generation = self.args.steps_per_generation
        if self._step % per_generation == 0 or self._buffered_inputs is None:
            batch = split_pixel_values_by_grid(self._generate_and_score_completions(
                generation_batch))
            minibatches = self.objective.minibatches
            if any(key in batch for key in MODEL_KWARGS):  # rows of images: TRL's own split
                parts = trl.trainer.utils.split_tensor_dict(batch, per_generation)
            else:
                parts = split_minibatches(batch, self._local_minibatch, minibatches,
                                          per_generation // minibatches)
            self._buffered_inputs = [unsplit_pixel_values_by_grid(p) for p in parts]
        return self._buffered_inputs[self._step % per_generation]

    def training_step(self, model, inputs, num_items_in_batch):
        """TRL's step, except that a minibatch with nothing to learn never reaches backward.

        Skipping there, rather than zeroing gradients afterwards, is what keeps weights, Adam
        moments and the optimizer's step count untouched on every backend: under DeepSpeed,
        accelerate's `backward` also steps the engine. All micro-batches of the minibatch are
        skipped together, on every process (the decision comes from the gathered batch).
        """
        model.train()
        batch = self._prepare_inputs(inputs)
        per_step = self.args.steps_per_generation // self.objective.minibatches
        position = self._step % self.args.steps_per_generation
        live = self._minibatch_live[position // per_step] if self._minibatch_live else True
        if position % per_step == 0:  # once per optimizer step
            self._skipped_steps += int(not live)
            self._metrics["train"]["magistral/skipped_step"].append(float(not live))
            self._metrics["train"]["magistral/skipped_steps_total"].append(
                float(self._skipped_steps))
        if not live:
            self._step += 1
            return torch.zeros((), device=self.accelerator.device)
        self._pending = batch
        return super().training_step(model, inputs, num_items_in_batch)

    def _compute_loss(self, model, inputs):
        require(WEIGHT_KEY in inputs, "batch did not pass through _generate_and_score_completions")
        weights = inputs[WEIGHT_KEY]
        if not bool((weights > 0).any()) and self.accelerator.num_processes == 1:
            # Nothing to learn in this micro-batch (the rest of its minibatch has): skip the
            # forward. The zero hangs off one parameter because DeepSpeed's backward refuses a
            # loss without a graph; it adds a zero gradient. (Under DDP every rank must run the
            # forward, so there the zero weights make the loss 0 instead.)
            anchor = next(p for p in model.parameters() if p.requires_grad)
            return anchor.sum() * 0.0
        prompt_ids, completion_ids = inputs["prompt_ids"], inputs["completion_ids"]
        mask = inputs["completion_mask"] * inputs.get("tool_mask", 1)
        logps, entropies, aux_loss = self._get_per_token_logps_and_entropies(
            model,
            torch.cat([prompt_ids, completion_ids], dim=1),
            torch.cat([inputs["prompt_mask"], inputs["completion_mask"]], dim=1),
            completion_ids.size(1),
            compute_entropy=True,
            compute_aux_loss=self.aux_loss_enabled,
            **{key: inputs.get(key) for key in MODEL_KWARGS},
        )
        # The behaviour policy: the one that sampled, scored before the first minibatch's step
        # (TRL computes it whenever a batch spans several optimizer steps). Absent, the policy
        # has not moved since sampling, and the ratio is 1 in value with the right gradient.
        old_logps = inputs.get("old_per_token_logps")
        old_logps = logps.detach() if old_logps is None else old_logps
        ratio = torch.exp(logps - old_logps)
        surrogate = clipped_surrogate(ratio, inputs["advantages"], self.epsilon_low,
                                      self.epsilon_high)
        if "importance_sampling_ratio" in inputs:  # vLLM sampler/learner mismatch correction
            surrogate = surrogate * inputs["importance_sampling_ratio"]
        if SCAFFOLD_ROW_KEY in inputs:
            surrogate = self._scaffold_surrogate(inputs, surrogate, logps, old_logps, mask)
        # DDP averages gradients over ranks while our weights already sum to the global objective.
        loss = weighted_token_loss(surrogate, mask, weights) * self.accelerator.num_processes
        if self.aux_loss_enabled:
            accumulation = self.current_gradient_accumulation_steps if model.training else 1
            loss = loss + self.router_aux_loss_coef * aux_loss / accumulation
        active = mask * (weights > 0).unsqueeze(1)
        metrics.log_loss(self._metrics["train" if self.model.training else "eval"],
                         lambda x: self.accelerator.reduce(x, reduction="sum"), ratio.detach(),
                         inputs["advantages"], active, entropies, self.epsilon_low,
                         self.epsilon_high)
        return loss

    def _scaffold_surrogate(self, inputs: dict, surrogate: torch.Tensor, logps: torch.Tensor,
                            old_logps: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The hinted rows' per-token objective: the surrogate times min(pi_old(y|plain) /
        mu(y|hinted), cap) ("tis"), LUFFY's f(pi(y|plain)) times the advantage ("shaped"), or
        the advantage times a ratio of pi to itself, whose gradient is A grad log pi(y|plain)
        ("likelihood"); plain rows keep the surrogate."""
        hinted = inputs[SCAFFOLD_ROW_KEY].bool().unsqueeze(1)
        tokens = (mask * hinted).sum()
        if self.objective.scaffold_weighting == "likelihood":
            unit = torch.exp(logps - logps.detach())
            return torch.where(hinted, unit * inputs["advantages"].unsqueeze(1), surrogate)
        if self.objective.scaffold_weighting == "shaped":
            shaped = shaped_probability(logps, self.objective.scaffold_shaping_gamma)
            if tokens > 0:
                self._metrics["train"]["scaffold/shaped_mean"].append(
                    float((shaped.detach() * mask * hinted).sum() / tokens))
            return torch.where(hinted, shaped * inputs["advantages"].unsqueeze(1), surrogate)
        weights = truncated_importance_weights(old_logps, inputs[SCAFFOLD_LOGPS_KEY],
                                               self.objective.scaffold_is_cap)
        weights = torch.where(hinted, weights, torch.ones_like(weights))
        if tokens > 0:
            self._metrics["train"]["scaffold/is_weight_mean"].append(
                float((weights * mask * hinted).sum() / tokens))
        return surrogate * weights

    # -- checkpoints ------------------------------------------------------------------------

    def _save_rng_state(self, output_dir: str) -> None:
        super()._save_rng_state(output_dir)
        if self.args.should_save:
            torch.save({"refill_generator": self._refill_generator.get_state()},
                       os.path.join(output_dir, OBJECTIVE_STATE_FILE))

    def _load_rng_state(self, checkpoint: str | None) -> None:
        super()._load_rng_state(checkpoint)
        path = os.path.join(checkpoint or "", OBJECTIVE_STATE_FILE)
        if checkpoint is not None and os.path.isfile(path):
            state = torch.load(path, weights_only=True)
            self._refill_generator.set_state(state["refill_generator"])
