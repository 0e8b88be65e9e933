"""Training data: canonical rows from files and the prompts built from them.

- `dataset`: reading json/jsonl/parquet, column mapping, the GRPO dataset TRL takes;
- `prompting`: system prompt, worked examples, chat or plain-text prompts, stop strings.
"""
