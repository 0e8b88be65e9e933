"""The code sandbox's counters in the training logs (metrics.jsonl, TRL's reporters).

Why: a run whose fork server went away keeps grading on the fresh path (as strict, slower);
that must show up next to the rewards, not only in a warning. Placed before ``MetricsFile`` in
the trainer's callbacks, it adds ``sandbox/runs`` and ``sandbox/fresh_fallbacks`` (cumulative
counts of this process, ``rewards.sandbox.stats()``) to each log once any program has run.
"""

from __future__ import annotations

from transformers import TrainerCallback


class SandboxMetrics(TrainerCallback):
    """Adds the sandbox's counters to every training log after the first sandboxed run.

    >>> isinstance(SandboxMetrics(), TrainerCallback)  # logs: tests/run/test_sandbox_metrics.py
    True
    """

    def on_log(self, args, state, control, logs=None, **kwargs):
        from rewards.sandbox import stats

        counts = stats()
        if logs is not None and counts["runs"]:
            logs.update({f"sandbox/{name}": value for name, value in counts.items()})
