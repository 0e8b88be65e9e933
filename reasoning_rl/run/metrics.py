"""What a run leaves behind for people: metrics.jsonl, a progress bar, summary.json.

Why: users compare runs by reading files, not by scraping stdout. Every optimizer step appends
one JSON line to `metrics.jsonl` with everything TRL logged (reward per component, completion
length, clip ratios, ...) plus our step time. A resumed run first cuts the file back to the
checkpoint's step, so the file always describes one consistent history. The progress bar
replaces transformers' own so it can show the mean reward next to step and ETA.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm
from transformers import TrainerCallback

from reasoning_rl.atomic import write_text_atomic

METRICS_FILE = "metrics.jsonl"


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """All metric lines of a run, in order.

    >>> read_metrics(Path("/nonexistent"))
    []
    """
    path = run_dir / METRICS_FILE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def truncate_metrics(run_dir: Path, last_step: int) -> None:
    """Drop lines logged after `last_step` (they belong to work lost when the run died)."""
    kept = [m for m in read_metrics(run_dir) if m.get("step", 0) <= last_step]
    write_text_atomic(run_dir / METRICS_FILE, "".join(json.dumps(m) + "\n" for m in kept))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN; None reads as "not measured this step"
    return value


class MetricsFile(TrainerCallback):
    """Appends TRL's training logs, one line per step, with step time and wall time."""

    def __init__(self, run_dir: Path):
        self.path = run_dir / METRICS_FILE
        self.start = time.monotonic()
        self.step_started = self.start
        self.step_time: float | None = None

    def on_step_begin(self, args, state, control, **kwargs):
        self.step_started = time.monotonic()

    def on_step_end(self, args, state, control, **kwargs):
        self.step_time = time.monotonic() - self.step_started

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs or "train_runtime" in logs:
            return
        line = {"step": state.global_step, "epoch": state.epoch,
                "step_time_s": self.step_time, "wall_time_s": time.monotonic() - self.start}
        line.update({k: _finite(v) for k, v in logs.items() if k != "epoch"})
        with open(self.path, "a") as handle:
            handle.write(json.dumps(line) + "\n")


class RewardProgressBar(TrainerCallback):
    """A tqdm bar over optimizer steps with the latest mean reward and ETA."""

    def __init__(self):
        self.bar: tqdm | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            self.bar = tqdm(total=state.max_steps, initial=state.global_step, desc="train",
                            unit="step", dynamic_ncols=True)

    def on_step_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.update(state.global_step - self.bar.n)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.bar is not None and logs and "reward" in logs:
            self.bar.set_postfix(reward=f"{logs['reward']:.3f}", refresh=False)

    def on_train_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.close()
            self.bar = None

