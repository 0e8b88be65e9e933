"""Greedy evaluation on a held-out split: did training change what the model answers?

Why: rewards logged during training are measured on sampled completions of training prompts.
The question a smoke run must answer is different: on problems it never trained on, with
greedy decoding, does the model now follow the format and answer correctly? Scoring goes
through the `rewards` package (the same format gate and math check as training).
"""

from __future__ import annotations

from typing import Any

from reasoning_rl.generation import Sampling, generate_with_model
from reasoning_rl.prompting import Prompt, PromptSection, build_prompt, stop_strings
from rewards.format import check_format
from rewards.math_answer import check_many


def generate_greedy(model, tokenizer, prompts: list[Prompt], *, max_new_tokens: int,
                    batch_size: int, stop: tuple[str, ...] = ()) -> list[tuple[str, int]]:
    """Greedy completions (text, token count) for prompts, in batches.

    >>> generate_greedy(model, tok, [[{"role": "user", "content": "Hi"}]],
    ...                 max_new_tokens=8, batch_size=1)  # doctest: +SKIP
    [('Hello! How can I help you today?', 8)]
    """
    groups = generate_with_model(model, tokenizer, prompts,
                                 Sampling(max_new_tokens=max_new_tokens, stop=stop),
                                 batch_size=batch_size)
    return [(group[0].text, group[0].tokens) for group in groups]


def score_math(completions: list[str], answers: list[str]) -> dict[str, float]:
    """Format rate and accuracy (format gate passed and answer equivalent) of completions.

    >>> score_math(["<think>1+1</think> \\\\boxed{2}", "2"], ["2", "2"])
    {'format_rate': 0.5, 'accuracy': 0.5, 'n': 2}
    """
    formatted = [check_format(c, "math").passed for c in completions]
    correct = check_many(completions, answers)
    n = len(completions)
    accurate = sum(bool(f and c) for f, c in zip(formatted, correct, strict=True))
    return {"format_rate": sum(formatted) / n if n else 0.0,
            "accuracy": accurate / n if n else 0.0, "n": n}


def evaluate_heldout(model, tokenizer, rows: list[dict[str, Any]], prompt: PromptSection, *,
                     max_new_tokens: int, batch_size: int) -> dict[str, Any]:
    """Greedy-decode every held-out row and score it; returns format_rate, accuracy, n, ..."""
    prompts = [build_prompt(row["prompt"], prompt, tokenizer) for row in rows]
    outputs = generate_greedy(model, tokenizer, prompts, max_new_tokens=max_new_tokens,
                              batch_size=batch_size, stop=tuple(stop_strings(prompt, tokenizer)))
    completions = [text for text, _ in outputs]
    result = score_math(completions, [row["answer"] for row in rows])
    result["mean_completion_tokens"] = sum(n for _, n in outputs) / max(len(outputs), 1)
    result["examples"] = [{"prompt": r["prompt"], "completion": c}
                          for r, c in zip(rows[:3], completions[:3], strict=True)]
    return result
