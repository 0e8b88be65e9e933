"""Magistral's soft length penalty, which discourages running into the generation limit.

Completions up to ``l_max - l_cache`` tokens cost nothing; the penalty then falls linearly to
-0.1 at ``l_max`` and stays at -0.1 beyond (a truncated completion is at or past ``l_max``).
"""

from __future__ import annotations

MAX_PENALTY = 0.1


def soft_length_penalty(length_tokens: int, l_max: int, l_cache: int) -> float:
    """Return the penalty (0 down to -0.1) for a completion of ``length_tokens`` tokens.

    >>> soft_length_penalty(100, l_max=1000, l_cache=200)
    0.0
    >>> soft_length_penalty(900, l_max=1000, l_cache=200)
    -0.05
    >>> soft_length_penalty(5000, l_max=1000, l_cache=200)
    -0.1
    """
    if l_cache < 0 or l_max <= 0 or l_cache > l_max:
        raise ValueError(f"need 0 <= l_cache <= l_max and l_max > 0, got {l_cache=}, {l_max=}")
    if length_tokens >= l_max:  # checked first so that l_cache=0 still penalises l_max itself
        return -MAX_PENALTY
    free_tokens = l_max - l_cache
    if length_tokens <= free_tokens:
        return 0.0
    return -MAX_PENALTY * (length_tokens - free_tokens) / l_cache
