"""Loading the policy model, its tokenizer, and the optional LoRA adapter config.

Why: recipes name a model three ways (the packaged `embedded:` model, a local folder, a hub
name); this module turns each into a transformers model with a tokenizer ready for batched
generation (left padding, a pad token), and the recipe's `model.lora` block into a PEFT config
that TRL wraps around the model itself.
"""

from __future__ import annotations

from pathlib import Path

from reasoning_rl.model.embedded import ensure_converted, is_embedded
from reasoning_rl.recipe.config import LoraSection, ModelSection
from reasoning_rl.recipe.errors import UserError


def resolve_model_path(name_or_path: str) -> str:
    """A loadable folder or hub name for `model.name_or_path` (embedded models converted once).

    >>> resolve_model_path("Qwen/Qwen2.5-1.5B-Instruct")
    'Qwen/Qwen2.5-1.5B-Instruct'
    """
    if is_embedded(name_or_path):
        return str(ensure_converted(name_or_path))
    if name_or_path.startswith(("/", "./", "../")) and not Path(name_or_path).exists():
        raise UserError(f"model.name_or_path: folder not found: {name_or_path}")
    return name_or_path


def load_tokenizer(path: str):
    """Tokenizer with left padding (needed for batched generation) and a pad token."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(path: str, dtype: str):
    """A causal LM in the recipe's dtype, with a clear error when it cannot be found."""
    import torch
    from transformers import AutoModelForCausalLM

    torch_dtype = "auto" if dtype == "auto" else getattr(torch, dtype)
    try:
        return AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype)
    except OSError as exc:
        raise UserError(f"model.name_or_path: cannot load {path!r} ({exc})") from None


def lora_config(section: LoraSection | None):
    """PEFT `LoraConfig` for causal LM training, or None for a full fine-tune.

    >>> lora_config(None) is None
    True
    """
    if section is None:
        return None
    from peft import LoraConfig

    return LoraConfig(r=section.r, lora_alpha=section.alpha, lora_dropout=section.dropout,
                      target_modules=section.target_modules, task_type="CAUSAL_LM")


def load_policy(section: ModelSection):
    """(model, tokenizer, peft_config) for a recipe's `model` section."""
    path = resolve_model_path(section.name_or_path)
    tokenizer = load_tokenizer(path)
    model = load_model(path, section.dtype)
    return model, tokenizer, lora_config(section.lora)
