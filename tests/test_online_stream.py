"""The generator's prompt plan is the batch order TRL's own dataloader produces."""

from __future__ import annotations

import pytest
import torch
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import GRPOConfig, GRPOTrainer

from reasoning_rl.embedded import ensure_converted
from reasoning_rl.online.stream import plan_prompts


def constant_reward(completions, **kwargs) -> list[float]:
    return [0.0] * len(completions)


@pytest.fixture(scope="module")
def base():
    folder = ensure_converted("embedded:smollm2-135m-instruct")
    return AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32), \
        AutoTokenizer.from_pretrained(folder)


@pytest.mark.parametrize("accumulation", [1, 2])
def test_plan_matches_the_trainers_dataloader_over_two_epochs(tmp_path, base, accumulation):
    model, tokenizer = base
    rows = [{"prompt": [{"role": "user", "content": f"What is {i} + {i}?"}]} for i in range(12)]
    args = GRPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=4, num_generations=2,
                      gradient_accumulation_steps=accumulation, max_steps=1, report_to=[],
                      use_cpu=True, seed=7, save_strategy="no")
    trainer = GRPOTrainer(model=model, args=args, reward_funcs=constant_reward,
                          train_dataset=Dataset.from_list(rows), processing_class=tokenizer)
    loader = trainer.get_train_dataloader()
    seen = []
    for _epoch in range(2):  # the trainer iterates the same loader once per epoch
        for index, batch in enumerate(loader):
            if index % accumulation == 0:  # TRL generates at the first micro-step only
                seen.append(trainer._tokenize_prompts([row["prompt"] for row in batch])[0])
    planned = plan_prompts(trainer)
    expected = [next(planned) for _ in seen]
    assert len(seen) == 12 // (4 // 2) * 2 // accumulation
    assert expected == seen
    assert len({tuple(map(tuple, batch)) for batch in seen}) > 1  # shuffled, not one batch
