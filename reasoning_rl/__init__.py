"""reasoning-rl from Python: the same entry points as the `reasoning-rl` command.

    >>> import reasoning_rl
    >>> recipe = reasoning_rl.load_recipe("recipes/smoke_cpu.yaml", ["trainer.max_steps=2"])
    >>> recipe.algorithm, recipe.trainer["max_steps"]
    ('magistral', 2)

`train(recipe)` runs it (what `reasoning-rl train` does) and returns the run summary;
`evaluate_benchmarks(EvalOptions(...))` is `reasoning-rl eval`. Names resolve on first use, so
`import reasoning_rl` loads neither torch nor TRL.
"""

from __future__ import annotations

import importlib
from typing import Any

# Public name -> module that defines it.
_EXPORTS = {
    "Recipe": "reasoning_rl.recipe.config",
    "load_recipe": "reasoning_rl.recipe.config",
    "load_stages": "reasoning_rl.recipe.config",
    "train": "reasoning_rl.training",
    "train_stages": "reasoning_rl.training",
    "EvalOptions": "reasoning_rl.eval.evaluate",
    "evaluate_benchmarks": "reasoning_rl.eval.evaluate",
    "UserError": "reasoning_rl.recipe.errors",
    "RecipeError": "reasoning_rl.recipe.errors",
}
# Exported under another name than the one its module uses.
_SOURCE_NAMES = {"evaluate_benchmarks": "run"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'reasoning_rl' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), _SOURCE_NAMES.get(name, name))
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
