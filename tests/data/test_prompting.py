"""Prompts for chat and base models: one builder, and the same answer text on every path.

A model without a chat template (the embedded base Gemma 3 270M) gets the plain-text prompt
ending in `Assistant: <think>`; the rewards in training, the held-out and benchmark evaluation
and difficulty filtering must all see that `<think>` plus the completion cut at the stop
string. These tests run the real tokenizers and the real base model.
"""

from __future__ import annotations

import pytest

from reasoning_rl.curation.filter_difficulty import DifficultyOptions, score_chunk
from reasoning_rl.data.dataset import to_grpo_dataset
from reasoning_rl.data.prompting import TEXT_STOP, build_prompt, stop_strings
from reasoning_rl.eval.evaluate import EvalOptions, evaluate_rows
from reasoning_rl.eval.generation import Sampling, TransformersBackend
from reasoning_rl.model.loading import load_tokenizer, resolve_model_path
from reasoning_rl.recipe.config import load_recipe
from reasoning_rl.recipe.errors import RecipeError
from reasoning_rl.recipe.prompt_section import ExampleTurn, PromptSection
from reasoning_rl.training import text_prompt_view
from rewards.trl_functions import format_reward

ROWS = [{"prompt": "What is 12 + 30?", "answer": "42", "task": "math", "lang": "en",
         "tests": [], "source": "t"},
        {"prompt": "What is 7 * 6?", "answer": "42", "task": "math", "lang": "en",
         "tests": [], "source": "t"}]
EXAMPLE = PromptSection(examples=[ExampleTurn("What is 23 + 19?",
                                              "<think>23 + 19 = 42</think>\nIt is \\boxed{42}.")])


@pytest.fixture(scope="module")
def gemma() -> TransformersBackend:
    return TransformersBackend(resolve_model_path("embedded:gemma3-270m"), batch_size=4)


@pytest.fixture(scope="module")
def smollm_tokenizer():
    return load_tokenizer(resolve_model_path("embedded:smollm2-135m-instruct"))


def test_a_model_without_chat_template_gets_the_text_prompt(gemma, smollm_tokenizer):
    text = build_prompt("What is 2 + 2?", EXAMPLE, gemma.tokenizer)
    assert isinstance(text, str) and text.endswith("\nUser: What is 2 + 2?\nAssistant: <think>")
    assert "User: What is 23 + 19?\nAssistant: <think>23 + 19 = 42</think>" in text
    assert stop_strings(EXAMPLE, gemma.tokenizer) == TEXT_STOP

    chat = build_prompt("What is 2 + 2?", EXAMPLE, smollm_tokenizer)
    assert [m["role"] for m in chat] == ["system", "user", "assistant", "user"]
    assert stop_strings(EXAMPLE, smollm_tokenizer) == []

    custom = PromptSection(template="Q: {problem}\nA: <think>", stop=["\nQ:"])
    assert build_prompt("1+1?", custom, smollm_tokenizer) == "Q: 1+1?\nA: <think>"
    assert stop_strings(custom, smollm_tokenizer) == ["\nQ:"]


def test_training_dataset_holds_the_text_prompt_and_the_problem(gemma):
    data = to_grpo_dataset(ROWS, EXAMPLE, gemma.tokenizer)
    assert data[0]["prompt"].endswith("User: What is 12 + 30?\nAssistant: <think>")
    assert data[0]["problem"] == "What is 12 + 30?" and data[0]["answer"] == "42"


def test_rewards_see_the_opener_and_the_cut_completion():
    reward = text_prompt_view(format_reward, TEXT_STOP)
    prompt = build_prompt("What is 2 + 2?", PromptSection(template="{problem}\n<think>"), None)
    completion = "2 + 2 = 4</think> \\boxed{4}\nUser: What is 3 + 3?\nAssistant: <think>6</think>"
    assert format_reward(prompts=[prompt], completions=[completion]) == [0.0]
    assert reward(prompts=[prompt], completions=[completion], problem=["What is 2 + 2?"],
                  task=["math"]) == [0.1]
    chat = [[{"role": "user", "content": "What is 2 + 2?"}]]
    assert reward(prompts=chat, completions=["2 + 2 = 4</think> \\boxed{4}"]) == [0.0]
    assert reward.__name__ == "format_reward"


def test_benchmark_eval_and_difficulty_filter_use_the_text_prompt(gemma):
    options = EvalOptions(model="policy", benchmarks=[], max_new_tokens=24, prompt=EXAMPLE)
    _, records = evaluate_rows(gemma, ROWS, options)
    texts = [s["text"] for r in records for s in r["samples"]]
    assert len(texts) == 2
    assert all(t.startswith("<think>") and "\nUser:" not in t for t in texts)

    scored = score_chunk(gemma, ROWS[:1], DifficultyOptions(samples=2, max_new_tokens=24,
                                                            prompt=EXAMPLE), seed=0)
    assert scored[0]["samples"] == 2


def test_generation_stops_at_the_stop_string(gemma):
    prompt = build_prompt("What is 40 + 2?", EXAMPLE, gemma.tokenizer)
    sampling = Sampling(n=1, max_new_tokens=40, stop=tuple(TEXT_STOP))
    [[stopped]] = gemma.generate([prompt], sampling)
    [[free]] = gemma.generate([prompt], Sampling(n=1, max_new_tokens=40))
    # Greedy: the unstopped run writes the next "User:" turn; the stopped run ends there.
    assert "\nUser:" in free.text and free.tokens == 40
    assert "\nUser:" not in stopped.text and stopped.tokens < 40
    assert free.text.startswith(stopped.text) and stopped.text.startswith("<think>")


def test_a_template_with_unknown_fields_is_a_recipe_error():
    with pytest.raises(RecipeError, match=r"prompt.template: unknown field \{question\}"):
        load_recipe("recipes/smoke_cpu_base.yaml", ["prompt.template='Q: {question}'"])
    with pytest.raises(RecipeError, match=r"eval.prompt.template: the template has no"):
        load_recipe("recipes/smoke_cpu_base.yaml", ["eval.prompt.template='Q:'"])


def test_chat_messages_to_a_model_without_chat_template_are_a_user_error(gemma):
    from reasoning_rl.recipe.errors import UserError

    with pytest.raises(UserError, match="no chat template"):
        gemma.generate([[{"role": "user", "content": "Hi"}]], Sampling(max_new_tokens=2))
