"""Magistral-style reward functions, usable without the training framework.

    >>> import rewards
    >>> rewards.format_reward(completions=["<think>2 + 2 = 4</think> \\\\boxed{4}"])
    [0.1]
    >>> rewards.is_correct("It is \\\\boxed{\\\\frac{1}{2}}.", "0.5")
    True

The TRL reward functions (`format_reward`, `correctness_reward`, `length_penalty`,
`language_reward`, `total_reward`) take TRL's batch keywords; `score` grades one sample,
`run_tests` runs code against tests in the sandbox, `is_correct` compares math answers. Names
resolve on first use: sandbox worker processes import parts of this package and must stay light.
"""

from __future__ import annotations

import importlib
from typing import Any

# Public name -> module that defines it.
_EXPORTS = {
    "format_reward": "rewards.trl_functions",
    "correctness_reward": "rewards.trl_functions",
    "length_penalty": "rewards.trl_functions",
    "language_reward": "rewards.trl_functions",
    "total_reward": "rewards.trl_functions",
    "score": "rewards.total",
    "run_tests": "rewards.code_exec",
    "is_correct": "rewards.math_answer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'rewards' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
