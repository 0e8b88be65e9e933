"""The Magistral GRPO objective (arXiv 2506.10910, section 2.1) as small pure tensor functions.

Why a separate module: the objective is a handful of equations, and each one is easy to get
subtly wrong (which std, which normaliser, what happens to groups that teach nothing). Keeping
them free of any trainer state lets the unit tests check every equation on tensors small
enough to compute by hand, and lets the TRL seam in `reasoning_rl/objective/trainer.py` stay
thin.

Notation: a batch holds `num_groups` groups of `group_size` generations for one prompt each,
laid out group after group (rows `g*G .. g*G+G-1` belong to group `g`), as TRL lays them out.
`T` is the padded completion length; `mask[i, t] = 1` marks a generated token that enters the
loss (padding and, when TRL masks them, truncated completions are 0). A generated batch is split
into M minibatches of whole groups (`minibatch[i]` names row i's), one optimizer step each.
"""

from __future__ import annotations

import torch

from reasoning_rl.recipe.objective_section import DEFAULT_EQUAL_ATOL


def group_advantages(
    rewards: torch.Tensor, group_size: int, atol: float = DEFAULT_EQUAL_ATOL
) -> tuple[torch.Tensor, torch.Tensor]:
    """Raw group advantages and which groups are diverse enough to keep.

    A_i = r_i - mean_{j in group(i)} r_j  (no division by the group std), and
    keep_g = (max_{i in g} r_i - min_{i in g} r_i) > atol.

    NaN rewards (a completion no reward function could score) are left out of the group mean
    and get advantage 0. Returns `(advantages (N,), keep (num_groups,) bool)`.

    >>> adv, keep = group_advantages(torch.tensor([1.0, 0.0, 2.0, 2.0]), group_size=2)
    >>> adv.tolist(), keep.tolist()
    ([0.5, -0.5, 0.0, 0.0], [True, False])
    """
    if rewards.ndim != 1 or rewards.numel() % group_size != 0:
        raise ValueError(
            f"rewards must be 1-D with a multiple of group_size={group_size} entries, "
            f"got shape {tuple(rewards.shape)}"
        )
    grouped = rewards.view(-1, group_size)
    mean = torch.nanmean(grouped, dim=1, keepdim=True)
    advantages = torch.nan_to_num(grouped - mean, nan=0.0).reshape(-1)
    finite = ~torch.isnan(grouped)
    highest = torch.where(finite, grouped, torch.full_like(grouped, -torch.inf)).amax(dim=1)
    lowest = torch.where(finite, grouped, torch.full_like(grouped, torch.inf)).amin(dim=1)
    # A group with fewer than two scored rows has highest - lowest <= 0 (or -inf): not kept.
    keep = (highest - lowest) > atol
    return advantages, keep


def minibatch_of_rows(
    num_rows: int, rows_per_process: int, minibatches: int
) -> torch.Tensor:
    """Which minibatch (optimizer step) each row of the gathered batch belongs to.

    Each process holds `rows_per_process` consecutive rows of the gathered batch and feeds them
    to its optimizer steps in order, so row i belongs to minibatch
    (i mod rows_per_process) // (rows_per_process / M). A batch compacted to fewer rows (single
    process, filtered groups dropped) keeps that layout: missing rows only shorten the tail.

    >>> minibatch_of_rows(8, 8, 2).tolist(), minibatch_of_rows(8, 4, 2).tolist()
    ([0, 0, 0, 0, 1, 1, 1, 1], [0, 0, 1, 1, 0, 0, 1, 1])
    """
    if rows_per_process % minibatches:
        raise ValueError(f"{rows_per_process} rows per process do not split into "
                         f"{minibatches} minibatches")
    rows = torch.arange(num_rows)
    return (rows % rows_per_process) // (rows_per_process // minibatches)


def normalize_minibatch(
    advantages: torch.Tensor, seq_keep: torch.Tensor, minibatch: torch.Tensor | None = None
) -> torch.Tensor:
    """Normalise advantages over the kept sequences of each minibatch; filtered rows get 0.

    A_norm_i = (A_i - mean_{kept in mb(i)} A) / std_{kept in mb(i)} A  with the sample (Bessel)
    std. `minibatch` (N,) names each row's minibatch (None: one minibatch). A minibatch with
    fewer than two kept sequences gets 0 (nothing to learn there, and never NaN).

    >>> normalize_minibatch(torch.tensor([1.0, -1.0, 0.0]), torch.tensor([True, True, False]))
    tensor([ 0.7071, -0.7071,  0.0000])
    >>> normalize_minibatch(torch.tensor([2.0, 0.0, 1.0, -1.0]), torch.ones(4, dtype=torch.bool),
    ...                     torch.tensor([0, 0, 1, 1]))
    tensor([ 0.7071, -0.7071,  0.7071, -0.7071])
    """
    if minibatch is None:
        minibatch = torch.zeros_like(advantages, dtype=torch.long)
    out = torch.zeros_like(advantages)
    for m in minibatch.unique():
        rows = (minibatch == m) & seq_keep
        kept = advantages[rows]
        if kept.numel() < 2:
            continue
        # A kept group has rewards differing by more than atol, so its advantages are not all
        # equal and std > 0; the clamp only guards against pathological float inputs.
        std = kept.std().clamp_min(torch.finfo(advantages.dtype).tiny)
        out[rows] = (kept - kept.mean()) / std
    return out


def group_sequence_weights(
    seq_lengths: torch.Tensor, group_size: int, seq_keep: torch.Tensor,
    minibatch: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-sequence weight that turns a plain token sum into each minibatch's group-normalised mean.

    w_i = 1 / (K_m * L_g(i))  for a kept sequence, else 0, where L_g = sum of the loss-token
    counts `seq_lengths` over the group of row i, m its minibatch (`minibatch`, None: one) and
    K_m = number of kept groups with L_g > 0 in minibatch m. Then, for every minibatch m,
    sum_{i in m} w_i * sum_t x_it  =  (1/K_m) sum_{g in m} (sum_{i in g} sum_t x_it) / L_g.

    Weights make the objective independent of how the minibatch is split into
    gradient-accumulation micro-batches: each row carries its own share of the normaliser.

    >>> group_sequence_weights(torch.tensor([1, 3, 4, 4]), 2, torch.tensor([True] * 4)).tolist()
    [0.125, 0.125, 0.0625, 0.0625]
    >>> group_sequence_weights(torch.tensor([1, 3, 4, 4]), 2, torch.tensor([True] * 4),
    ...                        torch.tensor([0, 0, 1, 1])).tolist()
    [0.25, 0.25, 0.125, 0.125]
    """
    lengths = seq_lengths.to(torch.float64).view(-1, group_size)
    group_len = lengths.sum(dim=1)
    group_keep = seq_keep.view(-1, group_size).all(dim=1) & (group_len > 0)
    if minibatch is None:
        minibatch = torch.zeros(seq_lengths.shape, dtype=torch.long)
    group_mb = minibatch.view(-1, group_size)
    if not bool((group_mb == group_mb[:, :1]).all()):
        raise ValueError("a group straddles two minibatches; minibatches hold whole groups")
    group_mb = group_mb[:, 0]
    kept_in_mb = torch.zeros(int(group_mb.max()) + 1 if group_mb.numel() else 1,
                             dtype=torch.float64).index_add_(0, group_mb, group_keep.double())
    per_group = torch.where(
        group_keep, 1.0 / (kept_in_mb[group_mb].clamp_min(1.0) * group_len.clamp_min(1.0)), 0.0
    )
    return per_group.repeat_interleave(group_size).to(torch.float32).to(seq_lengths.device)


def clipped_surrogate(
    ratio: torch.Tensor, advantages: torch.Tensor, eps_low: float, eps_high: float
) -> torch.Tensor:
    """Per-token clipped surrogate (the quantity the policy maximises).

    s_it = min(rho_it * A_i, clip(rho_it, 1 - eps_low, 1 + eps_high) * A_i)

    `ratio` is (N, T); `advantages` is (N,) and is broadcast over tokens.

    >>> clipped_surrogate(torch.tensor([[1.5, 0.5]]), torch.tensor([1.0]), 0.2, 0.28)
    tensor([[1.2800, 0.5000]])
    """
    adv = advantages.unsqueeze(-1)
    clipped = torch.clamp(ratio, 1.0 - eps_low, 1.0 + eps_high)
    return torch.minimum(ratio * adv, clipped * adv)


def weighted_token_loss(
    surrogate: torch.Tensor, mask: torch.Tensor, seq_weights: torch.Tensor
) -> torch.Tensor:
    """Loss = -sum_i w_i * sum_t mask_it * s_it, the negated group-normalised objective.

    With weights from `group_sequence_weights` this equals the paper's group-by-group loss (the
    tests compare it with a literal transcription); an all-zero weight vector gives exactly 0
    (a skipped step), never NaN.

    >>> weighted_token_loss(torch.ones(2, 2), torch.tensor([[1, 1], [1, 0]]),
    ...                     torch.tensor([0.5, 1.0]))
    tensor(-2.)
    """
    per_row = (surrogate * mask).sum(dim=-1)
    return -(per_row * seq_weights.to(surrogate.dtype)).sum()


def clip_fractions(
    ratio: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor, eps_low: float,
    eps_high: float,
) -> tuple[float, float]:
    """Fraction of loss tokens whose ratio the clip bounds (low: A<0 and rho<1-eps_low; high: A>0
    and rho>1+eps_high), the same definition TRL logs as `clip_ratio/low_mean` and `high_mean`.

    >>> clip_fractions(torch.tensor([[0.5, 2.0]]), torch.tensor([-1.0]), torch.ones(1, 2),
    ...                0.2, 0.28)
    (0.5, 0.0)
    """
    adv = advantages.unsqueeze(-1)
    low = ((ratio < 1.0 - eps_low) & (adv < 0)).float()
    high = ((ratio > 1.0 + eps_high) & (adv > 0)).float()
    count = mask.sum().clamp_min(1.0)
    return float((low * mask).sum() / count), float((high * mask).sum() / count)


def truncated_importance_weights(
    target_logps: torch.Tensor, behaviour_logps: torch.Tensor, cap: float
) -> torch.Tensor:
    """Per-token importance weights min(pi/mu, cap), constants for the gradient (TIS).

    pi is the distribution the update is for, mu the one that sampled; truncating at `cap`
    bounds the variance (and the push on tokens mu made likely but pi does not) at the price of
    a small bias, as truncated importance sampling does (Yao et al., 2025).

    >>> truncated_importance_weights(torch.log(torch.tensor([[0.1, 0.9]])),
    ...                              torch.log(torch.tensor([[0.5, 0.3]])), 2.0)
    tensor([[0.2000, 2.0000]])
    """
    return torch.exp(target_logps.detach() - behaviour_logps.detach()).clamp(max=cap)


def shaped_probability(logps: torch.Tensor, gamma: float) -> torch.Tensor:
    """LUFFY's policy shaping f(pi) = pi / (pi + gamma) of per-token log-probs, with its gradient.

    Used in place of the importance ratio on scaffolded tokens: d f / d log pi =
    gamma * pi / (pi + gamma)^2, which for an unlikely token (pi << gamma) is pi / gamma, gamma^-1
    times the plain policy gradient's, and for a likely one shrinks towards 0. A deliberate bias
    towards the tokens the hint makes and the plain prompt does not (arXiv 2504.14945, sec. 3.3).

    >>> shaped_probability(torch.log(torch.tensor([[0.1, 0.9]])), 0.1)
    tensor([[0.5000, 0.9000]])
    """
    probs = torch.exp(logps)
    return probs / (probs + gamma)
