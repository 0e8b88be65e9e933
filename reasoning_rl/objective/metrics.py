"""What the objective logs per batch and per loss micro-batch, under TRL's metric dict.

Why a module of its own: the trainer decides what to train on; these functions only describe it
(docs/algorithm.md, "Metrics"), so they read plain tensors and counts and append to `metrics`,
TRL's `{name: [values]}` for the current mode, which TRL averages at each log.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from reasoning_rl.objective.loss import clip_fractions


def log_batch(metrics: dict, *, drawn_groups: int, kept_groups: int, group_size: int,
              refill_rounds: int, adv_raw: torch.Tensor, hinted_kept: torch.Tensor,
              plain_kept: torch.Tensor, scaffold: bool, drawn_tokens: float,
              seconds: float) -> None:
    """The group filter, refill and raw-advantage metrics of one generated batch."""
    metrics["magistral/filtered_group_frac"].append(1.0 - kept_groups / drawn_groups)
    metrics["magistral/kept_groups"].append(float(kept_groups))
    metrics["magistral/refill_rounds"].append(float(refill_rounds))
    if kept_groups:
        metrics["magistral/generations_per_kept_group"].append(
            drawn_groups * group_size / kept_groups)
    kept_adv = adv_raw[hinted_kept | plain_kept]
    if kept_adv.numel() > 1:
        metrics["magistral/adv_mean_raw"].append(kept_adv.mean().item())
        metrics["magistral/adv_std_raw"].append(kept_adv.std().item())
    if scaffold:
        # Hinted groups score higher and spread wider than plain ones while the model cannot
        # yet write the format alone; logged apart so the two can be compared.
        for name, rows in (("hinted", hinted_kept), ("plain", plain_kept)):
            if rows.any():
                metrics[f"scaffold/adv_abs_mean_raw_{name}"].append(
                    adv_raw[rows].abs().mean().item())
            metrics[f"scaffold/kept_rows_{name}"].append(float(rows.sum()))
    metrics["magistral/gen_tokens_per_s"].append(drawn_tokens / max(seconds, 1e-9))


def log_loss(metrics: dict, reduce_sum: Callable[[torch.Tensor], torch.Tensor],
             ratio: torch.Tensor, advantages: torch.Tensor, active: torch.Tensor,
             entropies: torch.Tensor, eps_low: float, eps_high: float) -> None:
    """TRL's own metric names, over the tokens that enter our loss only, summed over ranks."""
    low, high = clip_fractions(ratio, advantages, active, eps_low, eps_high)
    count = active.sum().float()
    totals = reduce_sum(torch.stack([(entropies * active).sum(), low * count, high * count,
                                     count]))
    denominator = totals[3].clamp(min=1.0)
    metrics["entropy"].append((totals[0] / denominator).item())
    metrics["clip_ratio/low_mean"].append((totals[1] / denominator).item())
    metrics["clip_ratio/high_mean"].append((totals[2] / denominator).item())
    metrics["clip_ratio/region_mean"].append(((totals[1] + totals[2]) / denominator).item())
