"""Unit tests for the Magistral objective on tensors small enough to check by hand."""

from __future__ import annotations

import math

import pytest
import torch

from reasoning_rl.objective.loss import (
    clip_fractions,
    clipped_surrogate,
    group_advantages,
    group_sequence_weights,
    normalize_minibatch,
    weighted_token_loss,
)


def magistral_loss_reference(
    surrogate: torch.Tensor, mask: torch.Tensor, group_size: int, seq_keep: torch.Tensor
) -> torch.Tensor:
    """The loss written literally as in the paper, group by group (the tests' oracle).

    J = (1/K) sum_{kept g} [ sum_{i in g} sum_t s_it ] / [ sum_{i in g} |o_i| ];  loss = -J.
    """
    group_sums, kept = [], 0
    for g in range(surrogate.shape[0] // group_size):
        rows = slice(g * group_size, (g + 1) * group_size)
        tokens = mask[rows].sum()
        if not bool(seq_keep[rows].all()) or tokens == 0:
            continue
        group_sums.append((surrogate[rows] * mask[rows]).sum() / tokens)
        kept += 1
    if kept == 0:
        return surrogate.new_zeros(())
    return -torch.stack(group_sums).sum() / kept


def test_advantage_is_reward_minus_group_mean_without_std_division():
    # Group 0: rewards 3, 1 -> mean 2 -> A = +1, -1 (dividing by std would give +-0.707).
    # Group 1: rewards 5, 5 -> filtered, A = 0.
    adv, keep = group_advantages(torch.tensor([3.0, 1.0, 5.0, 5.0]), group_size=2)
    assert adv.tolist() == [1.0, -1.0, 0.0, 0.0]
    assert keep.tolist() == [True, False]


def test_near_equal_rewards_count_as_equal_and_nan_rows_are_ignored():
    adv, keep = group_advantages(
        torch.tensor([1.0, 1.0 + 1e-7, 1.0, 1.0, float("nan"), 0.0]), group_size=3
    )
    assert keep.tolist() == [False, True]
    # Group 1 mean over scored rows is (1 + 0) / 2 = 0.5; the unscored row gets 0.
    assert adv[3:].tolist() == [0.5, 0.0, -0.5]


def test_rewards_not_a_multiple_of_group_size_raise():
    with pytest.raises(ValueError, match="group_size=2"):
        group_advantages(torch.tensor([1.0, 2.0, 3.0]), group_size=2)


def test_minibatch_normalisation_uses_only_kept_sequences():
    # Kept advantages: 1, -1, 3, -3 -> mean 0, sample std sqrt((1+1+9+9)/3) = sqrt(20/3).
    adv = torch.tensor([1.0, -1.0, 0.0, 0.0, 3.0, -3.0])
    keep = torch.tensor([True, True, False, False, True, True])
    out = normalize_minibatch(adv, keep)
    std = math.sqrt(20 / 3)
    expected = [1 / std, -1 / std, 0.0, 0.0, 3 / std, -3 / std]
    assert out.tolist() == pytest.approx(expected)


def test_minibatch_normalisation_with_no_kept_group_is_zero_not_nan():
    out = normalize_minibatch(torch.zeros(4), torch.zeros(4, dtype=torch.bool))
    assert out.tolist() == [0.0, 0.0, 0.0, 0.0]


def test_one_kept_group_normalises_to_unit_std():
    adv, keep = group_advantages(torch.tensor([1.0, 0.0, 0.0, 7.0, 7.0, 7.0]), group_size=3)
    out = normalize_minibatch(adv, keep.repeat_interleave(3))
    # Group 0: A = 2/3, -1/3, -1/3 -> mean 0, sample std sqrt(1/3).
    s = math.sqrt(1 / 3)
    assert out.tolist() == pytest.approx([(2 / 3) / s, (-1 / 3) / s, (-1 / 3) / s, 0, 0, 0])


def test_weights_divide_by_group_length_and_number_of_kept_groups():
    # Ragged lengths: group 0 has 1 + 3 = 4 tokens, group 1 is filtered, group 2 has 2 + 6 = 8.
    lengths = torch.tensor([1, 3, 5, 5, 2, 6])
    keep = torch.tensor([True, True, False, False, True, True])
    w = group_sequence_weights(lengths, 2, keep)
    assert w.tolist() == pytest.approx([1 / 8, 1 / 8, 0, 0, 1 / 16, 1 / 16])


def test_kept_group_with_no_loss_tokens_does_not_count_as_a_group():
    # Both completions of group 0 truncated and masked: zero loss tokens, so K = 1, not 2.
    w = group_sequence_weights(torch.tensor([0, 0, 2, 2]), 2, torch.tensor([True] * 4))
    assert w.tolist() == [0.0, 0.0, 0.25, 0.25]


def test_clipped_surrogate_by_hand():
    ratio = torch.tensor([[1.5, 0.7, 1.0], [1.5, 0.7, 1.0]])
    adv = torch.tensor([2.0, -1.0])
    out = clipped_surrogate(ratio, adv, eps_low=0.2, eps_high=0.28)
    # A>0: min(1.5*2, 1.28*2) = 2.56; min(0.7*2, 0.8*2) = 1.4; 2.
    # A<0: min(-1.5, -1.28) = -1.5; min(-0.7, -0.8) = -0.8; -1.
    expected = torch.tensor([[2.56, 1.4, 2.0], [-1.5, -0.8, -1.0]])
    torch.testing.assert_close(out, expected)


def test_loss_is_group_normalised_with_ragged_lengths_and_masked_padding():
    # Group 0 (kept): row 0 has 1 token (s=4), row 1 has 3 tokens (s=1,1,1) -> 7 / 4.
    # Group 1 (filtered): big values that must not leak in.
    # Group 2 (kept): row 4 has 2 tokens (s=2,2), row 5 has 2 tokens (s=0,0) -> 4 / 4.
    # J = (7/4 + 1) / 2 = 1.375 -> loss -1.375. Padding positions hold 100 and must be ignored.
    surrogate = torch.tensor(
        [
            [4.0, 100.0, 100.0],
            [1.0, 1.0, 1.0],
            [50.0, 50.0, 50.0],
            [50.0, 50.0, 50.0],
            [2.0, 2.0, 100.0],
            [0.0, 0.0, 100.0],
        ]
    )
    mask = torch.tensor([[1, 0, 0], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 0], [1, 1, 0]])
    keep = torch.tensor([True, True, False, False, True, True])
    weights = group_sequence_weights(mask.sum(-1), 2, keep)
    assert weighted_token_loss(surrogate, mask, weights).item() == pytest.approx(-1.375)
    assert magistral_loss_reference(surrogate, mask, 2, keep).item() == pytest.approx(-1.375)


def test_truncated_completion_masked_out_leaves_the_normaliser():
    # Row 1 is truncated and masked to zero: group length is row 0's 2 tokens only.
    surrogate = torch.tensor([[1.0, 3.0], [9.0, 9.0]])
    mask = torch.tensor([[1, 1], [0, 0]])
    keep = torch.tensor([True, True])
    weights = group_sequence_weights(mask.sum(-1), 2, keep)
    assert weighted_token_loss(surrogate, mask, weights).item() == pytest.approx(-2.0)


def test_all_groups_filtered_gives_zero_loss_not_nan():
    _, keep = group_advantages(torch.tensor([1.0, 1.0, 0.0, 0.0]), group_size=2)
    seq_keep = keep.repeat_interleave(2)
    weights = group_sequence_weights(torch.tensor([3, 3, 3, 3]), 2, seq_keep)
    loss = weighted_token_loss(torch.ones(4, 3), torch.ones(4, 3), weights)
    assert weights.tolist() == [0.0] * 4
    assert loss.item() == 0.0 and not torch.isnan(loss)
    assert magistral_loss_reference(torch.ones(4, 3), torch.ones(4, 3), 2, seq_keep).item() == 0.0


def test_weighted_loss_equals_reference_under_any_row_split():
    # Summing the weighted loss over arbitrary micro-batches (as gradient accumulation does)
    # must reproduce the literal per-group formula.
    gen = torch.Generator().manual_seed(0)
    surrogate = torch.randn(12, 7, generator=gen)
    mask = (torch.rand(12, 7, generator=gen) > 0.3).long()
    keep = torch.tensor([True] * 4 + [False] * 4 + [True] * 4)
    weights = group_sequence_weights(mask.sum(-1), 4, keep)
    order = torch.randperm(12, generator=gen)
    parts = order.split(5)
    total = sum(weighted_token_loss(surrogate[p], mask[p], weights[p]) for p in parts)
    reference = magistral_loss_reference(surrogate, mask, 4, keep)
    assert total.item() == pytest.approx(reference.item(), rel=1e-6)


def test_gradient_of_filtered_rows_is_exactly_zero():
    logits = torch.zeros(4, 2, requires_grad=True)
    keep = torch.tensor([True, True, False, False])
    weights = group_sequence_weights(torch.tensor([2, 2, 2, 2]), 2, keep)
    weighted_token_loss(logits.exp(), torch.ones(4, 2), weights).backward()
    assert logits.grad[2:].abs().sum().item() == 0.0
    assert logits.grad[:2].abs().sum().item() > 0.0


def test_clip_fractions_count_only_masked_tokens_on_the_binding_side():
    ratio = torch.tensor([[0.5, 1.5, 0.5], [0.5, 1.5, 1.0]])
    adv = torch.tensor([-1.0, 1.0])
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    low, high = clip_fractions(ratio, adv, mask, eps_low=0.2, eps_high=0.28)
    # Row 0 (A<0): token 0 low-clipped; token 2 masked. Row 1 (A>0): token 1 high-clipped.
    assert (low, high) == (pytest.approx(1 / 5), pytest.approx(1 / 5))
