"""Shared-prefix scoring equals the per-sample forward: log-probs, entropies and gradients.

The oracle for the trainer's path is TRL's own `GRPOTrainer._get_per_token_logps_and_entropies`
on a model carrying TRL's fused LM head (as GRPOTrainer patches it); for the plain-logits path
it is TRL's `selective_log_softmax`/`entropy_from_logits` over the concatenated sequences. The
model is the embedded SmolLM2-135M-Instruct cut to its first LAYERS decoder layers (its real
weights and SDPA attention; all 30 layers made this file take 3.5 minutes on 2 cores, and
bench/shared_prefix.py measures the full model's differences). Batches have two groups whose
prompts have different lengths (left-padded) and completions of different lengths
(right-padded).

Order independence: every test builds its own model, and the TRL reference runs in float32 by
construction, not by whatever process-wide state earlier tests left. (Once a GRPOTrainer is
built with GRPOConfig's default `bf16=True`, accelerate's process-wide AcceleratorState says
bf16, a later `Accelerator()` inherits it, and TRL's `accelerator.autocast()` ran the reference
in bfloat16: two tests here passed alone and failed after tests/rollout/test_online_stream.py.)
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from types import SimpleNamespace

import pytest
import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState, PartialState
from transformers import AutoModelForCausalLM, AutoTokenizer, DynamicCache
from trl import GRPOTrainer
from trl.trainer.utils import add_fused_lm_head, entropy_from_logits, selective_log_softmax

from reasoning_rl.model.embedded import ensure_converted
from reasoning_rl.objective import shared_prefix
from reasoning_rl.objective.shared_prefix import (
    generate_grouped,
    grouped_completion_logps,
    shared_prompts,
)

GROUP = 3
LAYERS = 2
QUESTIONS = ["What is 23 + 19? Think first, then answer in \\boxed{}.", "What is 6 * 7?"]
LOGP_TOL = {"rtol": 1e-5, "atol": 1e-4}  # log-probs ~ -10: a few float32 ulps over 30 layers
GRAD_TOL = 1e-4  # per parameter: |g_shared - g_sample| / |g_sample|


@pytest.fixture(scope="module")
def folder() -> str:
    return ensure_converted("embedded:smollm2-135m-instruct")


@pytest.fixture
def model(folder: str) -> AutoModelForCausalLM:
    """A fresh model per test: tests patch it (fused head), checkpoint it or switch its mode."""
    torch.manual_seed(0)
    return load(folder).train()


def load(folder: str) -> AutoModelForCausalLM:
    return AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32,
                                                num_hidden_layers=LAYERS)


@pytest.fixture(scope="module")
def batch(folder: str) -> dict[str, torch.Tensor]:
    """Two groups of GROUP rows: chat prompts of different lengths, random completions."""
    tokenizer = AutoTokenizer.from_pretrained(folder, padding_side="left")
    texts = [tokenizer.apply_chat_template([{"role": "user", "content": q}], tokenize=False,
                                           add_generation_prompt=True)
             for q in QUESTIONS for _ in range(GROUP)]
    prompts = tokenizer(texts, return_tensors="pt", padding=True)
    generator = torch.Generator().manual_seed(0)
    completion_ids = torch.randint(100, 40000, (len(texts), 9), generator=generator)
    lengths = torch.tensor([9, 4, 7, 1, 9, 6])  # right padding, one row of a single token
    completion_mask = (torch.arange(9) < lengths[:, None]).long()
    completion_ids = completion_ids.masked_fill(completion_mask == 0, tokenizer.pad_token_id)
    return {"prompt_ids": prompts["input_ids"], "prompt_mask": prompts["attention_mask"],
            "completion_ids": completion_ids, "completion_mask": completion_mask}


@pytest.fixture(autouse=True)
def fresh_log(monkeypatch) -> None:
    """Each test sees the fallback log line anew (it is said once per process and reason)."""
    monkeypatch.setattr(shared_prefix, "_LOGGED_REASONS", set())


@pytest.fixture
def fused(model) -> AutoModelForCausalLM:
    """The model with TRL's fused LM head, as GRPOTrainer patches it (temperature 0.7)."""
    add_fused_lm_head(model, temperature=0.7, outputs=("log_probs", "entropy"))
    return model


@pytest.fixture
def bf16_accelerator_state() -> Iterator[None]:
    """The process-wide AcceleratorState as a Trainer built with GRPOConfig's defaults leaves
    it (mixed precision bf16); the state before is restored afterwards."""
    saved = dict(AcceleratorState._shared_state), dict(PartialState._shared_state)
    AcceleratorState._reset_state(reset_partial_state=True)
    Accelerator(cpu=True, mixed_precision="bf16")
    try:
        yield
    finally:
        AcceleratorState._reset_state(reset_partial_state=True)
        AcceleratorState._shared_state.update(saved[0])
        PartialState._shared_state.update(saved[1])


def trl_reference(model, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """TRL 1.16's own per-sample scoring of the batch (the trainer's path today), in float32.

    Why a stand-in accelerator: TRL runs the forward under `self.accelerator.autocast()`, and a
    real `Accelerator()` takes its mixed precision from the process-wide state that any earlier
    Trainer set (bf16 by GRPOConfig's default), which would make this reference bfloat16.
    """
    trainer = SimpleNamespace(accelerator=SimpleNamespace(autocast=nullcontext,
                                                          is_main_process=True))
    input_ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], dim=1)
    mask = torch.cat([batch["prompt_mask"], batch["completion_mask"]], dim=1)
    logps, entropies, _ = GRPOTrainer._get_per_token_logps_and_entropies(
        trainer, model, input_ids, mask, batch["completion_ids"].size(1), compute_entropy=True)
    return logps, entropies


def logits_reference(model, batch: dict[str, torch.Tensor], temperature: float
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample scoring from plain logits, as TRL did before its fused head."""
    width = batch["completion_ids"].size(1)
    logits = model(input_ids=torch.cat([batch["prompt_ids"], batch["completion_ids"]], dim=1),
                   attention_mask=torch.cat([batch["prompt_mask"], batch["completion_mask"]], 1)
                   ).logits[:, -width - 1:-1] / temperature
    mask = batch["completion_mask"] == 0
    return (selective_log_softmax(logits, batch["completion_ids"]).masked_fill(mask, 0.0),
            entropy_from_logits(logits).masked_fill(mask, 0.0))


def prefix_lines(caplog) -> list[str]:
    """This module's log lines (caplog also holds other libraries', e.g. transformers' load)."""
    return [r.getMessage() for r in caplog.records if r.name == shared_prefix.__name__]


def gradients(model, logps: torch.Tensor, entropies: torch.Tensor) -> dict[str, torch.Tensor]:
    """Parameter gradients of a loss mixing every log-prob and entropy with fixed weights."""
    weights = torch.linspace(-1.0, 1.0, logps.numel()).view_as(logps)
    model.zero_grad(set_to_none=True)
    ((logps * weights).sum() + 0.1 * (entropies * weights.flip(0)).sum()).backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.requires_grad}
    model.zero_grad(set_to_none=True)
    return grads


def assert_same_gradients(shared: dict[str, torch.Tensor], sample: dict[str, torch.Tensor]
                          ) -> None:
    assert shared.keys() == sample.keys() and shared
    worst = max((shared[k] - sample[k]).norm() / sample[k].norm() for k in sample)
    assert worst < GRAD_TOL, f"relative gradient difference {worst:.2e}"


@contextmanager
def embedded_tokens(model) -> Iterator[list[int]]:
    """A list of how many tokens each forward inside the block embeds (to see what ran)."""
    counts: list[int] = []
    hook = model.get_input_embeddings().register_forward_hook(
        lambda module, args, out: counts.append(args[0].numel()))
    try:
        yield counts
    finally:
        hook.remove()


def test_trainer_path_matches_trl_with_fused_head(fused, batch, caplog):
    with caplog.at_level(logging.WARNING, logger=shared_prefix.__name__):
        logps, entropies = grouped_completion_logps(fused, *batch.values(),
                                                    compute_entropy=True, fused_lm_head=True)
    assert not prefix_lines(caplog)  # the shared path ran, no fallback
    ref_logps, ref_entropies = trl_reference(fused, batch)
    torch.testing.assert_close(logps, ref_logps, **LOGP_TOL)
    torch.testing.assert_close(entropies, ref_entropies, **LOGP_TOL)
    assert_same_gradients(gradients(fused, logps, entropies),
                          gradients(fused, ref_logps, ref_entropies))


def test_reference_stays_float32_after_a_bf16_trainer(fused, batch, bf16_accelerator_state):
    """The order dependence that reverted this work: the reference must not inherit bf16."""
    assert Accelerator(cpu=True).mixed_precision == "bf16"  # what an earlier test leaves behind
    with torch.no_grad():
        logps, _ = grouped_completion_logps(fused, *batch.values(), fused_lm_head=True)
        torch.testing.assert_close(logps, trl_reference(fused, batch)[0], **LOGP_TOL)


def test_logits_path_matches_per_sample_with_temperature(model, batch):
    with embedded_tokens(model) as counts:
        logps, entropies = grouped_completion_logps(model, *batch.values(),
                                                    temperature=0.7, compute_entropy=True)
    prompt_width, width = batch["prompt_ids"].size(1), batch["completion_ids"].size(1)
    # each group's prompt once (all but its last token), then last prompt token + completion
    assert counts == [2 * (prompt_width - 1), 2 * GROUP * (width + 1)]
    ref_logps, ref_entropies = logits_reference(model, batch, 0.7)
    torch.testing.assert_close(logps, ref_logps, **LOGP_TOL)
    torch.testing.assert_close(entropies, ref_entropies, **LOGP_TOL)
    assert_same_gradients(gradients(model, logps, entropies),
                          gradients(model, ref_logps, ref_entropies))


def test_lora_gradients_match(folder, batch):
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    base = load(folder)
    add_fused_lm_head(base, temperature=0.7, outputs=("log_probs", "entropy"))  # as TRL: base
    config = LoraConfig(r=8, target_modules=["q_proj", "v_proj", "up_proj"], lora_dropout=0.0,
                        init_lora_weights=False)  # B != 0, so A's gradients are not all zero
    peft_model = get_peft_model(base, config).train()
    logps, entropies = grouped_completion_logps(peft_model, *batch.values(),
                                                compute_entropy=True, fused_lm_head=True)
    ref_logps, ref_entropies = trl_reference(peft_model, batch)
    torch.testing.assert_close(logps, ref_logps, **LOGP_TOL)
    grads = gradients(peft_model, logps, entropies)
    assert all("lora_" in name for name in grads)
    assert_same_gradients(grads, gradients(peft_model, ref_logps, ref_entropies))


def test_rows_in_any_order_share_their_prompt_exactly(model, batch, caplog):
    """TRL shuffles rows across micro-batches (`algorithm: trl`): rows match by prompt tokens."""
    order = torch.tensor([4, 0, 5, 2, 1, 3])
    shuffled = {key: value[order] for key, value in batch.items()}
    with caplog.at_level(logging.WARNING, logger=shared_prefix.__name__), \
            embedded_tokens(model) as counts:
        logps, entropies = grouped_completion_logps(model, *shuffled.values(),
                                                    compute_entropy=True)
    assert not prefix_lines(caplog)
    assert counts[0] == 2 * (batch["prompt_ids"].size(1) - 1)  # two distinct prompts, once each
    ref = logits_reference(model, shuffled, 1.0)
    torch.testing.assert_close(logps, ref[0], **LOGP_TOL)
    assert_same_gradients(gradients(model, logps, entropies), gradients(model, *ref))


def test_rows_without_a_shared_prompt_fall_back_once(model, batch, caplog):
    single = {key: value[[0, GROUP]] for key, value in batch.items()}  # one row per group
    with caplog.at_level(logging.WARNING, logger=shared_prefix.__name__), torch.no_grad():
        for _ in range(2):
            logps, _ = grouped_completion_logps(model, *single.values())
    assert prefix_lines(caplog) == [
        "shared prefix off, each row forwards its own prompt: no two rows share a prompt"]
    with torch.no_grad():
        torch.testing.assert_close(logps, logits_reference(model, single, 1.0)[0], **LOGP_TOL)


def test_dropout_in_training_falls_back_and_eval_shares(folder, batch, caplog):
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32,
                                                 num_hidden_layers=LAYERS, attention_dropout=0.1)
    with caplog.at_level(logging.WARNING, logger=shared_prefix.__name__), torch.no_grad():
        grouped_completion_logps(model.train(), *batch.values())
        assert "dropout is active" in prefix_lines(caplog)[0]
        logps, _ = grouped_completion_logps(model.eval(), *batch.values())
        torch.testing.assert_close(logps, logits_reference(model, batch, 1.0)[0], **LOGP_TOL)
    assert len(prefix_lines(caplog)) == 1  # in eval mode dropout is off: shared, no new line


def test_gradient_checkpointing_shares_the_prompt_exactly(model, batch, caplog):
    """Non-reentrant checkpointing (TRL's default): shared, and the backward replays layers."""
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    attention_calls: list[int] = []
    hook = model.model.layers[0].self_attn.register_forward_hook(
        lambda module, args, out: attention_calls.append(1))
    try:
        with caplog.at_level(logging.WARNING, logger=shared_prefix.__name__), \
                embedded_tokens(model) as counts:
            logps, entropies = grouped_completion_logps(model, *batch.values(),
                                                        compute_entropy=True)
        assert not prefix_lines(caplog)
        rows, width = batch["prompt_ids"].shape
        completion_width = batch["completion_ids"].size(1)
        # each distinct prompt once (but its last token), then every row's completion
        assert counts == [2 * (width - 1), rows * (completion_width + 1)]
        forwards = len(attention_calls)
        shared_grads = gradients(model, logps, entropies)
        assert len(attention_calls) > forwards  # the backward replayed the checkpointed layer
        ref = logits_reference(model, batch, 1.0)
        torch.testing.assert_close(logps, ref[0], **LOGP_TOL)
        torch.testing.assert_close(entropies, ref[1], **LOGP_TOL)
        assert_same_gradients(shared_grads, gradients(model, *ref))
    finally:
        hook.remove()
        model.gradient_checkpointing_disable()
    assert not any("_can_checkpoint_with_cache" in vars(m) for m in model.modules())


class SettingsWrapper(torch.nn.Module):
    """Wraps a model as a DeepSpeed engine does: forwards to it, and its own `config` is a dict
    of the wrapper's settings, shadowing the model's."""

    def __init__(self, module: torch.nn.Module):
        super().__init__()
        self.module = module
        self.config = {"zero_optimization": {"stage": 2}}

    def forward(self, **kwargs):
        return self.module(**kwargs)


def test_gradient_checkpointing_through_a_wrapper_shares_exactly(model, batch, caplog):
    """The trainer scores through what accelerate prepared; the cache layout must come from the
    model inside (a DeepSpeed engine's `config` crashed the checkpointed prompt pass)."""
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    wrapper = SettingsWrapper(model).train()
    try:
        with caplog.at_level(logging.WARNING, logger=shared_prefix.__name__), \
                embedded_tokens(model) as counts:
            logps, entropies = grouped_completion_logps(wrapper, *batch.values(),
                                                        compute_entropy=True)
        assert not prefix_lines(caplog)
        rows, width = batch["prompt_ids"].shape
        assert counts == [2 * (width - 1), rows * (batch["completion_ids"].size(1) + 1)]
        ref = logits_reference(model, batch, 1.0)
        torch.testing.assert_close(logps, ref[0], **LOGP_TOL)
        torch.testing.assert_close(entropies, ref[1], **LOGP_TOL)
        assert_same_gradients(gradients(model, logps, entropies), gradients(model, *ref))
    finally:
        model.gradient_checkpointing_disable()


def test_reentrant_gradient_checkpointing_falls_back_and_stays_exact(model, batch, caplog):
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": True})
    try:
        with caplog.at_level(logging.WARNING, logger=shared_prefix.__name__):
            logps, entropies = grouped_completion_logps(model, *batch.values(),
                                                        compute_entropy=True)
        assert "reentrant gradient checkpointing" in prefix_lines(caplog)[0]
        ref = logits_reference(model, batch, 1.0)
        torch.testing.assert_close(logps, ref[0], **LOGP_TOL)
        assert_same_gradients(gradients(model, logps, entropies), gradients(model, *ref))
    finally:
        model.gradient_checkpointing_disable()


def test_a_cache_left_empty_is_refused(model, batch):
    """The last guard: a layer that dropped `past_key_values` leaves the prompt's cache empty
    (transformers' checkpointed layers do so in training mode)."""

    class DropsItsCache(torch.nn.Module):
        def forward(self, **kwargs):
            return SimpleNamespace(past_key_values=DynamicCache(config=model.config))

    shared = shared_prompts(batch["prompt_ids"], batch["prompt_mask"])
    reason = shared_prefix._prompt_cache(DropsItsCache(), batch["prompt_ids"],
                                         batch["prompt_mask"], shared)
    assert reason == "the model did not keep the prompt's keys and values in its cache"


@pytest.mark.parametrize("change, reason", [
    (lambda ids, mask: (ids[2:4], mask[2:4]), "no two rows share a prompt"),
    (lambda ids, mask: (ids.flip(1), mask.flip(1)), "the prompts are not left-padded"),
    (lambda ids, mask: (ids[:, -1:], mask[:, -1:]), "one-token prompts: nothing to compute once"),
])
def test_layouts_that_cannot_share_are_named(batch, change, reason):
    shared = shared_prompts(batch["prompt_ids"], batch["prompt_mask"])
    assert shared.firsts.tolist() == [0, GROUP]
    assert shared.of_row.tolist() == [0] * GROUP + [1] * GROUP
    assert shared_prompts(*change(batch["prompt_ids"], batch["prompt_mask"])) == reason


def test_fused_head_refuses_a_second_temperature(model, batch):
    with pytest.raises(ValueError, match="patched with"):
        grouped_completion_logps(model, *batch.values(), temperature=0.7,
                                 fused_lm_head=True)


def test_generate_grouped_prefills_once_and_decodes_the_same(model, batch, caplog):
    model.eval()
    try:
        ids, mask = batch["prompt_ids"], batch["prompt_mask"]
        options = {"do_sample": False, "max_new_tokens": 6, "return_dict_in_generate": True,
                   "output_logits": True, "pad_token_id": 0}
        plain = model.generate(input_ids=ids, attention_mask=mask, **options)
        with caplog.at_level(logging.WARNING, logger=shared_prefix.__name__), \
                embedded_tokens(model) as counts:
            grouped = generate_grouped(model, ids, mask, **options)
        assert not prefix_lines(caplog)
        assert counts[:2] == [2 * (ids.size(1) - 1), 2 * GROUP]  # prompts once, last token each
        assert torch.equal(grouped.sequences, plain.sequences)
        for step_grouped, step_plain in zip(grouped.logits, plain.logits, strict=True):
            torch.testing.assert_close(step_grouped, step_plain, **LOGP_TOL)
    finally:
        model.train()


def tiny_gemma3(sliding_window: int) -> AutoModelForCausalLM:
    """A tiny random Gemma 3: sliding-window layers around a full one, as Gemma 3 lays them."""
    from transformers import Gemma3TextConfig

    torch.manual_seed(0)
    config = Gemma3TextConfig(vocab_size=49152, hidden_size=32, intermediate_size=64,
                              num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2,
                              head_dim=8, query_pre_attn_scalar=8, sliding_window=sliding_window,
                              layer_types=["sliding_attention", "full_attention",
                                           "sliding_attention"])
    return AutoModelForCausalLM.from_config(config).train()


def sliding_window_for(batch: dict[str, torch.Tensor], where: str) -> int:
    """A window beyond prompt and completion, one that ends inside the completions, or one
    shorter than the prompt."""
    prompt, completion = batch["prompt_ids"].size(1), batch["completion_ids"].size(1)
    return {"beyond": prompt + completion + 4, "inside": prompt + completion // 2,
            "short": prompt // 2}[where]


@pytest.mark.parametrize("where", ["beyond", "inside"])
def test_sliding_window_layers_share_the_prompt_exactly(batch, where, caplog):
    """Gemma 3's cache mixes sliding-window and full layers; a prompt inside the window is
    shared, with log-probs, entropies and gradients equal to the per-sample forward's, also
    where the window ends inside the completions (its mask then hides the prompt's start)."""
    model = tiny_gemma3(sliding_window_for(batch, where))
    reference = logits_reference(model, batch, 0.7)
    expected = gradients(model, *reference)
    with caplog.at_level(logging.WARNING, logger=shared_prefix.__name__), \
            embedded_tokens(model) as counts:
        logps, entropies = grouped_completion_logps(model, *batch.values(), temperature=0.7,
                                                    compute_entropy=True)
    assert not prefix_lines(caplog)
    assert counts[0] == 2 * (batch["prompt_ids"].size(1) - 1)  # each prompt once
    torch.testing.assert_close(logps, reference[0], **LOGP_TOL)
    torch.testing.assert_close(entropies, reference[1], **LOGP_TOL)
    assert_same_gradients(gradients(model, logps, entropies), expected)


def test_a_prompt_longer_than_the_sliding_window_falls_back(batch, caplog):
    model = tiny_gemma3(sliding_window_for(batch, "short"))
    with caplog.at_level(logging.WARNING, logger=shared_prefix.__name__), torch.no_grad():
        logps, _ = grouped_completion_logps(model, *batch.values())
        reference = logits_reference(model, batch, 1.0)[0]
    assert "longer than the model's sliding window" in prefix_lines(caplog)[0]
    torch.testing.assert_close(logps, reference, **LOGP_TOL)


@pytest.mark.parametrize("where", ["beyond", "short"])
def test_generate_grouped_with_sliding_window_layers_decodes_the_same(batch, where, caplog):
    model = tiny_gemma3(sliding_window_for(batch, where)).eval()
    ids, mask = batch["prompt_ids"], batch["prompt_mask"]
    options = {"do_sample": False, "max_new_tokens": 6, "return_dict_in_generate": True,
               "output_logits": True, "pad_token_id": 0}
    plain = model.generate(input_ids=ids, attention_mask=mask, **options)
    with caplog.at_level(logging.WARNING, logger=shared_prefix.__name__):
        grouped = generate_grouped(model, ids, mask, **options)
    assert bool(prefix_lines(caplog)) == (where == "short")
    assert torch.equal(grouped.sequences, plain.sequences)
    for step_grouped, step_plain in zip(grouped.logits, plain.logits, strict=True):
        torch.testing.assert_close(step_grouped, step_plain, **LOGP_TOL)


def test_sliding_window_layers_under_checkpointing_fall_back_exactly(batch, caplog):
    """The replay-safe caches of checkpointing are full-attention layers only: a sliding-window
    model then forwards each row's prompt, and says so."""
    model = tiny_gemma3(sliding_window_for(batch, "beyond"))
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    with caplog.at_level(logging.WARNING, logger=shared_prefix.__name__):
        logps, entropies = grouped_completion_logps(model, *batch.values(),
                                                    compute_entropy=True)
    assert "layers other than full-attention" in prefix_lines(caplog)[0]
    reference = logits_reference(model, batch, 1.0)
    torch.testing.assert_close(logps, reference[0], **LOGP_TOL)
    assert_same_gradients(gradients(model, logps, entropies), gradients(model, *reference))
