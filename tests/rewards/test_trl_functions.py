import threading

import pytest

from rewards.total import score
from rewards.trl_functions import (
    correctness_reward,
    format_reward,
    language_reward,
    length_penalty,
    total_reward,
)

PROMPT = "Quelle est la somme de deux et deux ? Expliquez votre raisonnement."
COMPLETIONS = [
    "<think>Deux plus deux font quatre, c'est simple.</think> La réponse est $\\boxed{4}$.",
    "<think>Two plus two is four, obviously.</think> La réponse est $\\boxed{4}$.",
    "<think>Deux plus deux font cinq, je crois.</think> La réponse est $\\boxed{5}$.",
    "La réponse est $\\boxed{4}$.",
    "",
]
LENGTHS = [10, 95, 99, 10, 0]
COMPONENTS = [format_reward, correctness_reward, length_penalty, language_reward]


def _call(fn, completions, **params):
    size = len(completions)
    return fn(prompts=[PROMPT] * size, completions=completions,
              completion_ids=[[1] * n for n in LENGTHS[:size]], answer=["4"] * size,
              task=["math"] * size, lang=[""] * size, trainer_state=None, **params)


def test_components_per_completion():
    assert _call(format_reward, COMPLETIONS) == [0.1, 0.1, 0.1, 0.0, 0.0]
    assert _call(correctness_reward, COMPLETIONS) == [0.9, 0.9, 0.0, 0.0, 0.0]
    assert _call(language_reward, COMPLETIONS) == [0.1, 0.0, 0.1, 0.0, 0.0]
    penalties = _call(length_penalty, COMPLETIONS, l_max=100, l_cache=10)
    assert penalties == pytest.approx([0.0, -0.05, -0.09, 0.0, 0.0])


def test_sum_of_components_equals_the_total_exactly():
    columns = [_call(fn, COMPLETIONS, **({"l_max": 100, "l_cache": 10}
                                         if fn is length_penalty else {})) for fn in COMPONENTS]
    for row, completion in enumerate(COMPLETIONS):
        expected = score(PROMPT, completion, task="math", answer="4", length_tokens=LENGTHS[row],
                         l_max=100, l_cache=10)
        assert sum(column[row] for column in columns) == expected.total
    combined = _call(total_reward, COMPLETIONS, l_max=100, l_cache=10)
    assert combined == [sum(column[row] for column in columns) for row in range(len(COMPLETIONS))]


def test_conversational_prompts_and_completions():
    prompts = [[{"role": "system", "content": "Réponds."}, {"role": "user", "content": PROMPT}]]
    completions = [[{"role": "assistant", "content": COMPLETIONS[0]}]]
    assert total_reward(prompts=prompts, completions=completions, answer=["4"]) == [1.1]


def test_code_task_uses_tests_column():
    good = "<think>Add them.</think>\n```python\ndef add(a, b):\n    return a + b\n```"
    bad = good.replace("a + b", "a - b")
    rewards = correctness_reward(prompts=["Write add."] * 2, completions=[good, bad],
                                 task=["code"] * 2, answer=["", ""],
                                 tests=[["assert add(1, 2) == 3"]] * 2)
    assert rewards == [0.9, 0.0]


def test_works_from_a_worker_thread():
    results = []
    thread = threading.Thread(target=lambda: results.append(_call(correctness_reward,
                                                                  COMPLETIONS)))
    thread.start()
    thread.join(60)
    assert results == [[0.9, 0.9, 0.0, 0.0, 0.0]]


def test_function_names_are_short_for_logging():
    assert [fn.__name__ for fn in COMPONENTS] == [
        "format_reward", "correctness_reward", "length_penalty", "language_reward"]


def test_task_column_any_case_and_unknown_task_is_unscorable():
    good = COMPLETIONS[0]
    tasks = ["Math", "MATH", "poetry"]
    assert correctness_reward(prompts=[PROMPT] * 3, completions=[good] * 3, answer=["4"] * 3,
                              task=tasks) == [0.9, 0.9, None]
    assert format_reward(completions=[good] * 3, task=tasks) == [0.1, 0.1, 0.0]
    assert total_reward(prompts=[PROMPT] * 3, completions=[good] * 3, answer=["4"] * 3,
                            task=tasks) == [1.1, 1.1, 0.0]


def test_empty_box_earns_neither_format_nor_language():
    empty = "<think>Deux plus deux font quatre.</think> La réponse est $\\boxed{}$."
    assert _call(total_reward, [empty]) == [0.0]
