"""Atomic writes: a file or folder appears complete under its final name, or not at all.

Why: a run can be killed at any moment (pre-emption, Ctrl-C, out of memory), and a resumed run,
a dashboard or the next stage of a curriculum reads what it left behind. Everything the project
publishes (summaries, eval results, curated datasets, checkpoint markers, the final model, the
converted embedded model) is written to a staging path next to its destination and renamed
into place, which POSIX makes atomic within one file system.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def atomic_path(path: str | Path, *, durable: bool = False,
                keep_existing: bool = False) -> Iterator[Path]:
    """Yield a fresh staging path next to `path`; on success rename it onto `path`.

    Write a file or a folder at the yielded path. On an exception nothing changes at `path`
    and the staging path is removed. `durable`: fsync what was written and the parent folder
    (checkpoint markers must survive a power cut, not only a killed process).
    `keep_existing`: if `path` exists by the time the write finishes (another process got
    there first), keep that one and discard ours.

    >>> folder = Path(tempfile.mkdtemp())
    >>> with atomic_path(folder / "result.txt") as staging:
    ...     _ = staging.write_text("done")
    >>> (folder / "result.txt").read_text(), sorted(p.name for p in folder.iterdir())
    ('done', ['result.txt'])
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A unique name, so two writers (or a crashed earlier one) never share a staging path.
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    staging = Path(name)
    staging.unlink()
    try:
        yield staging
        if durable:
            fsync_tree(staging)
        if keep_existing and path.exists():
            return
        if path.is_dir() and staging.is_dir():
            shutil.rmtree(path)  # rename cannot replace a non-empty folder
        os.replace(staging, path)
        if durable:
            fsync_tree(path.parent, recursive=False)
    finally:
        _remove(staging)


def write_text_atomic(path: str | Path, text: str, *, durable: bool = False) -> None:
    """Write `text` (UTF-8) to `path` atomically.

    >>> target = Path(tempfile.mkdtemp()) / "note.txt"
    >>> write_text_atomic(target, "hello"); target.read_text()
    'hello'
    """
    with atomic_path(path, durable=durable) as staging:
        staging.write_text(text, encoding="utf-8")


def write_json_atomic(path: str | Path, data: Any, *, durable: bool = False) -> None:
    """Write `data` as indented JSON to `path` atomically (readers never see half a file).

    >>> target = Path(tempfile.mkdtemp()) / "summary.json"
    >>> write_json_atomic(target, {"steps": 2}); json.loads(target.read_text())
    {'steps': 2}
    """
    write_text_atomic(path, json.dumps(data, indent=2, default=str) + "\n", durable=durable)


def fsync_tree(path: Path, recursive: bool = True) -> None:
    """fsync a file, or a folder and (if `recursive`) everything in it, to stable storage."""
    paths = sorted(path.rglob("*")) if recursive and path.is_dir() else []
    for item in [*paths, path]:
        if item.is_file() or item.is_dir():
            descriptor = os.open(item, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()
