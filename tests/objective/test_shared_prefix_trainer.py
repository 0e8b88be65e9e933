"""Shared-prefix scoring through the real trainers: one training step with it on equals the step
with it off, within float32 round-off, for `algorithm: magistral` and `algorithm: trl`, full
fine-tuning and LoRA; and gradient checkpointing in training takes the logged fallback.

Each test trains one real step (`trainer.train()`, TRL's sampler and all) on the embedded
SmolLM2-135M-Instruct cut to its first LAYERS decoder layers (its real weights and SDPA
attention), with chat prompts of four lengths (left-padded in one batch) and several groups per
micro-batch. The gradient the optimizer was about to apply (key on) is compared with the
gradient of the same loss, on the same micro-batch and the same pre-step weights, computed
through the trainer's own `_compute_loss` with the key off (TRL's per-sample path). Float32
throughout (`bf16=False`): GRPOConfig's default bf16 would autocast both paths to bfloat16.
"""

from __future__ import annotations

import logging

import pytest
import torch
from datasets import Dataset
from peft import LoraConfig
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
from trl import GRPOConfig

from reasoning_rl.model.embedded import ensure_converted
from reasoning_rl.objective import shared_prefix
from reasoning_rl.objective.shared_prefix_trainer import SharedPrefixGRPOTrainer
from reasoning_rl.objective.trainer import MagistralGRPOTrainer
from reasoning_rl.recipe.objective_section import ObjectiveSection

EMBEDDED = "embedded:smollm2-135m-instruct"
LAYERS = 2
QUESTIONS = ["What is 23 + 19? Think first, then answer in \\boxed{}.", "What is 6 * 7?",
             "Name a colour.", "Which is larger, 81 - 46 or 35? Explain briefly."]
LOGP_TOL = {"rtol": 1e-5, "atol": 1e-4}  # log-probs ~ -10: a few float32 ulps
GRAD_TOL = 1e-4  # per parameter: |g_on - g_off| / |g_off|
LORA = LoraConfig(r=8, target_modules=["q_proj", "v_proj", "up_proj"], lora_dropout=0.0,
                  init_lora_weights=False)  # B != 0, so A's gradients are not all zero


@pytest.fixture(autouse=True)
def fresh_log(monkeypatch) -> None:
    """Each test sees the fallback log line anew (it is said once per process and reason)."""
    monkeypatch.setattr(shared_prefix, "_LOGGED_REASONS", set())


@pytest.fixture
def prompt_passes(monkeypatch) -> list[tuple[str, int]]:
    """Each shared prompt pass that ran: ("generate" | "score" | "score+grad", prompts)."""
    passes: list[tuple[str, int]] = []
    original = shared_prefix._prompt_cache

    def counting(model, prompt_ids, prompt_mask, shared, position_ids=None):
        kind = ("generate" if position_ids is not None
                else "score+grad" if torch.is_grad_enabled() else "score")
        passes.append((kind, shared.firsts.numel()))
        return original(model, prompt_ids, prompt_mask, shared, position_ids)

    monkeypatch.setattr(shared_prefix, "_prompt_cache", counting)
    return passes


def spread_reward(completions, **kwargs) -> list[float]:
    """Completion length plus a tie-breaker by row: no group is filtered as all-equal."""
    return [len(str(c)) + 0.001 * i for i, c in enumerate(completions)]


class _Capture(TrainerCallback):
    """The gradient the optimizer is about to apply, for every trainable parameter."""

    def __init__(self):
        self.grads: dict[str, torch.Tensor] = {}

    def on_pre_optimizer_step(self, args, state, control, model=None, **kwargs):
        self.grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()
                      if p.grad is not None}


def _recording(base: type) -> type:
    class Recording(base):
        def _compute_loss(self, model, inputs):
            self.__dict__.setdefault("loss_inputs", []).append(dict(inputs))
            return super()._compute_loss(model, inputs)

    return Recording


def _model() -> AutoModelForCausalLM:
    torch.manual_seed(0)
    return AutoModelForCausalLM.from_pretrained(ensure_converted(EMBEDDED), dtype=torch.float32,
                                                num_hidden_layers=LAYERS)


def _dataset() -> Dataset:
    return Dataset.from_dict({"prompt": [[{"role": "user", "content": q}] for q in QUESTIONS]})


def _trainer(tmp_path, algorithm: str, lora: bool = False, shared: bool = True, **overrides):
    """A one-step trainer: two minibatches (Magistral) or two micro-batches (TRL, whose rows
    are shuffled across them) per generated batch, so the behaviour log-probs are computed.
    `trainer.capture.grads` gets the step's gradient."""
    model = _model()
    magistral = algorithm == "magistral"
    values = {
        "per_device_train_batch_size": 4, "num_generations": 2 if magistral else 4,
        "steps_per_generation": 2, "max_completion_length": 6, "max_steps": 1,
        "report_to": [], "use_cpu": True, "save_strategy": "no", "beta": 0.0, "seed": 0,
        "learning_rate": 1e-5, "max_grad_norm": 0.0, "bf16": False, "logging_steps": 1,
        "gradient_checkpointing": False, "temperature": 0.7,
    }  # fmt: skip
    kwargs = {
        "model": model, "args": GRPOConfig(output_dir=str(tmp_path), **{**values, **overrides}),
        "reward_funcs": [spread_reward], "train_dataset": _dataset(),
        "processing_class": AutoTokenizer.from_pretrained(ensure_converted(EMBEDDED)),
        "peft_config": LORA if lora else None, "callbacks": [capture := _Capture()],
        "shared_prefix": shared,
    }  # fmt: skip
    if magistral:
        trainer = _recording(MagistralGRPOTrainer)(objective=ObjectiveSection(minibatches=2),
                                                   **kwargs)
    else:
        trainer = _recording(SharedPrefixGRPOTrainer)(**kwargs)
    trainer.capture = capture
    return trainer


def _prefix_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == shared_prefix.__name__]


def _scores(trainer, model, inputs: dict, shared: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """The trainer's per-token log-probs and entropies of a micro-batch, key on or off."""
    trainer.shared_prefix = shared
    with torch.no_grad():
        logps, entropies, _ = trainer._get_per_token_logps_and_entropies(
            model, torch.cat([inputs["prompt_ids"], inputs["completion_ids"]], dim=1),
            torch.cat([inputs["prompt_mask"], inputs["completion_mask"]], dim=1),
            inputs["completion_ids"].size(1), compute_entropy=True)
    return logps, entropies


CHECKPOINTED = {"gradient_checkpointing": True,
                "gradient_checkpointing_kwargs": {"use_reentrant": False}}  # TRL's default kind


@pytest.mark.parametrize(("algorithm", "lora", "checkpointing"), [
    ("magistral", False, False), ("magistral", True, False), ("trl", False, False),
    ("trl", True, False), ("magistral", False, True), ("trl", True, True),
], ids=["magistral-full", "magistral-lora", "trl-full", "trl-lora", "magistral-full-checkpointed",
        "trl-lora-checkpointed"])
def test_a_step_with_shared_prefix_equals_the_step_without(tmp_path, caplog, prompt_passes,
                                                           algorithm, lora, checkpointing):
    trainer = _trainer(tmp_path, algorithm, lora, **(CHECKPOINTED if checkpointing else {}))
    model = trainer.model
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    with caplog.at_level(logging.WARNING, logger=shared_prefix.__name__):
        trainer.train()
    assert not _prefix_lines(caplog)  # no fallback anywhere in the step
    # Each group's prompt once: in the sampler's prefill, the behaviour pass and the loss.
    assert {kind for kind, _ in prompt_passes} == {"generate", "score", "score+grad"}
    inputs = trainer.loss_inputs[0]
    mask = inputs["completion_mask"].bool()
    assert inputs["prompt_mask"].sum(1).unique().numel() > 1  # prompts of different lengths
    assert not inputs["prompt_mask"].all()  # so some are left-padded
    grads_on = trainer.capture.grads
    assert grads_on and all("lora_" in n for n in grads_on) == lora

    model.load_state_dict(before)  # the pre-step weights, in the trainer's own patched model
    model.train()
    logps_on, entropies_on = _scores(trainer, model, inputs, shared=True)
    logps_off, entropies_off = _scores(trainer, model, inputs, shared=False)
    torch.testing.assert_close(logps_on, logps_off, **LOGP_TOL)
    torch.testing.assert_close(entropies_on, entropies_off, **LOGP_TOL)
    # the behaviour log-probs the step used were scored shared, before the step
    torch.testing.assert_close(inputs["old_per_token_logps"][mask], logps_off[mask], **LOGP_TOL)

    model.zero_grad(set_to_none=True)
    trainer.shared_prefix = False
    trainer._compute_loss(model, inputs).backward()
    grads_off = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
    assert grads_on.keys() == grads_off.keys()
    worst = max(float((grads_on[n] - grads_off[n]).norm() / grads_off[n].norm())
                for n in grads_off if grads_off[n].norm() > 0)
    assert worst < GRAD_TOL, f"relative gradient difference {worst:.2e}"


def test_reentrant_gradient_checkpointing_falls_back_with_its_log_line(tmp_path, caplog,
                                                                      prompt_passes):
    trainer = _trainer(tmp_path, "magistral", gradient_checkpointing=True,
                       gradient_checkpointing_kwargs={"use_reentrant": True})
    with caplog.at_level(logging.WARNING, logger=shared_prefix.__name__):
        trainer.train()
    assert _prefix_lines(caplog) == [
        "shared prefix off, each row forwards its own prompt: reentrant gradient checkpointing "
        "(use_reentrant not false) replays layers without the prompt's gradient"]
    # TRL turns checkpointing off around sampling and the no-grad behaviour pass: shared there
    assert {kind for kind, _ in prompt_passes} == {"generate", "score"}
    assert trainer.state.global_step == 1 and trainer.loss_inputs


def test_the_recipe_key_off_leaves_every_pass_per_sample(tmp_path, caplog, prompt_passes):
    trainer = _trainer(tmp_path, "trl", shared=False)
    with caplog.at_level(logging.WARNING, logger=shared_prefix.__name__):
        trainer.train()
    assert not prompt_passes and not _prefix_lines(caplog)
    assert trainer.state.global_step == 1


@pytest.mark.parametrize("algorithm", ["magistral", "trl"])
def test_build_trainer_passes_the_recipe_key(tmp_path, algorithm):
    from reasoning_rl.recipe.config import load_recipe
    from reasoning_rl.training import bind_rewards, build_trainer, grpo_settings

    extra = [] if algorithm == "magistral" else ["algorithm=trl", "objective=null"]
    for value in (True, False):
        recipe = load_recipe("recipes/smoke_cpu.yaml", [
            f"run.output_dir={tmp_path / str(value)}", f"model.shared_prefix={value}",
            *extra])
        trainer = build_trainer(recipe, grpo_settings(recipe, []), _model(),
                                AutoTokenizer.from_pretrained(ensure_converted(EMBEDDED)), None,
                                bind_rewards(recipe), _dataset())
        assert trainer.shared_prefix is value
        assert isinstance(trainer, MagistralGRPOTrainer if algorithm == "magistral"
                          else SharedPrefixGRPOTrainer)
