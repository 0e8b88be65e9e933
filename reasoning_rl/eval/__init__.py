"""Evaluation: strict and lenient pass@1, maj@k, per benchmark and language.

- `sections`: the recipe's `eval:` section; `benchmarks`: the benchmark files and their rows;
- `generation`: transformers or vLLM sampling; `grading`: one verdict per completion;
- `pass_at_k`: the estimators; `report`: tables, JSON and the chart;
- `evaluate`: the `reasoning-rl eval` command; `heldout`, `periodic`: evaluation inside a run.
"""
