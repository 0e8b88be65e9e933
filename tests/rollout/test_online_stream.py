"""Learner side of async rollouts: the prompt plan follows TRL's own dataloader, and a
generator that fails or dies stops the learner with a clear error instead of a hang."""

from __future__ import annotations

import os
import re
import signal
import sys
import time

import pytest
import torch
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import GRPOConfig, GRPOTrainer

from reasoning_rl.model.embedded import ensure_converted
from reasoning_rl.rollout.online.stream import GeneratorFailed, plan_prompts


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


def _spec(tmp_path, model_path: str):
    from reasoning_rl.rollout.online.generator import EngineSpec

    return EngineSpec(model=model_path, dtype="float32", seed=0, max_model_len=256,
                      max_num_seqs=4, sampling={"max_tokens": 4}, max_staleness=0,
                      weights_dir=str(tmp_path / "weights"), parent_pid=os.getpid())


def _stream(tmp_path, base, model_path: str, timeout_s: float):
    from reasoning_rl.rollout.online.stream import RolloutStream

    model, tokenizer = base
    rows = [{"prompt": [{"role": "user", "content": f"What is {i} + 1?"}]} for i in range(4)]
    args = GRPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=4, num_generations=2,
                      max_steps=1, report_to=[], use_cpu=True, save_strategy="no")
    trainer = GRPOTrainer(model=model, args=args, reward_funcs=constant_reward,
                          train_dataset=Dataset.from_list(rows), processing_class=tokenizer)
    return RolloutStream(_spec(tmp_path, model_path), trainer, timeout_s), trainer


def test_a_missing_model_folder_is_refused_before_vllm_is_imported(tmp_path, monkeypatch):
    from reasoning_rl.recipe.errors import UserError
    from reasoning_rl.rollout.online.generator import build_engine

    monkeypatch.setitem(sys.modules, "vllm", None)  # importing vLLM now raises ImportError
    spec = _spec(tmp_path, str(tmp_path / "no-such-model"))
    with pytest.raises(UserError, match=f"folder not found: {re.escape(spec.model)}$"):
        build_engine(spec)


def test_an_engine_that_cannot_start_stops_the_learner_with_its_error(tmp_path, base):
    missing = tmp_path / "no-such-model"
    stream, _ = _stream(tmp_path, base, str(missing), timeout_s=600)
    try:
        stream.publish(iter([("w", torch.zeros(1))]))
        # The generator's own error for the bad path, not any failure (vLLM missing, say).
        with pytest.raises(GeneratorFailed, match="the generator failed: UserError: "
                           f"model.name_or_path: folder not found: {re.escape(str(missing))}$"):
            stream.take([[1, 2, 3]] * 4)
    finally:
        stream.close()
    assert not stream.process.is_alive()


def test_a_killed_generator_stops_the_learner_within_seconds(tmp_path, base):
    stream, _ = _stream(tmp_path, base, str(tmp_path / "no-such-model"), timeout_s=600)
    os.kill(stream.process.pid, signal.SIGKILL)
    stream.process.join(timeout=30)
    started = time.monotonic()
    with pytest.raises(GeneratorFailed, match=r"the generator process exited \(code -9\)"):
        stream.take([[1, 2, 3]] * 4)
    assert time.monotonic() - started < 30  # bounded: a liveness check every second
    stream.close()
