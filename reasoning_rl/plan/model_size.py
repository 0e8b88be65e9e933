"""Parameter counts of a causal LM, taken from the model transformers builds on the meta device.

Why: `reasoning-rl plan` must say how much GPU memory a run needs before anything is
downloaded or loaded, and every byte figure it prints starts from a parameter count. Building
the model from its config.json on PyTorch's meta device allocates no memory and gives the
exact count for any architecture transformers knows (tied embeddings, biases, per-head norms
included), and PEFT wrapped around that meta model gives the exact LoRA count for any
`target_modules`. Local folders (and the embedded model) are read from their config.json; hub
names the recipes use come from the published config.json files shipped in `plan/configs/`,
so planning works offline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from reasoning_rl.recipe.errors import UserError

CONFIG_DIR = Path(__file__).with_name("configs")

# Hub names the recipes use -> the published config.json (architecture numbers only matter).
KNOWN_CONFIGS: dict[str, str] = {
    "qwen/qwen2.5-1.5b": "qwen2.5-1.5b-instruct.json",
    "qwen/qwen2.5-1.5b-instruct": "qwen2.5-1.5b-instruct.json",
    "qwen/qwen2.5-coder-1.5b-instruct": "qwen2.5-1.5b-instruct.json",
    "qwen/qwen2.5-7b": "qwen2.5-7b-instruct.json",
    "qwen/qwen2.5-7b-instruct": "qwen2.5-7b-instruct.json",
    "qwen/qwen2.5-coder-7b-instruct": "qwen2.5-7b-instruct.json",
    "qwen/qwen2.5-14b-instruct": "qwen2.5-14b-instruct.json",
    "qwen/qwen3-1.7b": "qwen3-1.7b.json",
    "qwen/qwen3-8b": "qwen3-8b.json",
}


@dataclass(frozen=True)
class Architecture:
    """A model's config.json (as canonical JSON text) and the counts its meta model gives."""

    config_json: str

    @property
    def config(self) -> dict[str, Any]:
        config = json.loads(self.config_json)
        return config.get("text_config", config)

    @property
    def hidden(self) -> int:
        return int(self.config["hidden_size"])

    @property
    def layers(self) -> int:
        return int(self.config["num_hidden_layers"])

    @property
    def vocab(self) -> int:
        return int(self.config["vocab_size"])

    def params(self) -> int:
        """All parameters, a tied embedding/lm_head matrix counted once.

        >>> architecture_for("Qwen/Qwen2.5-1.5B-Instruct")[0].params()
        1543714304
        """
        return _counts(self.config_json)[0]

    def largest_layer_params(self) -> int:
        """Parameters held directly by the largest module, DeepSpeed's "largest layer".

        ZeRO-3 gathers one module's parameters at a time, so DeepSpeed's estimator sizes its
        buffer by this count (`stage3.model_to_params`); here it is the embedding matrix.

        >>> arch = architecture_for("Qwen/Qwen2.5-14B-Instruct")[0]
        >>> arch.largest_layer_params() == arch.vocab * arch.hidden
        True
        """
        return _counts(self.config_json)[1]

    def lora_params(self, rank: int, target_modules: str | list[str] = "all-linear") -> int:
        """Trainable parameters PEFT creates for rank-`rank` LoRA on `target_modules`.

        >>> architecture_for("Qwen/Qwen2.5-1.5B-Instruct")[0].lora_params(16)
        18464768
        """
        targets = target_modules if isinstance(target_modules, str) else tuple(target_modules)
        return _lora_count(self.config_json, rank, targets)


def meta_model(config: dict[str, Any]):
    """The causal LM transformers builds from `config`, on the meta device (no memory).

    >>> meta_model({"model_type": "llama", "hidden_size": 8, "num_hidden_layers": 1,
    ...             "vocab_size": 10, "intermediate_size": 16, "num_attention_heads": 2}).device
    device(type='meta')
    """
    import torch
    from transformers import CONFIG_MAPPING, AutoModelForCausalLM

    fields = {k: v for k, v in config.items() if k not in ("model_type", "architectures")}
    model_type = config.get("model_type")
    if model_type not in CONFIG_MAPPING:
        raise UserError(f"model config: model_type {model_type!r} is not one transformers "
                        f"knows; cannot size this model")
    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(CONFIG_MAPPING[model_type](**fields))


def _numel(module) -> int:
    # parameters() yields a tied matrix once, so tied embeddings count once
    return sum(p.numel() for p in module.parameters())


@lru_cache(maxsize=32)
def _counts(config_json: str) -> tuple[int, int]:
    """(all, largest module's own) parameter counts of the meta model."""
    model = meta_model(json.loads(config_json))
    largest = max(sum(p.numel() for p in m.parameters(recurse=False)) for m in model.modules())
    return _numel(model), largest


@lru_cache(maxsize=32)
def _lora_count(config_json: str, rank: int, targets: str | tuple[str, ...]) -> int:
    from peft import LoraConfig, get_peft_model

    model = meta_model(json.loads(config_json))
    wanted = targets if isinstance(targets, str) else list(targets)
    peft_model = get_peft_model(model, LoraConfig(r=rank, target_modules=wanted,
                                                  task_type="CAUSAL_LM"))
    return sum(p.numel() for p in peft_model.parameters() if p.requires_grad)


def from_config(config: dict[str, Any]) -> Architecture:
    """The architecture described by a transformers config.json mapping.

    >>> from_config({"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2,
    ...              "vocab_size": 100, "intermediate_size": 128,
    ...              "num_attention_heads": 4}).layers
    2
    """
    inner = config.get("text_config", config)
    for key in ("hidden_size", "num_hidden_layers", "vocab_size", "model_type"):
        if key not in inner:
            raise UserError(f"model config lacks {key!r}: cannot size this model")
    return Architecture(json.dumps(inner, sort_keys=True))


def known_config_path(name: str) -> Path | None:
    """The shipped config.json for a hub name the recipes use (case-insensitive), else None.

    >>> known_config_path("Qwen/Qwen3-8B").name
    'qwen3-8b.json'
    """
    file = KNOWN_CONFIGS.get(name.lower())
    return CONFIG_DIR / file if file else None


def architecture_for(name_or_path: str) -> tuple[Architecture, str]:
    """(architecture, where it came from) for a recipe's `model.name_or_path`, loading nothing.

    >>> architecture_for("Qwen/Qwen2.5-7B-Instruct")[0].params()
    7615616512
    """
    from reasoning_rl.model.embedded import ensure_converted, is_embedded

    folder = ensure_converted(name_or_path) if is_embedded(name_or_path) else Path(name_or_path)
    config_file, source = folder / "config.json", str(folder / "config.json")
    if not config_file.is_file():
        config_file = known_config_path(name_or_path)
        if config_file is None:
            names = ", ".join(sorted(KNOWN_CONFIGS))
            raise UserError(f"model.name_or_path: cannot size {name_or_path!r} offline; give a "
                            f"local folder with a config.json, or one of: {names}")
        source = f"published config.json, reasoning_rl/plan/configs/{config_file.name}"
    return from_config(json.loads(config_file.read_text())), source
