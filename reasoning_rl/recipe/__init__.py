"""The recipe: a YAML document validated into typed sections before anything runs.

- `config`: the sections, loading, stages and defaults (each default lives here once);
- `overrides`: `key.path=value` command-line overrides.

Bad input raises `reasoning_rl.recipe.errors.RecipeError` naming the key path and the fix (exit 2).
"""
