"""Shared-prefix scoring: each GRPO group's prompt is forwarded once, not once per completion.

Why: a GRPO group is one prompt with G completions. TRL scores every completion with its own
copy of the prompt, so with a long few-shot prompt most of the tokens a training step forwards
(and back-propagates through) are the same prompt G times over. Here each distinct prompt of a
batch is run once through the model with a key-value cache, the cache is gathered out to the
rows that share it (`DynamicCache.batch_select_indices`, an index, so differentiable: the rows'
gradients sum back into the one prompt computation) and the completions are forwarded against
it with the model's own attention. The per-token log-probs equal those of the per-sample
forward up to float32 round-off, and so do the parameter gradients
(tests/objective/test_shared_prefix.py checks both, for full and LoRA fine-tuning, left-padded
prompts of different lengths and several groups; tests/objective/test_shared_prefix_trainer.py
through the trainers).

Rows may come in any order: TRL lays a generated batch out as groups of G consecutive rows but
shuffles rows across the micro-batches of `algorithm: trl`, and a micro-batch may hold part of
a group; rows are matched by their prompt tokens, not by position. Prompts are left-padded to one
width P, completions right-padded to one width T. The prompt pass covers the first P-1 prompt
columns; the completion pass forwards the last prompt token followed by the completion, T+1
tokens, so that its first output predicts the first completion token just as the per-sample
forward's position P-1 does. Position ids are the model's defaults in both passes (the cache
length plus the column), which are the ones the per-sample forward without `position_ids` uses.

Where this cannot be exact the functions fall back to the per-sample path with one log line per
reason and process: right-padded or one-token prompts, a batch where no two rows share a prompt
(nothing to save), a model whose cache is not a `DynamicCache` of full or sliding-window layers
(recurrent state), a prompt longer than a sliding window, a model that did not fill the cache,
reentrant gradient checkpointing in training mode
(`use_reentrant: true` replays each layer's forward without autograd history, so the prompt's
keys would reach the completions without their gradient), and active dropout in training mode
(the per-sample path draws a dropout mask per copy of the prompt; one shared copy would share
one mask).

Gradient checkpointing (non-reentrant, TRL's default) is supported: transformers drops
`past_key_values` inside checkpointed layers because a layer that writes to the cache would
write a second time when the backward pass replays it. Under checkpointing both passes get
caches whose writes are replay-safe (`_ReplaySafeLayer`: the prompt pass sets its keys, so a
replay sets the same ones again; `_ReadOnlyPrefixLayer`: the completion pass reads the prompt's
keys and stores nothing), and the layers are told to keep the cache for those two forwards
(transformers' `_can_checkpoint_with_cache`, its flag for layers that only read the cache).
The replayed layers then see exactly what the first forward saw, so gradients are the same.
The model scored may be what accelerate prepared, such as a DeepSpeed engine, whose own `config`
is its DeepSpeed settings: the replay-safe cache takes its layout from the transformers model
inside (tests/test_deepspeed_cpu.py checks a ZeRO-2 engine against the plain model).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn
from transformers import DynamicCache, PreTrainedModel
from transformers.cache_utils import DynamicLayer, DynamicSlidingWindowLayer
from transformers.modeling_layers import GradientCheckpointingLayer
from trl.trainer.utils import entropy_from_logits, selective_log_softmax

from reasoning_rl.rollout import trl_patches

logger = logging.getLogger(__name__)

_LOGGED_REASONS: set[str] = set()

ScoreResult = tuple[torch.Tensor, torch.Tensor | None]


@dataclass(frozen=True)
class SharedPrompts:
    """Which rows share a prompt: `firsts` (U,) one row per distinct prompt, in order of first
    appearance; `of_row` (N,) each row's index into `firsts`."""

    firsts: torch.Tensor
    of_row: torch.Tensor


def shared_prompts(prompt_ids: torch.Tensor, prompt_mask: torch.Tensor) -> SharedPrompts | str:
    """The distinct prompts of a batch, or why computing each once would not be exact or useful.

    Why: a prompt computed once is only the same objective for rows whose prompt tokens and
    padding are the very same, and only when prompts are left-padded (the last column is a real
    token, which the completion pass feeds again). Rows may share in any order.

    >>> ids = torch.tensor([[0, 5, 6], [7, 8, 9], [0, 5, 6], [7, 8, 9]])
    >>> mask = torch.tensor([[0, 1, 1], [1, 1, 1], [0, 1, 1], [1, 1, 1]])
    >>> shared = shared_prompts(ids, mask)
    >>> shared.firsts.tolist(), shared.of_row.tolist()
    ([0, 1], [0, 1, 0, 1])
    >>> shared_prompts(ids[:2], mask[:2])
    'no two rows share a prompt'
    >>> shared_prompts(ids.flip(1), mask.flip(1))
    'the prompts are not left-padded'
    """
    rows, width = prompt_ids.shape
    if width < 2:
        return "one-token prompts: nothing to compute once"
    if rows and not bool(prompt_mask[:, -1].all()):
        return "the prompts are not left-padded"
    key = torch.cat([prompt_ids * prompt_mask, prompt_mask], dim=1)
    _, inverse = torch.unique(key, dim=0, return_inverse=True)
    distinct = int(inverse.max()) + 1 if rows else 0
    if distinct == rows:
        return "no two rows share a prompt"
    index = torch.arange(rows, device=inverse.device)
    firsts = torch.full((distinct,), rows, device=inverse.device).scatter_reduce(
        0, inverse, index, reduce="amin")
    order = firsts.argsort()  # distinct prompts in order of first appearance, as the groups are
    rank = torch.empty_like(order)
    rank[order] = torch.arange(distinct, device=order.device)
    return SharedPrompts(firsts[order], rank[inverse])


def _checkpointed_layers(model: nn.Module) -> list[nn.Module]:
    """The layers transformers checkpoints in this forward (training mode only)."""
    if not model.training:
        return []
    return [m for m in model.modules() if isinstance(m, GradientCheckpointingLayer)
            and getattr(m, "gradient_checkpointing", False) is True]


def _training_hazard(model: nn.Module, scoring: bool = True) -> str | None:
    """Why a training-mode forward of `model` cannot share a prompt exactly, or None.

    Gradient checkpointing: scoring handles the non-reentrant kind (module docstring);
    generation never does (its cache grows each step, which a checkpointed layer drops).
    Dropout: the per-sample path draws one mask per copy of the prompt.
    """
    if not model.training:
        return None
    modules = list(model.modules())
    checkpointed = _checkpointed_layers(model)
    if checkpointed and not scoring:
        return "gradient checkpointing drops the prompt's cache inside checkpointed layers"
    for layer in checkpointed:
        options = getattr(getattr(layer, "_gradient_checkpointing_func", None), "keywords", {})
        if options.get("use_reentrant") is not False:
            return ("reentrant gradient checkpointing (use_reentrant not false) replays layers "
                    "without the prompt's gradient")
    for m in modules:
        rate = m.p if isinstance(m, nn.Dropout) else getattr(m, "attention_dropout", 0.0)
        if m.training and isinstance(rate, int | float) and rate > 0:
            return "dropout is active in training mode (one shared prompt would share its mask)"
    return None


def note_fallback(reason: str) -> None:
    """Say once per process and reason that the per-sample path is used, and why."""
    if reason not in _LOGGED_REASONS:
        _LOGGED_REASONS.add(reason)
        logger.warning("shared prefix off, each row forwards its own prompt: %s", reason)


def _prompt_cache(model: nn.Module, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor,
                  shared: SharedPrompts, position_ids: torch.Tensor | None = None
                  ) -> DynamicCache | str:
    """Forward each distinct prompt but its last token once; its cache gathered out to its rows.

    Returns the reason instead when the model's cache is not one that the completion pass can
    extend exactly: only a `DynamicCache` of `DynamicLayer`s and `DynamicSlidingWindowLayer`s,
    each holding every prompt column (a layer that dropped the cache leaves it empty). Why
    sliding layers qualify: one that holds the whole prompt (shorter than the window) gives the
    completion pass every prompt key, and the model's sliding mask, computed from the cache's
    length, hides the same keys from each completion token as in the per-sample forward
    (Gemma 3 alternates five sliding layers with one full one).
    """
    firsts = shared.firsts
    kwargs = {} if position_ids is None else {"position_ids": position_ids[firsts, :-1]}
    if _checkpointed_layers(model):
        return _checkpointed_prompt_cache(model, prompt_ids, prompt_mask, shared, kwargs)
    outputs = model(input_ids=prompt_ids[firsts, :-1], attention_mask=prompt_mask[firsts, :-1],
                    use_cache=True, logits_to_keep=1, **kwargs)
    cache = getattr(outputs, "past_key_values", None)
    if not isinstance(cache, DynamicCache) or not cache.layers or any(
            type(layer) not in (DynamicLayer, DynamicSlidingWindowLayer) for layer in cache.layers):
        return (f"the model's cache is {type(cache).__name__}, not a DynamicCache of full or "
                "sliding-window layers")
    if any(layer.get_seq_length() != prompt_ids.size(1) - 1 for layer in cache.layers):
        return "the model did not keep the prompt's keys and values in its cache"
    if any(layer.keys.size(-2) != prompt_ids.size(1) - 1 for layer in cache.layers):
        return "a prompt is longer than the model's sliding window, whose cache drops its start"
    cache.batch_select_indices(shared.of_row)
    return cache


class _ReplaySafeLayer(DynamicLayer):
    """A prompt-pass cache layer under checkpointing: a replay sets the same keys again."""

    def update(self, key_states, value_states, cache_kwargs=None):
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        self.keys, self.values = key_states, value_states
        return key_states, value_states


class _ReadOnlyPrefixLayer(DynamicLayer):
    """A completion-pass cache layer under checkpointing: the prompt's keys, then the
    completion's, and nothing stored, so a replay reads what the first forward read."""

    def __init__(self, keys: torch.Tensor, values: torch.Tensor):
        super().__init__()
        self.lazy_initialization(keys, values)
        self.keys, self.values = keys, values

    def update(self, key_states, value_states, cache_kwargs=None):
        return (torch.cat([self.keys, key_states], dim=-2),
                torch.cat([self.values, value_states], dim=-2))


def _model_config(model: nn.Module) -> object | None:
    """The config of the transformers model in `model`, wrapped or not, or None.

    Why not `model.config`: the trainer scores through what accelerate prepared, and a
    DeepSpeed engine's own `config` is its DeepSpeed settings (a dict), shadowing the model's;
    DDP has none. The outermost `PreTrainedModel` (also inside a PEFT model) holds the one the
    cache layout comes from.

    >>> _model_config(nn.Sequential(nn.Linear(2, 2))) is None  # no transformers model inside
    True
    """
    return next((m.config for m in model.modules() if isinstance(m, PreTrainedModel)), None)


@contextmanager
def _cache_through_checkpoints(model: nn.Module) -> Iterator[None]:
    """Let checkpointed layers keep the (replay-safe) cache for the forwards inside."""
    layers = _checkpointed_layers(model)
    for layer in layers:
        layer._can_checkpoint_with_cache = True
    try:
        yield
    finally:
        for layer in layers:
            layer.__dict__.pop("_can_checkpoint_with_cache", None)


def _checkpointed_prompt_cache(model: nn.Module, prompt_ids: torch.Tensor,
                               prompt_mask: torch.Tensor, shared: SharedPrompts,
                               kwargs: dict) -> DynamicCache | str:
    """`_prompt_cache` under gradient checkpointing, with replay-safe cache layers."""
    config = _model_config(model)
    if config is None:
        return "no transformers model inside the wrapper to read the cache layout from"
    plain = DynamicCache(config=config).layers
    if not plain or any(type(layer) is not DynamicLayer for layer in plain):
        return "the model's cache has layers other than full-attention DynamicLayers"
    cache = DynamicCache()
    cache.layers = [_ReplaySafeLayer() for _ in plain]
    firsts = shared.firsts
    with _cache_through_checkpoints(model):
        model(input_ids=prompt_ids[firsts, :-1], attention_mask=prompt_mask[firsts, :-1],
              past_key_values=cache, use_cache=False, logits_to_keep=1, **kwargs)
    if any(layer.get_seq_length() != prompt_ids.size(1) - 1 for layer in cache.layers):
        return "the model did not keep the prompt's keys and values in its cache"
    rows = DynamicCache()
    rows.layers = [_ReadOnlyPrefixLayer(layer.keys[shared.of_row], layer.values[shared.of_row])
                   for layer in cache.layers]
    return rows


def _score(model: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor,
           completion_ids: torch.Tensor, completion_mask: torch.Tensor,
           cache: DynamicCache | None, temperature: float | None, compute_entropy: bool,
           fused_lm_head: bool) -> ScoreResult:
    """Log-probs (and entropies) of the last T tokens of `input_ids`, masked positions 0.

    Why two ways: under GRPOTrainer the model carries TRL's fused LM head, which scores without
    materialising the (rows, T, vocab) logits and applies the temperature it was patched with;
    a plain model gives logits, divided here by `temperature` as TRL's head does.
    """
    width = completion_ids.size(1)
    mask = completion_mask.bool()
    if fused_lm_head:
        labels = torch.full_like(input_ids, -100)
        labels[:, -width:] = completion_ids.masked_fill(~mask, -100)
        outputs = model(input_ids=input_ids, attention_mask=attention_mask, past_key_values=cache,
                        labels=labels, fused_lm_head=True)
        logps = outputs.log_probs[:, -width:]
        entropies = outputs.entropy[:, -width:] if compute_entropy else None
        if compute_entropy and entropies is None:
            raise ValueError("the model's fused LM head was patched without the entropy output")
        return logps, entropies
    outputs = model(input_ids=input_ids, attention_mask=attention_mask, past_key_values=cache,
                    use_cache=cache is not None, logits_to_keep=width + 1)
    logits = outputs.logits[:, :-1] / (1.0 if temperature is None else temperature)
    logps = selective_log_softmax(logits, completion_ids).masked_fill(~mask, 0.0)
    entropies = None
    if compute_entropy:
        entropies = entropy_from_logits(logits).masked_fill(~mask, 0.0)
    return logps, entropies


def per_sample_completion_logps(
    model: nn.Module, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor,
    completion_ids: torch.Tensor, completion_mask: torch.Tensor, *,
    temperature: float | None = None, compute_entropy: bool = False, fused_lm_head: bool = False,
) -> ScoreResult:
    """Today's path: each row forwards its own copy of the prompt, then its completion.

    Why kept: it is the fallback of `grouped_completion_logps` and the reference it must equal.
    Same contract as `grouped_completion_logps`, without the group layout requirement.
    """
    _check_temperature(temperature, fused_lm_head)
    input_ids = torch.cat([prompt_ids, completion_ids], dim=1)
    attention_mask = torch.cat([prompt_mask, completion_mask], dim=1)
    return _score(model, input_ids, attention_mask, completion_ids, completion_mask, None,
                  temperature, compute_entropy, fused_lm_head)


def _check_temperature(temperature: float | None, fused_lm_head: bool) -> None:
    """Refuse a temperature the fused head would silently ignore (it applies its own)."""
    if fused_lm_head and temperature is not None:
        raise ValueError("with fused_lm_head=True the head applies the temperature it was "
                         "patched with (trl.trainer.utils.add_fused_lm_head); pass None")
    if temperature is not None and temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")


def grouped_completion_logps(
    model: nn.Module, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor,
    completion_ids: torch.Tensor, completion_mask: torch.Tensor, *,
    temperature: float | None = None, compute_entropy: bool = False, fused_lm_head: bool = False,
) -> ScoreResult:
    """Per-token log-probs of the completions, each distinct prompt forwarded once.

    Why: the same values and gradients as `per_sample_completion_logps` (TRL's scoring), with a
    group's prompt computed once instead of once per completion (see the module docstring).

    Args: `prompt_ids`/`prompt_mask` (N, P) left-padded, rows sharing a prompt in any order;
    `completion_ids`/`completion_mask` (N, T) right-padded. `fused_lm_head`: True when the
    model carries TRL's fused LM head (GRPOTrainer patches its models so), which then applies
    its own temperature (`temperature` must stay None); otherwise the logits are divided by
    `temperature` (None: 1.0). Returns (N, T) log-probs and, with `compute_entropy`, (N, T)
    entropies, both 0 where `completion_mask` is 0. Falls back to the per-sample path (logged
    once per reason) when sharing would not be exact.

    >>> grouped_completion_logps(model, p_ids, p_mask, c_ids, c_mask)  # doctest: +SKIP
    (tensor([[-0.93, -2.1, ...]], grad_fn=...), None)
    """
    _check_temperature(temperature, fused_lm_head)
    shared = _training_hazard(model) or shared_prompts(prompt_ids, prompt_mask)
    cache = shared if isinstance(shared, str) else _prompt_cache(model, prompt_ids, prompt_mask,
                                                                 shared)
    if isinstance(cache, str):
        note_fallback(cache)
        return per_sample_completion_logps(
            model, prompt_ids, prompt_mask, completion_ids, completion_mask,
            temperature=temperature, compute_entropy=compute_entropy, fused_lm_head=fused_lm_head)
    input_ids = torch.cat([prompt_ids[:, -1:], completion_ids], dim=1)
    attention_mask = torch.cat([prompt_mask, completion_mask], dim=1)
    with _cache_through_checkpoints(model):
        return _score(model, input_ids, attention_mask, completion_ids, completion_mask, cache,
                      temperature, compute_entropy, fused_lm_head)


def _generation_positions(attention_mask: torch.Tensor) -> torch.Tensor:
    """Position ids as `generate` derives them from a left-padded mask (pads at 0)."""
    return (attention_mask.long().cumsum(-1) - 1).masked_fill(attention_mask == 0, 0)


def _generation_problem(model: nn.Module, generate_kwargs: dict) -> str | None:
    """Why `generate` with these options cannot take a shared prompt cache, or None."""
    config = generate_kwargs.get("generation_config") or getattr(model, "generation_config", None)
    if getattr(config, "cache_implementation", None) is not None:
        return f"the generation config asks for a {config.cache_implementation!r} cache"
    returns = (generate_kwargs.get("num_return_sequences")
               or getattr(config, "num_return_sequences", None) or 1)
    if returns != 1:
        return "num_return_sequences > 1 expands the rows inside generate"
    if generate_kwargs.get("past_key_values") is not None:
        return "the caller passed its own past_key_values"
    return _training_hazard(model, scoring=False)


@torch.no_grad()
def generate_grouped(model: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor, *,
                     generate_fn: Callable[..., object] | None = None,
                     **generate_kwargs: object) -> object:
    """`model.generate` with each distinct prompt prefilled once instead of once per row.

    Why: the transformers sampler of GRPOTrainer receives each prompt G times and prefills every
    copy. Here the first P-1 prompt columns of each distinct prompt run once, with the position
    ids `generate` itself would use; their cache is gathered out to the rows and handed to
    `generate`, which then forwards only the last prompt token before sampling. Every row's
    next-token distributions are those of the plain call up to float32 round-off (greedy
    decoding gives the same tokens, tests/objective/test_shared_prefix.py); sampled tokens
    follow the same distribution, not necessarily the same draws. `generate_fn` is the generate
    to call (default `model.generate`; the trainer passes the original while it patches the
    method).
    Returns what it returns for these inputs. Falls back to the plain call, logged once per
    reason, when no two rows share a left-padded prompt, the generation config asks for another
    cache than the dynamic one or for several sequences per row.

    >>> generate_grouped(model, ids, mask, do_sample=True, max_new_tokens=48)  # doctest: +SKIP
    tensor([[    1,  9690, ...]])
    """
    generate = generate_fn or model.generate
    shared = (_generation_problem(model, generate_kwargs)
              or shared_prompts(input_ids, attention_mask))
    cache = shared if isinstance(shared, str) else _prompt_cache(
        model, input_ids, attention_mask, shared,
        position_ids=_generation_positions(attention_mask))
    if isinstance(cache, str):
        note_fallback(cache)
        return generate(input_ids=input_ids, attention_mask=attention_mask, **generate_kwargs)
    return generate(input_ids=input_ids, attention_mask=attention_mask, past_key_values=cache,
                    **generate_kwargs)


@contextmanager
def shared_prefill(model: nn.Module) -> Iterator[None]:
    """While open, `model.generate(input_ids=..., attention_mask=...)` is `generate_grouped`.

    Why a temporary patch: TRL's transformers sampler calls `generate` on the unwrapped model
    deep inside `GRPOTrainer._generate_single_turn`, with no seam for a prompt cache; patching
    the instance for the length of that call (and restoring what was there) leaves every other
    caller, such as evaluation, untouched. Calls without both tensors as keywords pass through.

    >>> with shared_prefill(model):  # doctest: +SKIP
    ...     model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=48)
    """
    original = model.generate

    def generate(*args: object, **kwargs: object) -> object:
        ids, mask = kwargs.get("input_ids"), kwargs.get("attention_mask")
        if args or ids is None or mask is None:
            return original(*args, **kwargs)
        rest = {k: v for k, v in kwargs.items() if k not in ("input_ids", "attention_mask")}
        return generate_grouped(model, ids, mask, generate_fn=original, **rest)

    with trl_patches.policy_generate(model, generate):
        yield
