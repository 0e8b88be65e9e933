"""Command-line and stage overrides: `dotted.key=value` applied to a raw recipe before checks.

Why its own module: the same dotted paths name a key on the command line, in a curriculum
stage's `overrides` and in every error message, so one parser serves all three.
"""

from __future__ import annotations

from typing import Any

import yaml

from reasoning_rl.recipe.errors import RecipeError


def apply_override(raw: dict[str, Any], item: str) -> None:
    """Apply one `dotted.key=value` override (value parsed as YAML) to the raw recipe.

    >>> raw = {"trainer": {"max_steps": 40}}
    >>> apply_override(raw, "trainer.max_steps=2"); raw
    {'trainer': {'max_steps': 2}}
    """
    key, sep, text = item.partition("=")
    if not sep or not key:
        raise RecipeError(f"override {item!r}: expected key.sub=value")
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        value = text
    set_dotted(raw, key, value)


def set_dotted(raw: dict[str, Any], key: str, value: Any) -> None:
    """Set `a.b.c` (list indices as numbers) in nested data, creating mappings on the way.

    >>> raw = {"rewards": [{"weight": 1.0}]}
    >>> set_dotted(raw, "rewards.0.weight", 0.5); raw
    {'rewards': [{'weight': 0.5}]}
    """
    node: Any = raw
    parts = key.split(".")
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise RecipeError(f"override {key}: {part!r} is not an index of "
                                  f"{'.'.join(parts[:depth])} (length {len(node)})")
            part = int(part)
        elif not isinstance(node, dict):
            raise RecipeError(f"override {key}: {'.'.join(parts[:depth])} is not a mapping")
        if last:
            node[part] = value
        else:
            if isinstance(node, dict) and node.get(part) is None:
                node[part] = {}
            node = node[part]
