"""What a run leaves on disk and shows while it runs.

- `checkpoint`: checkpoints marked complete only after every file is durable, and pruning;
- `metrics`: metrics.jsonl (resumable) and the progress bar;
- `language_metrics`, `sandbox_metrics`: per-language and sandbox counters in the training logs.
"""
