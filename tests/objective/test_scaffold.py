"""Scaffolded rollouts: the sampler sees the worked example, the update and the rewards do not.

One real training step on the embedded model with a scaffold share of 1 (step 0 of 1): the
prompt ids handed to generation must be the scaffolded prompt's, while the batch the loss is
computed on, and the prompts the reward function sees, must be the plain prompt's.
"""

from __future__ import annotations

import pytest
import torch
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import GRPOConfig

from reasoning_rl.config import load_recipe
from reasoning_rl.embedded import ensure_converted
from reasoning_rl.errors import RecipeError
from reasoning_rl.objective.section import ObjectiveSection
from reasoning_rl.objective.trainer import MagistralGRPOTrainer
from reasoning_rl.prompting import ExampleTurn

HINT = "Worked example: 2 + 2 = 4."


def text_prompt(problem: str, hint: bool = False) -> str:
    return (HINT + "\n" if hint else "") + f"Question: {problem}\nAnswer:"


def chat_prompt(problem: str, hint: bool = False) -> list[dict[str, str]]:
    turns = [{"role": "user", "content": "2 + 2?"}, {"role": "assistant", "content": HINT}]
    return (turns if hint else []) + [{"role": "user", "content": problem}]


@pytest.mark.parametrize("build", [text_prompt, chat_prompt], ids=["text", "chat"])
def test_sampler_sees_the_scaffold_and_the_update_does_not(tmp_path, build):
    folder = ensure_converted("embedded:smollm2-135m-instruct")
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    problems = ["What is 1 + 1?", "What is 3 + 5?"]
    dataset = Dataset.from_dict({"prompt": [build(p) for p in problems], "problem": problems})
    seen: dict[str, list] = {"generated_from": [], "trained_on": [], "rewarded": []}

    def reward(prompts, completions, **kwargs):
        seen["rewarded"].extend(str(p) for p in prompts)
        return [float(len(c)) for c in completions]  # groups almost never tie

    class Recording(MagistralGRPOTrainer):
        def _generate_single_turn(self, prompt_ids, *args, **kwargs):
            seen["generated_from"].extend(tokenizer.decode(ids) for ids in prompt_ids)
            return super()._generate_single_turn(prompt_ids, *args, **kwargs)

        def _compute_loss(self, model, inputs):
            for ids, mask in zip(inputs["prompt_ids"], inputs["prompt_mask"], strict=True):
                seen["trained_on"].append(tokenizer.decode(ids[mask.bool()]))
            return super()._compute_loss(model, inputs)

    args = GRPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=4, num_generations=2,
                      max_completion_length=6, max_steps=1, report_to=[], use_cpu=True,
                      save_strategy="no", beta=0.0, learning_rate=1e-5, seed=0)
    objective = ObjectiveSection(scaffold_steps=1, scaffold_examples=[ExampleTurn("u", "a")])
    trainer = Recording(model=model, args=args, reward_funcs=[reward], train_dataset=dataset,
                        processing_class=tokenizer, objective=objective,
                        scaffold=lambda problem: build(problem, hint=True))
    trainer.train()

    assert len(seen["generated_from"]) == len(seen["rewarded"]) == 4 and seen["trained_on"]
    assert all(HINT in text for text in seen["generated_from"])
    assert not any(HINT in text for text in seen["trained_on"] + seen["rewarded"])
    assert sorted(set(seen["rewarded"])) == sorted(str(build(p)) for p in problems)
    assert all(any(p in text for p in problems) for text in seen["trained_on"])
    assert trainer.state.log_history[0]["scaffold/hinted_frac"] == 1.0


@pytest.mark.parametrize("objective, message", [
    ({"scaffold_steps": 5}, "objective.scaffold_steps: 5 steps of scaffold but "
                            "objective.scaffold_examples is empty"),
    ({"scaffold_examples": [{"user": "1 + 1?", "assistant": "2"}]},
     "objective.scaffold_examples: set objective.scaffold_steps > 0"),
])
def test_half_a_scaffold_is_a_recipe_error(tmp_path, objective, message):
    path = tmp_path / "r.yaml"
    path.write_text(
        "data: {source: data/arithmetic_train.jsonl}\n"
        "rewards: [{fn: rewards.trl_functions.format_reward}]\n"
        f"algorithm: magistral\nobjective: {objective}\n")
    with pytest.raises(RecipeError, match=message.replace("+", r"\+").replace("?", r"\?")):
        load_recipe(path)
