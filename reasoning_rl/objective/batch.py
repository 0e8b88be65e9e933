"""Rows of a TRL GRPO batch dict: select, stack and split them without losing their padding.

Why a module of its own: the objective reshapes TRL's batch in three ways TRL never does: it
keeps only the informative groups (`take_rows`), stacks the groups of several refill rounds
(`concat_rows`), and lays the batch out as minibatches of whole groups, each cut into its
gradient-accumulation micro-batches (`split_minibatches`). Each key must be handled by how it is
padded: prompts on the left, completions on the right, one value per row, or one per batch. A
key this module does not know stops the step (`require`) instead of being dropped silently.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
import trl

WEIGHT_KEY = "magistral_seq_weight"
# The scaffold's per-token log-probs under the hinted prompt (mu), and which rows were hinted.
SCAFFOLD_LOGPS_KEY = "scaffold_behaviour_logps"
SCAFFOLD_ROW_KEY = "scaffold_hinted"
_LEFT_PADDED = {"prompt_ids": "pad", "prompt_mask": 0}
_RIGHT_PADDED = {
    "completion_ids": "pad",
    "completion_mask": 0,
    "tool_mask": 1,
    "old_per_token_logps": 0.0,
    "sampling_per_token_logps": 0.0,
    "importance_sampling_ratio": 0.0,
    SCAFFOLD_LOGPS_KEY: 0.0,
}
_PER_ROW_1D = ("advantages", WEIGHT_KEY, SCAFFOLD_ROW_KEY)
_SCALARS = ("num_items_in_batch",)
# Model inputs TRL forwards for multimodal batches; passed through unchanged.
MODEL_KWARGS = (
    "pixel_values", "image_grid_thw", "num_images", "pixel_attention_mask", "spatial_shapes",
    "num_tiles", "image_sizes", "token_type_ids", "mm_token_type_ids", "image_position_ids",
)


def require(condition: bool, what: str) -> None:
    """Fail loudly when TRL no longer behaves as this seam assumes (e.g. after an upgrade)."""
    if not condition:
        raise RuntimeError(
            f"MagistralGRPOTrainer: TRL internals changed ({what}); pinned trl==1.16.0 is "
            f"installed as trl=={trl.__version__}. Re-check reasoning_rl/objective/."
        )


def _pad_to(t: torch.Tensor, width: int, value: float, left: bool) -> torch.Tensor:
    extra = width - t.shape[1]
    return F.pad(t, (extra, 0) if left else (0, extra), value=value) if extra else t


def concat_rows(parts: list[dict], pad_token_id: int) -> dict:
    """Stack the rows of several TRL batch dicts, re-padding prompts left and completions right.

    >>> a = {"prompt_ids": torch.tensor([[5]]), "completion_ids": torch.tensor([[1, 2]])}
    >>> b = {"prompt_ids": torch.tensor([[6, 7]]), "completion_ids": torch.tensor([[3]])}
    >>> out = concat_rows([a, b], pad_token_id=0)
    >>> out["prompt_ids"].tolist(), out["completion_ids"].tolist()
    ([[0, 5], [6, 7]], [[1, 2], [3, 0]])
    """
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
            require(False, f"unknown batch key {key!r} cannot be re-batched")
    if "completion_mask" in out:
        out["num_items_in_batch"] = (out["completion_mask"] * out.get("tool_mask", 1)).sum()
    return out


def take_rows(batch: dict, rows: torch.Tensor) -> dict:
    """Select rows of a TRL batch dict (prompts keep their left padding, completions right).

    >>> take_rows({"advantages": torch.tensor([1.0, 2.0, 3.0])}, torch.tensor([2, 0]))
    {'advantages': tensor([3., 1.])}
    """
    out = {}
    for key, value in batch.items():
        if key in _SCALARS:
            out[key] = value
        else:
            require(key in _LEFT_PADDED or key in _RIGHT_PADDED or key in _PER_ROW_1D,
                    f"unknown batch key {key!r} cannot be row-selected")
            out[key] = value[rows.to(value.device)]
    return out


def split_minibatches(batch: dict, minibatch: torch.Tensor, minibatches: int,
                      micro_batches: int) -> list[dict]:
    """The local batch as `minibatches` x `micro_batches` micro-batch dicts, in step order.

    `minibatch` (local rows,) names each row's minibatch; rows keep their order. Micro-batch j
    of minibatch m is entry m * micro_batches + j; a minibatch with fewer rows than the others
    (filtered groups dropped) gets smaller or empty micro-batches, which the loss skips.

    >>> parts = split_minibatches({"advantages": torch.arange(4.0)}, torch.tensor([0, 0, 0, 1]),
    ...                           2, 2)
    >>> [p["advantages"].tolist() for p in parts]
    [[0.0, 1.0], [2.0], [3.0], []]
    """
    out = []
    for m in range(minibatches):
        rows = torch.nonzero(minibatch == m).flatten()
        out += [take_rows(batch, chunk) for chunk in torch.tensor_split(rows, micro_batches)]
    return out
