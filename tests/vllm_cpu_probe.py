"""Probe run for tests/rollout/test_vllm_cpu.py: GRPO with colocated vLLM rollouts, watched
from outside.

Why a separate process: vLLM's colocate engine joins a torch.distributed group and binds CPU
threads for the life of the process, so each scenario (full fine-tune, LoRA) gets a fresh one.

    python tests/vllm_cpu_probe.py RECIPE.yaml OUT.json      # with PYTHONPATH=.:tests

It trains the recipe and writes to OUT.json, for one fixed probe text (a chat prompt plus a
fixed answer): the per-token log-probabilities and an 8-token greedy continuation computed by
transformers from the policy's weights (before training, and after optimizer step 1) and by the
colocated vLLM engine (before training, and after training). TRL syncs weights into vLLM at
each generation, so after a 2-step run vLLM holds the step-1 weights.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import torch
from transformers import TrainerCallback

PROBE_QUESTION = "What is 17 + 25?"
PROBE_ANSWER = "<think>17 + 25 = 42.</think>\nThe sum is \\boxed{42}."
GREEDY_TOKENS = 8


def length_reward(completions, **kwargs) -> list[float]:
    """Longer completions score higher, so sampled groups almost never tie (a gradient a step)."""
    return [len(c[-1]["content"] if isinstance(c, list) else c) / 100 for c in completions]


def probe_ids(tokenizer) -> tuple[list[int], int]:
    """Token ids of the chat prompt plus the fixed answer, and the prompt's length."""
    messages = [{"role": "user", "content": PROBE_QUESTION}]
    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(PROBE_ANSWER, add_special_tokens=False)["input_ids"]
    return prompt_ids + answer_ids, len(prompt_ids)


@torch.no_grad()
def hf_view(model, ids: list[int], n_prompt: int) -> dict[str, list]:
    """transformers: log-probs of the answer tokens, and the greedy continuation of the prompt."""
    was_training = model.training
    model.eval()
    tokens = torch.tensor([ids])
    logits = model(input_ids=tokens).logits[0, :-1].float()
    logprobs = torch.log_softmax(logits, -1).gather(-1, tokens[0, 1:, None])[:, 0]
    prompt = tokens[:, :n_prompt]
    greedy = model.generate(input_ids=prompt, attention_mask=torch.ones_like(prompt),
                            max_new_tokens=GREEDY_TOKENS, min_new_tokens=GREEDY_TOKENS,
                            do_sample=False)
    model.train(was_training)
    return {"logprobs": logprobs[n_prompt - 1:].tolist(), "greedy": greedy[0, n_prompt:].tolist()}


def vllm_view(llm, ids: list[int], n_prompt: int) -> dict[str, list]:
    """vLLM: the same two measurements, from the engine's current weights."""
    from vllm import SamplingParams

    scored = llm.generate([{"prompt_token_ids": ids}],
                          SamplingParams(max_tokens=1, prompt_logprobs=0), use_tqdm=False)[0]
    logprobs = [entry[token].logprob for entry, token in
                zip(scored.prompt_logprobs[n_prompt:], ids[n_prompt:], strict=True)]
    greedy = llm.generate([{"prompt_token_ids": ids[:n_prompt]}],
                          SamplingParams(temperature=0.0, max_tokens=GREEDY_TOKENS,
                                         min_tokens=GREEDY_TOKENS), use_tqdm=False)[0]
    return {"logprobs": logprobs, "greedy": list(greedy.outputs[0].token_ids)}


class PolicyProbe(TrainerCallback):
    """Records the transformers view of the policy before training and after step 1."""

    def __init__(self, ids: list[int], n_prompt: int, record: dict[str, Any]) -> None:
        self.ids, self.n_prompt, self.record = ids, n_prompt, record

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.record["hf_before"] = hf_view(model, self.ids, self.n_prompt)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step == 1:
            self.record["hf_step1"] = hf_view(model, self.ids, self.n_prompt)


def run(recipe_path: str) -> dict[str, Any]:
    """Build the recipe's trainer, probe, train, probe again; returns the record."""
    from reasoning_rl.data.dataset import load_canonical, to_grpo_dataset
    from reasoning_rl.model.loading import load_policy
    from reasoning_rl.recipe.config import load_recipe
    from reasoning_rl.training import bind_rewards, build_trainer, grpo_settings

    recipe = load_recipe(recipe_path)
    rows = load_canonical(recipe.data.source, recipe.data.split, recipe.data.columns,
                          task=recipe.data.task, lang=recipe.data.lang, limit=recipe.data.limit)
    model, tokenizer, peft_config = load_policy(recipe.model)
    args = grpo_settings(recipe, [])
    started = time.monotonic()
    trainer = build_trainer(recipe, args, model, tokenizer, peft_config, bind_rewards(recipe),
                            to_grpo_dataset(rows, recipe.prompt, tokenizer))
    record: dict[str, Any] = {"build_s": time.monotonic() - started}
    ids, n_prompt = probe_ids(tokenizer)
    trainer.add_callback(PolicyProbe(ids, n_prompt, record))
    llm = trainer.vllm_generation.llm
    record["vllm_dtype"] = str(llm.llm_engine.model_config.dtype)
    record["generation_class"] = type(trainer.vllm_generation).__name__
    record["vllm_before"] = vllm_view(llm, ids, n_prompt)
    started = time.monotonic()
    trainer.train()
    record["train_s"] = time.monotonic() - started
    record["steps"] = trainer.state.global_step
    record["vllm_after"] = vllm_view(llm, ids, n_prompt)
    record["cpu_affinity"] = sorted(os.sched_getaffinity(0))
    record["torch_threads"] = torch.get_num_threads()
    return record


if __name__ == "__main__":
    result = run(sys.argv[1])
    with open(sys.argv[2], "w") as handle:
        json.dump(result, handle, indent=1)
