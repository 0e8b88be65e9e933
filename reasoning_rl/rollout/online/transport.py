"""Weights from the learner to the generator process through files (shared memory), no CUDA.

Why files: TRL's async `WeightTransferClient` streams over NCCL, which needs CUDA on both sides.
On a CPU (and between two processes on one machine in general) a safetensors file in /dev/shm
is a memory copy: the learner writes version v under a temporary name and renames it, then
atomically replaces a small `LATEST` pointer; the generator polls the pointer between engine
steps and loads the tensors zero-copy (mmap). A reader therefore sees a whole version or the
previous one, never a torn one. The two newest versions are kept so a reader that is still
loading version v-1 when v lands is not cut off.

A LoRA policy publishes its adapter alone (`publish_adapter`: PEFT's own folder layout, which
vLLM's LoRA loader reads), megabytes instead of the whole model, and no merge on the learner.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

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
        self.last_bytes = 0  # size of the latest published version, for the transfer metric
        self.clear()  # versions of an earlier (killed) run

    def clear(self) -> None:
        """Delete every published version and the pointer (nothing else in the folder)."""
        for path in [*self.folder.glob("v*.safetensors"), *self.folder.glob(".*tmp"),
                     self.folder / POINTER]:
            path.unlink(missing_ok=True)
        for path in [*self.folder.glob("v*.adapter"), *self.folder.glob(".*tmp.adapter")]:
            shutil.rmtree(path, ignore_errors=True)

    def publish(self, version: int, named_tensors: Iterable[tuple[str, torch.Tensor]]) -> float:
        """Write `version` and point readers at it; return the seconds it took."""
        start = time.perf_counter()
        # Contiguous CPU copies: the iterator may yield views of live parameters (merged LoRA).
        tensors = {name: t.detach().to("cpu").contiguous().clone() for name, t in named_tensors}
        staging = self.folder / f".v{version}.tmp"
        save_file(tensors, str(staging))
        os.replace(staging, self.folder / f"v{version}.safetensors")
        self.last_bytes = (self.folder / f"v{version}.safetensors").stat().st_size
        self._point_to(version)
        return time.perf_counter() - start

    def publish_adapter(self, version: int, peft_model: Any) -> float:
        """Write a PEFT model's adapter (only) as `version`; return the seconds it took.

        >>> import tempfile, torch
        >>> from peft import LoraConfig, get_peft_model
        >>> model = get_peft_model(torch.nn.Sequential(torch.nn.Linear(4, 4)),
        ...                        LoraConfig(r=2, target_modules=["0"]))
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = WeightPublisher(folder).publish_adapter(1, model)
        >>> sorted(p.name for p in adapter_path(folder, 1).iterdir())
        ['README.md', 'adapter_config.json', 'adapter_model.safetensors']
        """
        start = time.perf_counter()
        staging = self.folder / f".v{version}.tmp.adapter"
        peft_model.save_pretrained(str(staging))
        final = adapter_path(self.folder, version)
        shutil.rmtree(final, ignore_errors=True)  # left by a killed run at the same step
        os.replace(staging, final)
        self.last_bytes = sum(p.stat().st_size for p in final.iterdir())
        self._point_to(version)
        return time.perf_counter() - start

    def _point_to(self, version: int) -> None:
        pointer = self.folder / f".{POINTER}.tmp"
        pointer.write_text(json.dumps({"version": version}))
        os.replace(pointer, self.folder / POINTER)
        for path in [*self.folder.glob("v*.safetensors"), *self.folder.glob("v*.adapter")]:
            if int(path.name[1:].split(".")[0]) <= version - KEEP_VERSIONS:
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)


def latest_version(folder: Path) -> int | None:
    """The newest published version, or None before the first publish."""
    try:
        return int(json.loads((Path(folder) / POINTER).read_text())["version"])
    except FileNotFoundError:
        return None


def adapter_path(folder: Path, version: int) -> Path:
    """Where `publish_adapter` puts `version`: a PEFT adapter folder."""
    return Path(folder) / f"v{version}.adapter"


def load_version(folder: Path, version: int) -> dict[str, torch.Tensor]:
    """The tensors of one published version (memory-mapped from the file)."""
    return load_file(str(Path(folder) / f"v{version}.safetensors"))
