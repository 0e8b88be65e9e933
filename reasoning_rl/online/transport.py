"""Weights from the learner to the generator process through files (shared memory), no CUDA.

Why files: TRL's async `WeightTransferClient` streams over NCCL, which needs CUDA on both sides.
On a CPU (and between two processes on one machine in general) a safetensors file in /dev/shm
is a memory copy: the learner writes version v under a temporary name and renames it, then
atomically replaces a small `LATEST` pointer; the generator polls the pointer between engine
steps and loads the tensors zero-copy (mmap). A reader therefore sees a whole version or the
previous one, never a torn one. The two newest versions are kept so a reader that is still
loading version v-1 when v lands is not cut off.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

POINTER = "LATEST"
KEEP_VERSIONS = 2


def default_dir(run_dir: Path) -> Path:
    """The folder where a run's weights are published: in shared memory when there is one.

    One fixed folder per run folder, so a resumed run reuses (and first empties) the folder a
    killed run left behind instead of leaking another copy of the weights.

    >>> default_dir(Path("runs/a")) == default_dir(Path("runs/a")) != default_dir(Path("runs/b"))
    True
    """
    base = Path("/dev/shm") if os.path.isdir("/dev/shm") else Path(tempfile.gettempdir())
    digest = hashlib.sha1(str(Path(run_dir).resolve()).encode()).hexdigest()[:12]
    return base / f"rrl-weights-{digest}"


class WeightPublisher:
    """Learner side: `publish(version, named_tensors)` makes a version visible to readers.

    >>> import tempfile, torch
    >>> folder = Path(tempfile.mkdtemp())
    >>> seconds = WeightPublisher(folder).publish(3, [("w", torch.ones(2))])
    >>> latest_version(folder), load_version(folder, 3)["w"].tolist()
    (3, [1.0, 1.0])
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.clear()  # versions of an earlier (killed) run

    def clear(self) -> None:
        """Delete every published version and the pointer (nothing else in the folder)."""
        for path in [*self.folder.glob("v*.safetensors"), *self.folder.glob(".*tmp"),
                     self.folder / POINTER]:
            path.unlink(missing_ok=True)

    def publish(self, version: int, named_tensors: Iterable[tuple[str, torch.Tensor]]) -> float:
        """Write `version` and point readers at it; return the seconds it took."""
        start = time.perf_counter()
        # Contiguous CPU copies: the iterator may yield views of live parameters (merged LoRA).
        tensors = {name: t.detach().to("cpu").contiguous().clone() for name, t in named_tensors}
        staging = self.folder / f".v{version}.tmp"
        save_file(tensors, str(staging))
        os.replace(staging, self.folder / f"v{version}.safetensors")
        pointer = self.folder / f".{POINTER}.tmp"
        pointer.write_text(json.dumps({"version": version}))
        os.replace(pointer, self.folder / POINTER)
        self._prune(version)
        return time.perf_counter() - start

    def _prune(self, newest: int) -> None:
        for path in self.folder.glob("v*.safetensors"):
            if int(path.stem[1:]) <= newest - KEEP_VERSIONS:
                path.unlink(missing_ok=True)


def latest_version(folder: Path) -> int | None:
    """The newest published version, or None before the first publish."""
    try:
        return int(json.loads((Path(folder) / POINTER).read_text())["version"])
    except FileNotFoundError:
        return None


def load_version(folder: Path, version: int) -> dict[str, torch.Tensor]:
    """The tensors of one published version (memory-mapped from the file)."""
    return load_file(str(Path(folder) / f"v{version}.safetensors"))
