"""Scaffolded rollouts: the sampler sees the worked example, the update and the rewards do not.

One real training step on the embedded model with a scaffold share of 1 (step 0 of 1): the
prompt ids handed to generation must be the scaffolded prompt's, while the batch the loss is
computed on, and the prompts the reward function sees, must be the plain prompt's.
"""

from __future__ import annotations

import copy
import re

import pytest
import torch
import trl
import yaml
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
from trl import GRPOConfig

from reasoning_rl.model.embedded import ensure_converted
from reasoning_rl.objective.batch import SCAFFOLD_LOGPS_KEY, SCAFFOLD_ROW_KEY
from reasoning_rl.objective.trainer import MagistralGRPOTrainer
from reasoning_rl.recipe.config import load_recipe
from reasoning_rl.recipe.errors import RecipeError
from reasoning_rl.recipe.objective_section import ObjectiveSection
from reasoning_rl.rollout.scaffold import Scaffold

HINT = "Worked example: 2 + 2 = 4."


def text_prompt(problem: str, hint: bool = False) -> str:
    return (HINT + "\n" if hint else "") + f"Question: {problem}\nAnswer:"


def chat_prompt(problem: str, hint: bool = False) -> list[dict[str, str]]:
    turns = [{"role": "user", "content": "2 + 2?"}, {"role": "assistant", "content": HINT}]
    return (turns if hint else []) + [{"role": "user", "content": problem}]


@pytest.mark.parametrize("build, rows", [(text_prompt, None), (chat_prompt, None),
                                         (text_prompt, 1)], ids=["text", "chat", "text-mixed"])
def test_sampler_sees_the_scaffold_and_the_update_does_not(tmp_path, build, rows):
    """Also with `rows` = 1 of each group of 2 hinted (mixed groups), and each row's `lang`
    reaching the hinted prompt (the scaffold's per-language examples)."""
    folder = ensure_converted("embedded:smollm2-135m-instruct")
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    problems = ["What is 1 + 1?", "What is 3 + 5?"]
    langs = ["en", "fr"]
    dataset = Dataset.from_dict({"prompt": [build(p) for p in problems], "problem": problems,
                                 "lang": langs})
    hinted_for: list[tuple[str, str]] = []

    def hinted(problem: str, lang: str) -> object:
        hinted_for.append((problem, lang))
        return build(problem, hint=True)
    seen: dict[str, list] = {"generated_from": [], "trained_on": [], "rewarded": []}

    def reward(prompts, completions, **kwargs):
        seen["rewarded"].extend(str(p) for p in prompts)
        # str(): a chat completion is a list of messages; its text length varies, so groups
        # almost never tie (a tied group is skipped before the loss and trains on nothing).
        return [float(len(str(c))) for c in completions]

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
    trainer = Recording(model=model, args=args, reward_funcs=[reward], train_dataset=dataset,
                        processing_class=tokenizer, objective=ObjectiveSection(),
                        scaffold=Scaffold(hinted, steps=1, rows=rows))
    trainer.train()

    assert len(seen["generated_from"]) == len(seen["rewarded"]) == 4 and seen["trained_on"]
    hints = [HINT in text for text in seen["generated_from"]]
    assert hints == ([True] * 4 if rows is None else [True, False, True, False])
    assert sorted(set(hinted_for)) == sorted(zip(problems, langs, strict=True))
    assert not any(HINT in text for text in seen["trained_on"] + seen["rewarded"])
    assert sorted(set(seen["rewarded"])) == sorted(str(build(p)) for p in problems)
    assert all(any(p in text for p in problems) for text in seen["trained_on"])
    assert trainer.state.log_history[0]["scaffold/hinted_frac"] == (1.0 if rows is None else 0.5)


EXAMPLE = {"user": "1 + 1?", "assistant": "2"}


@pytest.mark.parametrize("sections, message", [
    ({"rollout": {"scaffold_steps": 5}},
     "rollout.scaffold_steps: 5 steps of scaffold but rollout.scaffold_examples is empty"),
    ({"rollout": {"scaffold_examples": [EXAMPLE]}},
     "rollout.scaffold_examples: set rollout.scaffold_steps > 0"),
    ({"rollout": {"scaffold_steps": 2, "scaffold_examples": [EXAMPLE]}, "algorithm": "trl"},
     "rollout.scaffold_steps: the scaffold needs algorithm: magistral"),
    ({"rollout": {"scaffold_steps": 2, "scaffold_examples": [EXAMPLE]},
      "trainer": {"use_vllm": True}},
     "rollout.scaffold_steps: scaffolded samples come from another prompt"),
    ({"rollout": {"scaffold_steps": 2, "scaffold_examples": [EXAMPLE], "scaffold_rows": 9},
      "trainer": {"num_generations": 8}},
     "rollout.scaffold_rows: expected 1 to trainer.num_generations (8) hinted rows per "
     "scaffolded group; got 9"),
    ({"rollout": {"scaffold_rows": 1}},
     "rollout.scaffold_rows: no scaffold to mix in"),
    ({"objective": {"scaffold_weighting": "luffy"}},
     "objective.scaffold_weighting: expected one of tis, shaped, likelihood; got 'luffy'"),
    ({"objective": {"scaffold_shaping_gamma": 0}},
     "objective.scaffold_shaping_gamma: expected a number > 0"),
    ({"objective": {"scaffold_steps": 5}},  # where older recipes had it
     "objective.scaffold_steps: moved to rollout.scaffold_steps (same value); rename the key"),
])
def test_half_a_scaffold_is_a_recipe_error(tmp_path, sections, message):
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump({
        "data": {"source": "data/arithmetic_train.jsonl"},
        "rewards": [{"fn": "rewards.trl_functions.format_reward"}],
        "algorithm": "magistral", **sections}))
    with pytest.raises(RecipeError, match=re.escape(message)):
        load_recipe(path)


@pytest.mark.parametrize("weighting", ["tis", "shaped", "likelihood"])
def test_hinted_samples_are_weighted_by_the_truncated_plain_over_hinted_ratio(tmp_path,
                                                                             weighting):
    """The update on scaffolded samples is the paper's surrogate times, per token,
    min(pi(y | plain) / mu(y | hinted), cap) ("tis"), or LUFFY's pi / (pi + gamma) times the
    advantage, unclipped ("shaped"), or the advantage times log pi's gradient ("likelihood"):
    mu is the sampling model on the hinted prompt (checked
    against an independent forward), and the applied gradient equals the one computed here from
    the formula by hand."""
    folder = ensure_converted("embedded:smollm2-135m-instruct")
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    problems = ["What is 1 + 1?", "What is 3 + 5?"]
    dataset = Dataset.from_dict({"prompt": [text_prompt(p) for p in problems],
                                 "problem": problems})
    cap, gamma, grads, batches = 1.5, 0.05, {}, []

    class Recording(MagistralGRPOTrainer):
        def _compute_loss(self, model, inputs):
            batches.append(dict(inputs))
            return super()._compute_loss(model, inputs)

    class Capture(TrainerCallback):
        def on_pre_optimizer_step(self, args, state, control, model=None, **kwargs):
            grads.update({n: p.grad.clone() for n, p in model.named_parameters()
                          if n in CHECKED and p.grad is not None})

    args = GRPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=4, num_generations=2,
                      max_completion_length=6, max_steps=1, report_to=[], use_cpu=True,
                      save_strategy="no", beta=0.0, learning_rate=1e-5, seed=0, max_grad_norm=0.0,
                      bf16=False)  # float32: the reference is TRL's per-sample scoring
    objective = ObjectiveSection(scaffold_is_cap=cap, scaffold_weighting=weighting,
                                 scaffold_shaping_gamma=gamma)
    trainer = Recording(model=model, args=args, reward_funcs=[_length_reward],
                        train_dataset=dataset, processing_class=tokenizer, objective=objective,
                        scaffold=Scaffold(lambda problem, lang: text_prompt(problem, hint=True), 1),
                        callbacks=[Capture()])
    untrained = copy.deepcopy(trainer.model)  # with the fused LM head TRL's helper expects
    trainer.train()

    [inputs] = batches
    assert inputs[SCAFFOLD_ROW_KEY].tolist() == [1.0] * 4  # share 1: every group hinted
    completion, mask = inputs["completion_ids"], inputs["completion_mask"]
    plain = _logps(trainer, untrained, tokenizer, problems, inputs, hint=False)
    with torch.no_grad():
        hinted = _logps(trainer, untrained, tokenizer, problems, inputs, hint=True)
    on = mask.bool()
    torch.testing.assert_close(inputs[SCAFFOLD_LOGPS_KEY][on], hinted[on], rtol=0, atol=1e-4)
    weights = torch.exp(plain.detach() - hinted).clamp(max=cap)
    ratio = torch.exp(plain - plain.detach())
    adv = inputs["advantages"].unsqueeze(1)
    surrogate = torch.minimum(ratio * adv, ratio.clamp(0.8, 1.28) * adv) * weights
    if weighting == "shaped":
        surrogate = plain.exp() / (plain.exp() + gamma) * adv
    if weighting == "likelihood":
        surrogate = torch.exp(plain - plain.detach()) * adv
    group = torch.arange(completion.shape[0]) // 2
    loss = -sum((surrogate[group == g] * mask[group == g]).sum() / mask[group == g].sum()
                for g in group.unique()) / len(group.unique())
    untrained.zero_grad()
    loss.backward()
    for name, param in untrained.named_parameters():
        if name in CHECKED:
            torch.testing.assert_close(grads[name], param.grad, rtol=1e-4, atol=1e-8)
    logged = trainer.state.log_history[0]
    if weighting == "shaped":
        shaped = plain.detach().exp() / (plain.detach().exp() + gamma)
        assert logged["scaffold/shaped_mean"] == pytest.approx(float(shaped[on].mean()), rel=1e-4)
    elif weighting == "tis":
        assert logged["scaffold/is_weight_mean"] == pytest.approx(
            float(weights[on].mean()), rel=1e-4)
    assert logged["scaffold/kept_rows_plain"] == 0.0


CHECKED = ("model.norm.weight", "model.layers.0.self_attn.q_proj.weight")


def _length_reward(prompts, completions, **kwargs):
    return [float(len(str(c))) for c in completions]  # groups almost never tie


def _logps(trainer, model, tokenizer, problems, inputs, hint):
    """Per-token log-probs of the batch's completions after each row's plain or hinted prompt,
    tokenized here from the problem text (rows are matched to problems by their plain prompt)."""
    rows = []
    for ids, mask in zip(inputs["prompt_ids"], inputs["prompt_mask"], strict=True):
        shown = tokenizer.decode(ids[mask.bool()])
        problem = next(p for p in problems if p in shown)
        rows.append(tokenizer(text_prompt(problem, hint=hint))["input_ids"])
    width = max(len(r) for r in rows)
    prompt = torch.tensor([[tokenizer.pad_token_id] * (width - len(r)) + r for r in rows])
    prompt_mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows])
    completion = inputs["completion_ids"]
    logps, _, _ = trl.GRPOTrainer._get_per_token_logps_and_entropies(  # TRL's per-sample
        trainer, model, torch.cat([prompt, completion], dim=1),
        torch.cat([prompt_mask, inputs["completion_mask"]], dim=1), completion.shape[1])
    return logps


def test_the_scaffold_is_refused_under_async_rollouts():
    from reasoning_rl.recipe.rollout_section import RolloutSection, check_async

    with pytest.raises(RecipeError, match="rollout.scaffold_steps: the scaffold is not "
                                          "supported with rollout.mode: async"):
        check_async(RolloutSection(mode="async", scaffold_steps=20), {"use_vllm": True}, 0)
