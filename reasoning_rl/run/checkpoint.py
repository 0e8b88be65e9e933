"""Checkpoints that are either complete or ignored, and finding the one to resume from.

Why: transformers writes `checkpoint-N/` file by file, in place, and deletes old checkpoints
right after; a run killed mid-save leaves a folder that looks like a checkpoint but is not, and
may already have deleted the previous good one. We add a commit protocol: after the trainer
has written everything, we fsync the files and atomically create a `COMPLETE` marker (write to
a temporary name, then rename). Only marked checkpoints count for `--resume`, and old ones are
pruned only after a newer one is marked, so a kill at any moment leaves a usable checkpoint.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from transformers import TrainerCallback

from reasoning_rl.atomic import fsync_tree, write_text_atomic

MARKER = "COMPLETE"
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """All `checkpoint-N` folders of a run, oldest first (complete or not)."""
    if not run_dir.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in run_dir.iterdir()
             if p.is_dir() and (m := _CHECKPOINT.match(p.name))]
    return sorted(found)


def is_complete(checkpoint: Path) -> bool:
    """True when the checkpoint's commit marker exists."""
    return (checkpoint / MARKER).is_file()


def last_complete(run_dir: Path) -> Path | None:
    """The newest committed checkpoint of a run, or None.

    >>> last_complete(Path("/nonexistent")) is None
    True
    """
    complete = [p for _, p in checkpoints(run_dir) if is_complete(p)]
    return complete[-1] if complete else None


def mark_complete(checkpoint: Path, step: int) -> None:
    """fsync every file of the checkpoint, then atomically write its marker."""
    fsync_tree(checkpoint)
    write_text_atomic(checkpoint / MARKER, json.dumps({"step": step}), durable=True)


def prune(run_dir: Path, keep: int) -> None:
    """Delete all but the newest `keep` complete checkpoints (and incomplete older ones)."""
    complete = [p for _, p in checkpoints(run_dir) if is_complete(p)]
    for path in complete[:-keep]:
        shutil.rmtree(path, ignore_errors=True)
    newest = checkpoints(run_dir)[-1][0] if checkpoints(run_dir) else 0
    for step, path in checkpoints(run_dir):
        if step < newest and not is_complete(path):
            shutil.rmtree(path, ignore_errors=True)


def discard_incomplete(run_dir: Path) -> list[Path]:
    """Remove checkpoint folders that were never committed (a save that was cut off)."""
    removed = [p for _, p in checkpoints(run_dir) if not is_complete(p)]
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return removed


class CommitCheckpoints(TrainerCallback):
    """Marks each checkpoint complete after the trainer saved it, then prunes old ones."""

    def __init__(self, run_dir: Path, keep: int):
        self.run_dir, self.keep = run_dir, keep

    def on_save(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            mark_complete(self.run_dir / f"checkpoint-{state.global_step}", state.global_step)
            prune(self.run_dir, self.keep)
