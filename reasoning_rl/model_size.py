"""Parameter counts of decoder-only transformers, from their architecture numbers alone.

Why: `reasoning-rl plan` must say how much GPU memory a run needs before anything is
downloaded or loaded. Every byte figure it prints starts from a parameter count, and that count
follows exactly from a handful of config.json numbers (hidden size, layers, vocabulary, MLP
width, attention and key/value heads) for the Llama/Qwen family of models this project trains.
Local folders (and the embedded model) are read from their config.json; hub names come from a
small table of known architectures, so planning works offline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from reasoning_rl.errors import UserError


@dataclass(frozen=True)
class Architecture:
    """The config.json numbers that fix a Llama/Qwen-style model's parameter count."""

    hidden: int
    layers: int
    vocab: int
    intermediate: int
    heads: int
    kv_heads: int
    head_dim: int | None = None  # None means hidden // heads
    tied_embeddings: bool = False  # lm_head shares the input embedding matrix
    qkv_bias: bool = False  # Qwen2 puts biases on the q, k and v projections
    qk_norm: bool = False  # Qwen3 normalises queries and keys per head

    @property
    def dim_per_head(self) -> int:
        return self.head_dim or self.hidden // self.heads

    def linear_shapes(self) -> list[tuple[int, int]]:
        """(in, out) of each linear layer in one decoder block: q, k, v, o, gate, up, down."""
        q_out = self.heads * self.dim_per_head
        kv_out = self.kv_heads * self.dim_per_head
        return [(self.hidden, q_out), (self.hidden, kv_out), (self.hidden, kv_out),
                (q_out, self.hidden), (self.hidden, self.intermediate),
                (self.hidden, self.intermediate), (self.intermediate, self.hidden)]

    def layer_params(self) -> int:
        """Parameters of one decoder block (linears, biases, norms)."""
        params = sum(i * o for i, o in self.linear_shapes())
        if self.qkv_bias:
            params += (self.heads + 2 * self.kv_heads) * self.dim_per_head
        params += 2 * self.hidden  # input and post-attention RMSNorm weights
        if self.qk_norm:
            params += 2 * self.dim_per_head
        return params

    def params(self) -> int:
        """All parameters, counting a tied embedding/lm_head matrix once.

        >>> QWEN2_5_1_5B.params()
        1543714304
        """
        embeddings = self.vocab * self.hidden * (1 if self.tied_embeddings else 2)
        return embeddings + self.layers * self.layer_params() + self.hidden  # + final norm

    def lora_params(self, rank: int) -> int:
        """Trainable parameters of rank-`rank` LoRA on every linear of every block ("all-linear").

        >>> QWEN2_5_1_5B.lora_params(16)
        18464768
        """
        return self.layers * rank * sum(i + o for i, o in self.linear_shapes())


QWEN2_5_1_5B = Architecture(hidden=1536, layers=28, vocab=151936, intermediate=8960, heads=12,
                            kv_heads=2, tied_embeddings=True, qkv_bias=True)
QWEN2_5_7B = Architecture(hidden=3584, layers=28, vocab=152064, intermediate=18944, heads=28,
                          kv_heads=4, qkv_bias=True)
QWEN2_5_14B = Architecture(hidden=5120, layers=48, vocab=152064, intermediate=13824, heads=40,
                           kv_heads=8, qkv_bias=True)
QWEN3_1_7B = Architecture(hidden=2048, layers=28, vocab=151936, intermediate=6144, heads=16,
                          kv_heads=8, head_dim=128, tied_embeddings=True, qk_norm=True)
QWEN3_8B = Architecture(hidden=4096, layers=36, vocab=151936, intermediate=12288, heads=32,
                        kv_heads=8, head_dim=128, qk_norm=True)

# Hub names the recipes use, with numbers from each model's published config.json.
KNOWN_ARCHITECTURES: dict[str, Architecture] = {
    "qwen/qwen2.5-1.5b": QWEN2_5_1_5B,
    "qwen/qwen2.5-1.5b-instruct": QWEN2_5_1_5B,
    "qwen/qwen2.5-coder-1.5b-instruct": QWEN2_5_1_5B,
    "qwen/qwen2.5-7b": QWEN2_5_7B,
    "qwen/qwen2.5-7b-instruct": QWEN2_5_7B,
    "qwen/qwen2.5-coder-7b-instruct": QWEN2_5_7B,
    "qwen/qwen2.5-14b-instruct": QWEN2_5_14B,
    "qwen/qwen3-1.7b": QWEN3_1_7B,
    "qwen/qwen3-8b": QWEN3_8B,
}


def from_config(config: dict) -> Architecture:
    """The architecture described by a transformers config.json mapping.

    >>> from_config({"hidden_size": 64, "num_hidden_layers": 2, "vocab_size": 100,
    ...              "intermediate_size": 128, "num_attention_heads": 4}).kv_heads
    4
    """
    config = config.get("text_config", config)
    try:
        heads = int(config["num_attention_heads"])
        model_type = str(config.get("model_type", ""))
        return Architecture(
            hidden=int(config["hidden_size"]), layers=int(config["num_hidden_layers"]),
            vocab=int(config["vocab_size"]), intermediate=int(config["intermediate_size"]),
            heads=heads, kv_heads=int(config.get("num_key_value_heads") or heads),
            head_dim=config.get("head_dim"),
            tied_embeddings=bool(config.get("tie_word_embeddings", False)),
            qkv_bias=bool(config.get("attention_bias", model_type == "qwen2")),
            qk_norm=model_type.startswith("qwen3"))
    except KeyError as exc:
        raise UserError(f"model config lacks {exc.args[0]!r}: cannot size this model") from None


def architecture_for(name_or_path: str) -> tuple[Architecture, str]:
    """(architecture, where it came from) for a recipe's `model.name_or_path`, loading nothing.

    >>> architecture_for("Qwen/Qwen2.5-7B-Instruct")[0].params()
    7615616512
    """
    from reasoning_rl.embedded import ensure_converted, is_embedded

    if is_embedded(name_or_path):
        folder = ensure_converted(name_or_path)
    else:
        folder = Path(name_or_path)
    config_file = folder / "config.json"
    if config_file.is_file():
        return from_config(json.loads(config_file.read_text())), str(config_file)
    known = KNOWN_ARCHITECTURES.get(name_or_path.lower())
    if known is None:
        names = ", ".join(sorted(KNOWN_ARCHITECTURES))
        raise UserError(f"model.name_or_path: cannot size {name_or_path!r} offline; give a local "
                        f"folder with a config.json, or one of: {names}")
    return known, "built-in table (reasoning_rl/model_size.py)"
