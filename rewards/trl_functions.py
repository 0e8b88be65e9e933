"""Magistral's reward as TRL ``GRPOTrainer`` reward functions, one per logged component.

TRL calls each function with the whole batch (``prompts``, ``completions``, ``completion_ids``
and every dataset column as a list) and logs ``rewards/<function name>/mean``. Splitting the
reward into components lets training curves show format, correctness, length and language
separately; with weight 1.0 each their sum is exactly ``rewards.total.score(...).total``.
Completions and prompts may be plain strings or chat messages. Heavy work (math-verify, code
execution) goes to worker processes and threads that live across calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rewards import total
from rewards.format import FORMAT_REWARD
from rewards.total import RewardSettings, Sample


def message_text(value: Any, role: str | None = None) -> str:
    """The text of a string, or of the last message (of ``role``, if given) in a chat list.

    >>> message_text([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}],
    ...              role="user")
    'Hi'
    """
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return str(value.get("content", ""))
    if isinstance(value, (list, tuple)):
        messages = [m for m in value if isinstance(m, dict)]
        if role is not None:
            messages = [m for m in messages if m.get("role") == role] or messages
        return message_text(messages[-1]) if messages else ""
    return "" if value is None else str(value)


def _column(values: Sequence[Any] | None, size: int, default: Any = None) -> list[Any]:
    return list(values) if values is not None else [default] * size


def _samples(prompts: Sequence[Any] | None, completions: Sequence[Any],
             completion_ids: Sequence[Sequence[int]] | None, columns: dict[str, Any]
             ) -> list[Sample]:
    size = len(completions)
    lengths = [len(ids) for ids in completion_ids] if completion_ids is not None else [None] * size
    return [Sample(prompt=message_text(prompt, role="user"),
                   completion=message_text(completion, role="assistant"),
                   task=task or "math", answer=None if answer is None else str(answer),
                   tests=tests, length_tokens=length, lang=lang or None)
            for prompt, completion, task, answer, tests, length, lang in zip(
                _column(prompts, size, ""), completions, _column(columns.get("task"), size),
                _column(columns.get("answer"), size), _column(columns.get("tests"), size),
                lengths, _column(columns.get("lang"), size), strict=True)]


def format_reward(prompts: Sequence[Any] | None = None, completions: Sequence[Any] = (),
                  completion_ids: Sequence[Sequence[int]] | None = None, **columns: Any
                  ) -> list[float]:
    """0.1 for each completion that passes Magistral's format gate, else 0.0.

    >>> format_reward(completions=["<think>a</think> \\\\boxed{1}", "1"], task=["math", "math"])
    [0.1, 0.0]
    """
    samples = _samples(prompts, completions, completion_ids, columns)
    return [FORMAT_REWARD if check.passed else 0.0 for check in total.format_checks(samples)]


def correctness_reward(prompts: Sequence[Any] | None = None, completions: Sequence[Any] = (),
                       completion_ids: Sequence[Sequence[int]] | None = None,
                       partial_credit: bool = False, allow_forgeable_tests: bool = False,
                       **columns: Any) -> list[float | None]:
    """0.9 for a gated, correct answer (math: ``answer`` column; code: ``tests``); None: unscorable.

    ``allow_forgeable_tests`` scores C++ assertion tests, which only the program's exit status
    judges (see ``rewards.code_exec``); a recipe must opt in through the reward's ``params``.

    >>> correctness_reward(completions=["<think>a</think> \\\\boxed{0.5}"], answer=["1/2"])
    [0.9]
    """
    samples = _samples(prompts, completions, completion_ids, columns)
    config = RewardSettings(partial_credit=partial_credit,
                             allow_forgeable_tests=allow_forgeable_tests)
    return total.correctness_scores(samples, total.format_checks(samples), config)


def length_penalty(prompts: Sequence[Any] | None = None, completions: Sequence[Any] = (),
                   completion_ids: Sequence[Sequence[int]] | None = None, l_max: int = 4096,
                   l_cache: int = 1024, **columns: Any) -> list[float]:
    """Soft length penalty (0 to -0.1) from ``len(completion_ids[i])``; 0 when the gate fails.

    >>> length_penalty(completions=["<think>a</think> \\\\boxed{1}"], completion_ids=[[0] * 90],
    ...                l_max=100, l_cache=20)
    [-0.05]
    """
    samples = _samples(prompts, completions, completion_ids, columns)
    config = RewardSettings(l_max=l_max, l_cache=l_cache)
    return total.length_scores(samples, total.format_checks(samples), config)


def _refuse_language_list(columns: dict[str, Any]) -> None:
    # The old `languages` parameter narrowed the judge's candidates, which let an unlisted
    # language pass as a listed one; a recipe still setting it must not be silently ignored.
    if "languages" in columns:
        raise TypeError("languages: the language judge's candidates cannot be narrowed: 30 "
                        "common languages and every language of the run's data, prompt and "
                        "examples (bound by training as `candidates`; an untagged problem is "
                        "read among every language lingua knows); remove params.languages")


def language_reward(prompts: Sequence[Any] | None = None, completions: Sequence[Any] = (),
                    completion_ids: Sequence[Sequence[int]] | None = None,
                    candidates: Sequence[str] = (), **columns: Any) -> list[float]:
    """0.1 when the gate passes and ``rewards.language.judge`` finds the thinking and the answer
    in the problem's language (both with words); ``candidates``: the run's languages, which
    training binds (``rewards.language_id.run_languages``).

    >>> language_reward(prompts=["Combien font deux plus deux ? Expliquez votre calcul."] * 2,
    ...                 completions=["<think>Deux et deux font quatre.</think> Donc \\\\boxed{4}.",
    ...                              "<think>Deux et deux font quatre.</think> \\\\boxed{4}"])
    [0.1, 0.0]
    """
    _refuse_language_list(columns)
    samples = _samples(prompts, completions, completion_ids, columns)
    return total.language_scores(samples, total.format_checks(samples),
                                 RewardSettings(languages=tuple(candidates)))


def total_reward(prompts: Sequence[Any] | None = None, completions: Sequence[Any] = (),
                     completion_ids: Sequence[Sequence[int]] | None = None,
                     l_max: int | None = None,
                     l_cache: int = 0, partial_credit: bool = False,
                     allow_forgeable_tests: bool = False, candidates: Sequence[str] = (),
                     **columns: Any) -> list[float]:
    """The combined Magistral total per completion (at most 1.1).

    >>> reply = {"role": "assistant",
    ...          "content": "<think>Two and two.</think> The answer is \\\\boxed{4}."}
    >>> total_reward(prompts=["What is 2+2?"], answer=["4"], completions=[[reply]])
    [1.1]
    """
    _refuse_language_list(columns)
    samples = _samples(prompts, completions, completion_ids, columns)
    config = RewardSettings(l_max=l_max, l_cache=l_cache, partial_credit=partial_credit,
                             allow_forgeable_tests=allow_forgeable_tests,
                             languages=tuple(candidates))
    return [result.total for result in total.score_many(samples, config)]
