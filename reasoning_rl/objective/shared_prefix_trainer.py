"""Shared-prefix scoring and prefill inside TRL's GRPOTrainer, for both algorithms.

Why one mixin: `algorithm: magistral` (`MagistralGRPOTrainer`) and `algorithm: trl` (TRL's own
GRPOTrainer, as `SharedPrefixGRPOTrainer`) score completions through the same TRL method,
`_get_per_token_logps_and_entropies`: the loss forward with its backward, the behaviour (old)
log-probs when a batch spans several optimizer steps or vLLM's correction needs them, the
reference log-probs when beta > 0, and the scaffold's behaviour log-probs. Overriding it once
routes every one of them through `grouped_completion_logps`, which computes each distinct
prompt of the batch once and falls back to the per-sample forward, with one log line, where
that would not be exact (reasons in `reasoning_rl/objective/shared_prefix.py`). The
transformers sampler gets the same treatment in `_generate_single_turn` (vLLM's prefix cache
already does it for vLLM). The recipe key `model.shared_prefix` defaults to true; the
constructor's `shared_prefix=False` (its default) leaves TRL's own paths untouched.

What stays TRL's: the chunking by `batch_size`, the fused LM head (patched by TRL with the
sampling temperature; the shared path calls it the same way) and the accelerator's autocast,
entered here around each chunk as TRL does, so mixed precision is the same in both paths.
Multimodal inputs and MoE auxiliary losses go to TRL's method unchanged.
"""

from __future__ import annotations

import torch
import trl
from trl.extras.profiling import profiling_context

from reasoning_rl.objective.batch import require
from reasoning_rl.objective.shared_prefix import (
    grouped_completion_logps,
    note_fallback,
    shared_prefill,
)

# The TRL methods overridden here; checked at construction so that an upgrade renaming one
# fails loudly instead of silently scoring every completion with its own prompt again.
_TRL_HOOKS = ("_get_per_token_logps_and_entropies", "_generate_single_turn")
_SCORE = "_get_per_token_logps_and_entropies"


class SharedPrefixMixin:
    """GRPOTrainer methods that compute each distinct prompt of a batch once (see module doc).

    Mix in before `trl.GRPOTrainer`. Adds the constructor keyword `shared_prefix` (default
    False for direct use; the recipe key `model.shared_prefix` defaults to true and passes it).

    >>> class Trainer(SharedPrefixMixin, trl.GRPOTrainer): ...  # doctest: +SKIP
    >>> Trainer(model=..., args=..., reward_funcs=..., shared_prefix=True)  # doctest: +SKIP
    """

    def __init__(self, *args, shared_prefix: bool = False, **kwargs):
        missing = [name for name in _TRL_HOOKS if not hasattr(trl.GRPOTrainer, name)]
        require(not missing, f"GRPOTrainer lacks {missing}")
        self.shared_prefix = shared_prefix
        super().__init__(*args, **kwargs)

    def _get_per_token_logps_and_entropies(self, model, input_ids, attention_mask,
                                           logits_to_keep, batch_size=None,
                                           compute_entropy=False, compute_aux_loss=False,
                                           **model_kwargs):
        """TRL's scoring, each distinct prompt forwarded once; same returns as TRL's."""
        reason = _scoring_problem(compute_aux_loss, model_kwargs)
        if not self.shared_prefix or reason is not None or input_ids.size(0) == 0:
            if self.shared_prefix and reason is not None:
                note_fallback(reason)
            return super()._get_per_token_logps_and_entropies(
                model, input_ids, attention_mask, logits_to_keep, batch_size=batch_size,
                compute_entropy=compute_entropy, compute_aux_loss=compute_aux_loss,
                **model_kwargs)
        prompt, completion = input_ids[:, :-logits_to_keep], input_ids[:, -logits_to_keep:]
        prompt_mask = attention_mask[:, :-logits_to_keep]
        completion_mask = attention_mask[:, -logits_to_keep:]
        size = batch_size or input_ids.size(0)  # TRL's chunks, to keep its memory peak
        logps, entropies = [], []
        with profiling_context(self, _SCORE):
            for start in range(0, input_ids.size(0), size):
                rows = slice(start, start + size)
                with self.accelerator.autocast():
                    chunk = grouped_completion_logps(
                        model, prompt[rows], prompt_mask[rows], completion[rows],
                        completion_mask[rows], compute_entropy=compute_entropy,
                        fused_lm_head=True)
                logps.append(chunk[0])
                entropies.append(chunk[1])
        return (torch.cat(logps), torch.cat(entropies) if compute_entropy else None, None)

    def _generate_single_turn(self, prompt_ids, images, multimodal_fields, num_generations,
                              has_tool_images=False):
        """TRL's sampling; on the transformers `generate` path, each prompt prefilled once."""
        plain = (not self.shared_prefix or self.use_vllm
                 or self.use_transformers_continuous_batching
                 or images is not None or bool(multimodal_fields))
        if plain:
            return super()._generate_single_turn(prompt_ids, images, multimodal_fields,
                                                 num_generations, has_tool_images)
        with shared_prefill(self.accelerator.unwrap_model(self.model_wrapped)):
            return super()._generate_single_turn(prompt_ids, images, multimodal_fields,
                                                 num_generations, has_tool_images)


def _scoring_problem(compute_aux_loss: bool, model_kwargs: dict) -> str | None:
    """Why TRL's own scoring must run for this call (inputs the shared path does not pass on).

    >>> _scoring_problem(False, {"pixel_values": None}) is None
    True
    >>> _scoring_problem(True, {})
    'the MoE auxiliary loss is requested'
    """
    if compute_aux_loss:
        return "the MoE auxiliary loss is requested"
    given = sorted(key for key, value in model_kwargs.items() if value is not None)
    return f"multimodal inputs ({', '.join(given)})" if given else None


class SharedPrefixGRPOTrainer(SharedPrefixMixin, trl.GRPOTrainer):
    """`algorithm: trl`: TRL's GRPOTrainer, its objective unchanged, with shared-prefix scoring.

    >>> SharedPrefixGRPOTrainer(model=..., args=..., reward_funcs=...)  # doctest: +SKIP
    """
