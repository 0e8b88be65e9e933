"""Integration tests: a real TRL training step on the embedded model uses the Magistral objective.

The key proof (`test_step_gradient_is_the_magistral_gradient_of_the_diverse_group_only`) runs one
`trainer.train()` step on a batch with one diverse and one all-equal group, captures the gradient
the optimizer was about to apply, and compares it with the gradient of the paper's objective
computed here by hand on a fresh copy of the model from only the diverse group's completions.
If TRL stops routing the batch or the loss through our overrides, the gradients differ (TRL
would scale advantages differently and divide by the token count of all four rows) or the
seam's own checks raise.
"""

from __future__ import annotations

import copy
import math
import re

import pytest
import torch
import trl
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
from trl import GRPOConfig

from reasoning_rl.model.embedded import ensure_converted
from reasoning_rl.objective.trainer import MagistralGRPOTrainer
from reasoning_rl.recipe.objective_section import ObjectiveSection

GROUP = 2
CHECKED_PARAMS = ("model.norm.weight", "model.layers.0.self_attn.q_proj.weight")


@pytest.fixture(scope="module")
def base():
    folder = ensure_converted("embedded:smollm2-135m-instruct")
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    return model, AutoTokenizer.from_pretrained(folder)


def _config(tmp_path, **overrides) -> GRPOConfig:
    # max_grad_norm=0 turns clipping off, so the captured gradient is the raw one. bf16=False:
    # GRPOConfig's default bf16 autocasts the step on CPU too, and the references here are
    # TRL's per-sample scoring, which equals the trainer's shared-prefix scoring within float32
    # round-off, not within bfloat16's.
    values = {
        "per_device_train_batch_size": 4, "num_generations": GROUP, "max_completion_length": 8,
        "max_steps": 1, "report_to": [], "use_cpu": True, "logging_steps": 1,
        "save_strategy": "no", "beta": 0.0, "epsilon": 0.2, "epsilon_high": 0.28,
        "learning_rate": 1e-5, "max_grad_norm": 0.0, "temperature": 1.0, "seed": 0,
        "bf16": False,
    }  # fmt: skip
    return GRPOConfig(output_dir=str(tmp_path), **{**values, **overrides})


class _Recorder:
    """A reward function that scores by the `kind` column and remembers what it saw.

    kind "flat": every completion gets 1.0 (a non-diverse group); "diverse": the two completions
    of a group get 0.0 and 1.0 by position (groups are contiguous rows, as TRL lays them out).
    """

    __name__ = "recorder"

    def __init__(self, flat_calls: int = 0):
        self.calls: list[dict] = []
        self.flat_calls = flat_calls  # the first `flat_calls` calls score everything flat

    def __call__(self, prompts, completions, completion_ids, kind, **kwargs):
        all_flat = len(self.calls) < self.flat_calls
        rewards = [
            1.0 if (k == "flat" or all_flat) else float(i % GROUP) for i, k in enumerate(kind)
        ]
        ids = [list(c) for c in completion_ids]
        self.calls.append({"ids": ids, "kind": kind, "rewards": rewards})
        return rewards


def _trainer(tmp_path, base, kinds, recorder, objective=None, ragged=False, shift_old=None,
             **overrides):
    model, tokenizer = base
    prompts = [f"Name a colour, number {i}." for i in range(len(kinds))]
    dataset = Dataset.from_dict({"prompt": prompts, "kind": kinds})

    class Recording(MagistralGRPOTrainer):
        def _compute_loss(self, model, inputs):
            if shift_old is not None and "old_per_token_logps" in inputs:
                inputs = {**inputs, "sampled_logps": inputs["old_per_token_logps"],
                          "old_per_token_logps": shift_old(inputs)}
            loss = super()._compute_loss(model, inputs)
            self.__dict__.setdefault("loss_inputs", []).append({**inputs, "loss": loss.detach()})
            return loss

        def _generate(self, prompts):
            # Generations of 8 tokens all hit the length limit; trimming row i to 8 - i tokens
            # gives every group a different length, so per-group and whole-batch token
            # normalisation disagree and the test can tell them apart.
            out = list(super()._generate(prompts))
            if ragged:
                out[1] = [ids[: max(1, len(ids) - i)] for i, ids in enumerate(out[1])]
                out[3] = tokenizer.batch_decode(out[1])
            return tuple(out)

    return Recording(
        model=copy.deepcopy(model), args=_config(tmp_path, **overrides), reward_funcs=[recorder],
        train_dataset=dataset, processing_class=tokenizer, objective=objective,
    )  # fmt: skip


class _GradCapture(TrainerCallback):
    def __init__(self):
        self.grads: dict[str, torch.Tensor] = {}

    def on_pre_optimizer_step(self, args, state, control, model=None, **kwargs):
        for name, param in model.named_parameters():
            if name in CHECKED_PARAMS and param.grad is not None:
                self.grads[name] = param.grad.detach().clone()


def _trl_logps(trainer, model, *args, **kwargs):
    """TRL's own per-sample scoring (each row with its own prompt), bypassing the trainer's
    shared-prefix override, so the reference stays independent of the code under test."""
    return trl.GRPOTrainer._get_per_token_logps_and_entropies(trainer, model, *args, **kwargs)


def _reference_grads(trainer, model, inputs, reward_of_row, group_of_row
                     ) -> dict[str, torch.Tensor]:
    """Gradient of the paper's loss, -(1/K) sum_g sum_{i in g} A_i sum_t rho_it / L_g, by hand.

    Token log-probs come from TRL's own per-sample helper (its fused LM head differs from a
    plain log_softmax by a few 1e-2 nats on CPU); everything after them is independent of our
    code.
    """
    model.zero_grad()
    logps, _, _ = _trl_logps(
        trainer, model,
        torch.cat([inputs["prompt_ids"], inputs["completion_ids"]], dim=1),
        torch.cat([inputs["prompt_mask"], inputs["completion_mask"]], dim=1),
        inputs["completion_ids"].shape[1],
    )
    mask = inputs["completion_mask"].float()
    ratio = torch.exp(logps - logps.detach())
    rewards, groups = torch.tensor(reward_of_row), torch.tensor(group_of_row)
    raw = torch.zeros_like(rewards)
    for g in groups.unique():
        raw[groups == g] = rewards[groups == g] - rewards[groups == g].mean()
    advantages = (raw - raw.mean()) / raw.std()  # minibatch normalisation over kept rows
    objective = torch.zeros(())
    for g in groups.unique():
        rows = groups == g
        group_sum = (advantages[rows].unsqueeze(1) * ratio[rows] * mask[rows]).sum()
        objective = objective + group_sum / mask[rows].sum()
    (-objective / len(groups.unique())).backward()
    return {n: p.grad.detach().clone() for n, p in model.named_parameters() if n in CHECKED_PARAMS}


def _rows_by_completion(inputs, calls) -> tuple[list[float], list[int]]:
    """Match each row of a loss micro-batch to its reward and group, by its completion ids."""
    pool = [
        (ids, r, (c, i // GROUP))
        for c, call in enumerate(calls)
        for i, (ids, r) in enumerate(zip(call["ids"], call["rewards"], strict=True))
    ]
    rewards, groups = [], []
    for row, row_mask in zip(inputs["completion_ids"], inputs["completion_mask"], strict=True):
        ids = row[row_mask.bool()].tolist()
        _, reward, group = pool.pop(next(i for i, (cand, _, _) in enumerate(pool) if cand == ids))
        rewards.append(reward)
        groups.append(hash(group))
    return rewards, groups


def test_step_gradient_is_the_magistral_gradient_of_the_diverse_groups_only(tmp_path, base):
    recorder, capture = _Recorder(), _GradCapture()
    trainer = _trainer(
        tmp_path, base, ["diverse", "flat", "diverse"], recorder, ragged=True,
        per_device_train_batch_size=6,
    )  # fmt: skip
    trainer.add_callback(capture)
    untrained = copy.deepcopy(trainer.model)
    trainer.train()

    assert len(trainer.loss_inputs) == 1
    inputs = trainer.loss_inputs[0]
    # The all-equal group was removed before the batch was formed: 4 rows, not 6.
    assert inputs["completion_ids"].shape[0] == 2 * GROUP
    rewards, groups = _rows_by_completion(inputs, recorder.calls)
    assert sorted(rewards) == [0.0, 0.0, 1.0, 1.0] and len(set(groups)) == 2
    # Raw advantages are +-0.5 in both groups; their sample std over 4 rows is sqrt(1/3).
    expected_adv = torch.tensor([(r - 0.5) / math.sqrt(1 / 3) for r in rewards])
    torch.testing.assert_close(inputs["advantages"], expected_adv)
    lengths = inputs["completion_mask"].sum(-1)
    group_lengths = {g: int(lengths[[x == g for x in groups]].sum()) for g in set(groups)}
    assert len(set(group_lengths.values())) == 2  # otherwise batch and group normalisers agree

    reference = _reference_grads(trainer, untrained, inputs, rewards, groups)
    assert set(capture.grads) == set(CHECKED_PARAMS)
    for name in CHECKED_PARAMS:
        assert reference[name].abs().sum() > 0
        torch.testing.assert_close(capture.grads[name], reference[name], rtol=1e-4, atol=1e-8)

    logged = trainer.state.log_history[0]
    assert logged["magistral/filtered_group_frac"] == pytest.approx(1 / 3)
    assert logged["magistral/generations_per_kept_group"] == 3.0
    assert logged["magistral/skipped_step"] == 0.0
    assert logged["magistral/adv_mean_raw"] == pytest.approx(0.0, abs=1e-7)
    assert logged["magistral/adv_std_raw"] == pytest.approx(math.sqrt(1 / 3))
    assert logged["clip_ratio/region_mean"] == 0.0  # one on-policy step: ratio is exactly 1
    assert logged["entropy"] > 0 and logged["magistral/gen_tokens_per_s"] > 0


def test_all_groups_filtered_skips_the_step_without_nan(tmp_path, base):
    trainer = _trainer(tmp_path, base, ["flat", "flat"], _Recorder())
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.train()

    logged = trainer.state.log_history[0]
    assert logged["magistral/skipped_step"] == 1.0
    assert logged["magistral/filtered_group_frac"] == 1.0
    assert "magistral/generations_per_kept_group" not in logged
    assert math.isfinite(trainer.state.log_history[-1]["train_loss"])
    # No parameter had a gradient, so AdamW never created state for any of them.
    assert len(trainer.optimizer.state) == 0
    for name, param in trainer.model.named_parameters():
        assert torch.equal(param, before[name]), name


def test_refill_draws_until_the_batch_holds_informative_groups(tmp_path, base):
    recorder = _Recorder(flat_calls=1)  # the first generation round teaches nothing
    kinds = ["diverse"] * 4
    trainer = _trainer(tmp_path, base, kinds, recorder, ObjectiveSection(max_refill_rounds=2))
    trainer.train()

    assert len(recorder.calls) == 2
    assert trainer.loss_inputs[0]["completion_ids"].shape[0] == 4
    logged = trainer.state.log_history[0]
    assert logged["magistral/refill_rounds"] == 1.0
    assert logged["magistral/kept_groups"] == 2.0
    assert logged["magistral/filtered_group_frac"] == 0.5
    assert logged["magistral/generations_per_kept_group"] == 4.0


@pytest.mark.parametrize(
    ("overrides", "options", "message"),
    [
        ({"beta": 0.04}, None, "trainer.beta: algorithm: magistral needs 0.0"),
        ({"num_iterations": 2}, None, "trainer.num_iterations: algorithm: magistral needs 1"),
        ({"gradient_accumulation_steps": 2, "steps_per_generation": 4}, None,
         "trainer.steps_per_generation: algorithm: magistral needs objective.minibatches x "
         "trainer.gradient_accumulation_steps = 2"),
        ({"steps_per_generation": 2}, ObjectiveSection(minibatches=3),
         "trainer.steps_per_generation: algorithm: magistral needs objective.minibatches x "
         "trainer.gradient_accumulation_steps = 3"),
        ({"top_entropy_quantile": 0.2}, None, "trainer.top_entropy_quantile: algorithm: "
         "magistral needs 1.0"),
        ({"steps_per_generation": 2, "per_device_train_batch_size": 3, "num_generations": 3,
          "save_steps": 3, "save_strategy": "steps"}, ObjectiveSection(minibatches=2),
         "trainer.save_steps: 3 is not a multiple of objective.minibatches = 2"),
    ],
)  # fmt: skip
def test_config_the_objective_cannot_honour_is_rejected_by_recipe_key(
    tmp_path, overrides, options, message
):
    with pytest.raises(ValueError, match=re.escape(message)):
        MagistralGRPOTrainer(model="unused", args=_config(tmp_path, **overrides), objective=options)


def test_a_trl_upgrade_that_renames_a_hook_fails_loudly(tmp_path, monkeypatch):
    monkeypatch.delattr(trl.GRPOTrainer, "_compute_loss")
    with pytest.raises(RuntimeError, match="TRL internals changed"):
        MagistralGRPOTrainer(model="unused", args=_config(tmp_path))


class _StepCapture(TrainerCallback):
    """Per optimizer step: the gradient about to be applied, and the model after the step."""

    def __init__(self):
        self.grads: dict[int, dict[str, torch.Tensor]] = {}
        self.models: dict[int, torch.nn.Module] = {}

    def on_pre_optimizer_step(self, args, state, control, model=None, **kwargs):
        self.grads[state.global_step] = {
            n: p.grad.detach().clone() for n, p in model.named_parameters()
            if n in CHECKED_PARAMS and p.grad is not None}

    def on_step_end(self, args, state, control, model=None, **kwargs):
        self.models[state.global_step] = copy.deepcopy(model)


def _shift_first_tokens(inputs) -> torch.Tensor:
    """Behaviour log-probs moved on one chosen token per row: -3 nats where A > 0 (ratio x 20,
    past 1 + eps_high) and +3 nats where A < 0 (ratio / 20, below 1 - eps_low)."""
    shift = torch.zeros_like(inputs["old_per_token_logps"])
    shift[:, 0] = -3.0 * torch.sign(inputs["advantages"])
    return inputs["old_per_token_logps"] + shift


def _paper_minibatch_grads(trainer, behaviour, policy, inputs, rewards, groups, eps_low,
                           eps_high, shift=None) -> tuple[dict[str, torch.Tensor], float, float]:
    """Magistral's minibatch loss written out from the paper, differentiated by autograd.

    J = (1/K) sum_g (1 / sum_{i in g} |o_i|) sum_{i in g} sum_t min(rho_it A_i,
        clip(rho_it, 1 - eps_low, 1 + eps_high) A_i),   rho_it = pi_theta / pi_behaviour,
    A_i = (a_i - mean_mb a) / std_mb a,  a_i = r_i - mean_{j in g(i)} r_j, over this minibatch.
    Returns the gradients and the fractions of tokens clipped low and high.
    """
    ids = torch.cat([inputs["prompt_ids"], inputs["completion_ids"]], dim=1)
    attention = torch.cat([inputs["prompt_mask"], inputs["completion_mask"]], dim=1)
    width = inputs["completion_ids"].shape[1]
    with torch.no_grad():
        old, _, _ = _trl_logps(trainer, behaviour, ids, attention, width)
    if shift is not None:
        old = shift({"old_per_token_logps": old, "advantages": inputs["advantages"]})
    policy.zero_grad()
    new, _, _ = _trl_logps(trainer, policy, ids, attention, width)
    mask = inputs["completion_mask"].float()
    rho = torch.exp(new - old)
    rewards, groups = torch.tensor(rewards), torch.tensor(groups)
    raw = torch.zeros_like(rewards)
    for g in groups.unique():
        raw[groups == g] = rewards[groups == g] - rewards[groups == g].mean()
    adv = ((raw - raw.mean()) / raw.std()).unsqueeze(1)
    surrogate = torch.minimum(rho * adv, torch.clamp(rho, 1 - eps_low, 1 + eps_high) * adv)
    objective = sum((surrogate[groups == g] * mask[groups == g]).sum() / mask[groups == g].sum()
                    for g in groups.unique()) / len(groups.unique())
    (-objective).backward()
    grads = {n: p.grad.detach().clone() for n, p in policy.named_parameters()
             if n in CHECKED_PARAMS}
    tokens = mask.sum()
    low = float((((rho < 1 - eps_low) & (adv < 0)).float() * mask).sum() / tokens)
    high = float((((rho > 1 + eps_high) & (adv > 0)).float() * mask).sum() / tokens)
    return grads, low, high


def test_second_minibatch_gradient_is_the_clipped_paper_gradient(tmp_path, base):
    """Two minibatches from one generated batch: the second is trained after a real optimizer
    step, so its ratio to the sampling policy is not 1; its gradient must equal the paper's,
    computed here from the pre-step (behaviour) and post-step models.

    The first step moves the ratios of the second minibatch off 1 but, from one step, mostly
    down (measured: 30-60 % of tokens clipped low, none high); so that both sides of the clip
    certainly act, the test also moves the behaviour log-prob of one chosen token per row
    (`_shift_first_tokens`) in both the trainer and the reference. The trainer's own behaviour
    log-probs are checked against the pre-step model."""
    recorder, capture = _Recorder(), _StepCapture()
    trainer = _trainer(tmp_path, base, ["diverse"] * 4, recorder, ObjectiveSection(minibatches=2),
                       ragged=True, shift_old=_shift_first_tokens, steps_per_generation=2,
                       max_steps=2, learning_rate=1e-4)
    trainer.add_callback(capture)
    untrained = copy.deepcopy(trainer.model)
    trainer.train()

    assert len(recorder.calls) == 1  # one generated batch, two optimizer steps
    first, second = trainer.loss_inputs
    assert first["completion_ids"].shape[0] == second["completion_ids"].shape[0] == 2 * GROUP
    rewards, groups = _rows_by_completion(second, recorder.calls)
    ids = torch.cat([second["prompt_ids"], second["completion_ids"]], dim=1)
    attention = torch.cat([second["prompt_mask"], second["completion_mask"]], dim=1)
    with torch.no_grad():  # the behaviour log-probs are the sampling (pre-step) policy's
        sampled, _, _ = _trl_logps(
            trainer, untrained, ids, attention, second["completion_ids"].shape[1])
    mask = second["completion_mask"].bool()
    torch.testing.assert_close(second["sampled_logps"][mask], sampled[mask], rtol=0, atol=1e-4)
    assert len(set(groups)) == 2  # whole groups per minibatch
    expected_adv = torch.tensor(rewards) - 0.5
    torch.testing.assert_close(second["advantages"], expected_adv / expected_adv.std())

    reference, low, high = _paper_minibatch_grads(
        trainer, untrained, copy.deepcopy(capture.models[1]), second, rewards, groups,
        trainer.epsilon_low, trainer.epsilon_high, shift=_shift_first_tokens)
    assert low > 0 and high > 0, (low, high)  # both sides of the clip act
    for name in CHECKED_PARAMS:
        assert reference[name].abs().sum() > 0
        torch.testing.assert_close(capture.grads[1][name], reference[name], rtol=1e-4, atol=1e-8)
    logged = {e["step"]: e for e in trainer.state.log_history if "loss" in e}
    assert logged[2]["clip_ratio/low_mean"] == pytest.approx(low, abs=1e-6)
    assert logged[2]["clip_ratio/high_mean"] == pytest.approx(high, abs=1e-6)


def test_a_minibatch_without_informative_groups_is_skipped_before_backward(tmp_path, base):
    recorder = _Recorder()
    trainer = _trainer(tmp_path, base, ["diverse", "flat", "flat", "flat"], recorder,
                       ObjectiveSection(minibatches=2), steps_per_generation=2, max_steps=2)
    trainer.train()

    # Kept groups fill the first minibatch; the second holds none and is never forwarded.
    assert len(trainer.loss_inputs) == 1
    logged = [e for e in trainer.state.log_history if "loss" in e]
    assert [e["magistral/skipped_step"] for e in logged] == [0.0, 1.0]
    assert logged[-1]["magistral/skipped_steps_total"] == 1.0
    steps = {int(s["step"]) for s in trainer.optimizer.state.values()}
    assert steps == {1}  # AdamW stepped once: the skipped step left its step count alone
