"""Shared-prefix scoring: each GRPO group's prompt is forwarded once, not once per completion.

Why: a GRPO group is one prompt with G completions. TRL scores every completion with its own
copy of the prompt, so with a long few-shot prompt most of the tokens a training step forwards
(and back-propagates through) are the same prompt G times over. Here each group's prompt is run
once through the model with a key-value cache, the cache is repeated over the group's G rows
(`DynamicCache.batch_repeat_interleave`, differentiable, so the G rows' gradients sum back into
the one prompt computation) and the completions are forwarded against it with the model's own
attention. The per-token log-probs equal those of the per-sample forward up to float32
round-off, and so do the parameter gradients (tests/test_shared_prefix.py checks both, for full
and LoRA fine-tuning, left-padded prompts of different lengths and several groups).

Layout, as TRL's GRPOTrainer builds it: rows g*G .. g*G+G-1 share a prompt; prompts are
left-padded to one width P, completions right-padded to one width T. The prompt pass covers
the first P-1 prompt columns; the completion pass forwards the last prompt token followed by
the completion, T+1 tokens, so that its first output predicts the first completion token just
as the per-sample forward's position P-1 does. Position ids are the model's defaults in both
passes (the cache length plus the column), which are the ones the per-sample forward without
`position_ids` uses, so both see the same positions.

Where this cannot be exact the functions fall back to the per-sample path with one log line per
reason and process: prompts that differ within a group, a batch that is not whole groups,
right-padded or one-token prompts, a model whose cache is not a plain `DynamicCache` (sliding
windows, recurrent state), and gradient checkpointing in training mode (transformers drops
`past_key_values` inside checkpointed layers, which would silently hide the prompt).
"""

from __future__ import annotations

import logging

import torch
from torch import nn
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer
from trl.trainer.utils import entropy_from_logits, selective_log_softmax

logger = logging.getLogger(__name__)

_LOGGED_REASONS: set[str] = set()

ScoreResult = tuple[torch.Tensor, torch.Tensor | None]


def groups_share_prompts(prompt_ids: torch.Tensor, prompt_mask: torch.Tensor,
                         group_size: int) -> str | None:
    """Why the rows cannot share their group's prompt, or None when they can.

    Why: computing a prompt once is only the same objective when every row of a group has the
    very same prompt tokens, the batch is whole groups, and prompts are left-padded (the last
    column is a real token, which the completion pass feeds again).

    >>> ids = torch.tensor([[0, 5, 6], [0, 5, 6], [7, 8, 9], [7, 8, 9]])
    >>> mask = torch.tensor([[0, 1, 1], [0, 1, 1], [1, 1, 1], [1, 1, 1]])
    >>> groups_share_prompts(ids, mask, 2) is None
    True
    >>> groups_share_prompts(ids, mask, 4)
    'the prompts differ within a group'
    >>> groups_share_prompts(ids, mask, 3)
    'the batch of 4 rows is not whole groups of 3'
    """
    rows, width = prompt_ids.shape
    if group_size < 2:
        return f"group size {group_size}: no prompt is shared"
    if rows % group_size:
        return f"the batch of {rows} rows is not whole groups of {group_size}"
    if width < 2:
        return "one-token prompts: nothing to compute once"
    if not bool(prompt_mask[:, -1].all()):
        return "the prompts are not left-padded"
    ids = (prompt_ids * prompt_mask).view(-1, group_size, width)
    mask = prompt_mask.view(-1, group_size, width)
    if not (bool((ids == ids[:, :1]).all()) and bool((mask == mask[:, :1]).all())):
        return "the prompts differ within a group"
    return None


def _checkpointing_in_training(model: nn.Module) -> bool:
    """True when a layer would run under gradient checkpointing and so drop the prompt's cache."""
    return model.training and any(
        getattr(module, "gradient_checkpointing", False) is True for module in model.modules()
    )


def _log_fallback(reason: str) -> None:
    """Say once per process and reason that the per-sample path is used, and why."""
    if reason not in _LOGGED_REASONS:
        _LOGGED_REASONS.add(reason)
        logger.warning("shared prefix off, each row forwards its own prompt: %s", reason)


def _prompt_cache(model: nn.Module, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor,
                  group_size: int, position_ids: torch.Tensor | None = None
                  ) -> DynamicCache | str:
    """Forward each group's prompt but its last token once; its cache repeated over the group.

    Returns the reason instead when the model's cache is not one that the completion pass can
    extend exactly (only a `DynamicCache` of plain `DynamicLayer`s is accepted).
    """
    firsts = slice(None, None, group_size)
    kwargs = {} if position_ids is None else {"position_ids": position_ids[firsts, :-1]}
    outputs = model(input_ids=prompt_ids[firsts, :-1], attention_mask=prompt_mask[firsts, :-1],
                    use_cache=True, logits_to_keep=1, **kwargs)
    cache = getattr(outputs, "past_key_values", None)
    if not isinstance(cache, DynamicCache) or not cache.layers or any(
            type(layer) is not DynamicLayer for layer in cache.layers):
        return f"the model's cache is {type(cache).__name__}, not a DynamicCache of full layers"
    cache.batch_repeat_interleave(group_size)
    return cache


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
    completion_ids: torch.Tensor, completion_mask: torch.Tensor, group_size: int, *,
    temperature: float | None = None, compute_entropy: bool = False, fused_lm_head: bool = False,
) -> ScoreResult:
    """Per-token log-probs of the completions, each group's prompt forwarded once.

    Why: the same values and gradients as `per_sample_completion_logps` (TRL's scoring), with a
    group's prompt computed once instead of `group_size` times (see the module docstring).

    Args: `prompt_ids`/`prompt_mask` (N, P) left-padded, rows g*G..g*G+G-1 sharing a prompt;
    `completion_ids`/`completion_mask` (N, T) right-padded; `group_size` G. `fused_lm_head`:
    True when the model carries TRL's fused LM head (GRPOTrainer patches its models so), which
    then applies its own temperature (`temperature` must stay None); otherwise the logits are
    divided by `temperature` (None: 1.0). Returns (N, T) log-probs and, with `compute_entropy`,
    (N, T) entropies, both 0 where `completion_mask` is 0. Falls back to the per-sample path
    (logged once per reason) when sharing would not be exact.

    >>> grouped_completion_logps(model, p_ids, p_mask, c_ids, c_mask, 4)  # doctest: +SKIP
    (tensor([[-0.93, -2.1, ...]], grad_fn=...), None)
    """
    _check_temperature(temperature, fused_lm_head)
    reason = groups_share_prompts(prompt_ids, prompt_mask, group_size)
    if reason is None and _checkpointing_in_training(model):
        reason = "gradient checkpointing drops the prompt's cache inside checkpointed layers"
    cache = reason or _prompt_cache(model, prompt_ids, prompt_mask, group_size)
    if isinstance(cache, str):
        _log_fallback(cache)
        return per_sample_completion_logps(
            model, prompt_ids, prompt_mask, completion_ids, completion_mask,
            temperature=temperature, compute_entropy=compute_entropy, fused_lm_head=fused_lm_head)
    input_ids = torch.cat([prompt_ids[:, -1:], completion_ids], dim=1)
    attention_mask = torch.cat([prompt_mask, completion_mask], dim=1)
    return _score(model, input_ids, attention_mask, completion_ids, completion_mask, cache,
                  temperature, compute_entropy, fused_lm_head)


def _generation_positions(attention_mask: torch.Tensor) -> torch.Tensor:
    """Position ids as `generate` derives them from a left-padded mask (pads at 0)."""
    return (attention_mask.long().cumsum(-1) - 1).masked_fill(attention_mask == 0, 0)


@torch.no_grad()
def generate_grouped(model: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                     group_size: int, **generate_kwargs: object) -> torch.Tensor:
    """`model.generate` with each group's prompt prefilled once instead of `group_size` times.

    Why: the transformers sampler of GRPOTrainer receives each prompt G times and prefills every
    copy. Here the first P-1 prompt columns of each group run once, with the position ids
    `generate` itself would use; their cache is repeated over the group's rows and handed to
    `generate`, which then forwards only the last prompt token before sampling. Every row's
    next-token distributions are those of the plain call up to float32 round-off (greedy
    decoding gives the same tokens, tests/test_shared_prefix.py); sampled tokens follow the
    same distribution, not necessarily the same draws. Returns what `model.generate` returns
    for these inputs (prompt and completion ids). Falls back to the plain call, logged once per
    reason, when the rows are not whole groups of identical left-padded prompts, the generation
    config asks for another cache than the dynamic one, or for several sequences per row.

    >>> generate_grouped(model, ids, mask, 4, do_sample=True, max_new_tokens=48)  # doctest: +SKIP
    tensor([[    1,  9690, ...]])
    """
    config = generate_kwargs.get("generation_config") or getattr(model, "generation_config", None)
    reason = groups_share_prompts(input_ids, attention_mask, group_size)
    if reason is None and getattr(config, "cache_implementation", None) is not None:
        reason = f"the generation config asks for a {config.cache_implementation!r} cache"
    returns = (generate_kwargs.get("num_return_sequences")
               or getattr(config, "num_return_sequences", None) or 1)
    if reason is None and returns != 1:
        reason = "num_return_sequences > 1 expands the rows inside generate"
    cache = reason or _prompt_cache(model, input_ids, attention_mask, group_size,
                                    position_ids=_generation_positions(attention_mask))
    if isinstance(cache, str):
        _log_fallback(cache)
        return model.generate(input_ids=input_ids, attention_mask=attention_mask,
                              **generate_kwargs)
    return model.generate(input_ids=input_ids, attention_mask=attention_mask,
                          past_key_values=cache, **generate_kwargs)
