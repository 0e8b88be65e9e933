"""One real GRPO step from the base checkpoint (embedded Gemma 3 270M, no chat template).

The recipe names no template, so every path must fall back to the plain-text prompt: the
dataset TRL trains on, the rewards (which must see the prompt's `<think>` plus a completion cut
at the stop string, or the strict format gate could never pass) and the held-out evaluation.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from transformers import AutoTokenizer

from reasoning_rl.recipe.config import load_recipe
from reasoning_rl.run.metrics import read_metrics
from reasoning_rl.training import train

REPO = Path(__file__).resolve().parents[1]
SEEN: list[tuple[str, str, str, list[int]]] = []
GEMMA_PAD, GEMMA_EOS = 0, 1
MAX_TOKENS = 32


def seen_reward(prompts, completions, problem, completion_ids, **columns) -> list[float]:
    """Records what a reward function receives; scores by length so groups differ."""
    SEEN.extend(zip(prompts, completions, problem, completion_ids, strict=True))
    return [len(c) / 100 for c in completions]


def test_one_grpo_step_on_the_base_model_uses_the_text_prompt_everywhere(tmp_path):
    recipe = yaml.safe_load((REPO / "recipes/smoke_cpu_base.yaml").read_text())
    recipe["run"]["output_dir"] = str(tmp_path / "run")
    recipe["data"] = {"source": str(REPO / "data/arithmetic_train.jsonl"), "limit": 8}
    recipe["rewards"].append({"fn": "test_train_base.seen_reward"})
    recipe["trainer"].update(max_steps=1, num_generations=2, per_device_train_batch_size=2,
                             max_completion_length=MAX_TOKENS)
    recipe["eval"]["heldout"] = {"source": str(REPO / "data/arithmetic_heldout.jsonl"),
                                 "limit": 2}
    recipe["eval"]["max_new_tokens"] = 24
    path = tmp_path / "base.yaml"
    path.write_text(yaml.safe_dump(recipe))
    SEEN.clear()

    summary = train(load_recipe(path))

    assert summary["steps"] == 1
    metrics = read_metrics(tmp_path / "run")[0]
    assert {"rewards/format_reward/mean", "rewards/seen_reward/mean"} <= set(metrics)
    assert SEEN, "the reward function was never called"
    for prompt, completion, problem, ids in SEEN:
        assert prompt == problem and prompt.startswith("What is ")  # the problem, not the text
        assert completion.startswith("<think>") and "\nUser:" not in completion
        # A rollout stopped at "\nUser:" may be padded up to the batch's longest; TRL would
        # train padding as completion tokens, so padding is the EOS its mask ends at.
        assert GEMMA_PAD not in ids and GEMMA_EOS not in ids[:-1] and len(ids) <= MAX_TOKENS
    # ... through the rollouts' generation option: the tokenizer shipped in final/ keeps its pad
    assert AutoTokenizer.from_pretrained(tmp_path / "run" / "final").pad_token_id == GEMMA_PAD
    for name in ("eval_before", "eval_after"):
        examples = summary[name]["examples"]
        assert len(examples) == 2
        assert all(e["completion"].startswith("<think>") for e in examples)
        assert all("\nUser:" not in e["completion"] for e in examples)
