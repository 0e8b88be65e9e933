"""Magistral's full reward (arXiv 2506.10910, section 2.2), combined in plain Python.

    total = format (0.1) + correctness (0.9) + soft length penalty (0 .. -0.1) + language (0.1)

and everything is 0 when the format gate fails. Each component is computed by its own function
over a whole batch, so the TRL reward functions (one per component, for separate logging) and
``score`` share one implementation and always add up to the same total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rewards import code_exec, math_answer
from rewards.format import (
    FORMAT_REWARD,
    THINK_CLOSE,
    THINK_OPEN,
    FormatCheck,
    check_format,
    normalize_task,
)
from rewards.language import LANGUAGE_REWARD, Verdict, judge
from rewards.length import soft_length_penalty

CORRECT_REWARD = 0.9


@dataclass(frozen=True)
class Sample:
    """One completion to grade, with what its problem provides."""

    prompt: str
    completion: str
    task: str = "math"
    answer: str | None = None
    tests: Sequence[str] | None = None
    length_tokens: int | None = None
    lang: str | None = None


@dataclass(frozen=True)
class RewardSettings:
    """Knobs of the reward; the defaults are the paper's (no length penalty without ``l_max``)."""

    l_max: int | None = None
    l_cache: int = 0
    partial_credit: bool = False
    max_tests: int = code_exec.MAX_TESTS
    test_timeout_s: float = code_exec.TEST_TIMEOUT_S
    code_budget_s: float = code_exec.BUDGET_S  # one completion's compile and all its tests
    memory_mb: int = code_exec.MEMORY_MB
    # C++ assertion tests are judged by exit status only (forgeable): unscored unless opted in.
    allow_forgeable_tests: bool = False
    math_timeout_s: float = math_answer.DEFAULT_TIMEOUT_S
    # The run's languages (data, prompt, worked examples): language ID candidates besides
    # rewards.language_id.COMMON_LANGUAGES and the problem's (rewards.language_id.run_languages).
    languages: tuple[str, ...] = ()


@dataclass(frozen=True)
class RewardBreakdown:
    """Each component of one completion's reward; ``total`` is their sum."""

    format: float = 0.0
    correct: float = 0.0
    length: float = 0.0
    language: float = 0.0
    scorable: bool = True
    reason: str = field(default="", compare=False)

    @property
    def total(self) -> float:
        return self.format + self.correct + self.length + self.language

    def as_log_dict(self) -> dict[str, float]:
        """The names training logs use for each component."""
        return {"rewards/format": self.format, "rewards/correct": self.correct,
                "rewards/length": self.length, "rewards/language": self.language}


def format_checks(samples: Sequence[Sample]) -> list[FormatCheck]:
    """The gate for each sample (an unknown task fails it)."""
    return [check_format(sample.completion, sample.task) for sample in samples]


def correctness_scores(samples: Sequence[Sample], checks: Sequence[FormatCheck],
                       config: RewardSettings = RewardSettings()) -> list[float | None]:
    """0.9 per correct sample (scaled by the pass rate with partial credit); None: cannot score.

    A row whose task is neither math nor code (any casing) cannot be scored: None.
    """
    tasks = [normalize_task(sample.task) for sample in samples]
    scores: list[float | None] = [0.0 if task else None for task in tasks]
    math_rows = [i for i, c in enumerate(checks) if c.passed and tasks[i] == "math"]
    code_rows = [i for i, c in enumerate(checks) if c.passed and tasks[i] == "code"]
    # Whole completions: math_answer splits them exactly as the gate did.
    verdicts = math_answer.check_many([samples[i].completion for i in math_rows],
                                      [samples[i].answer or "" for i in math_rows],
                                      timeout_s=config.math_timeout_s,
                                      problems=[samples[i].prompt for i in math_rows])
    for row, verdict in zip(math_rows, verdicts, strict=True):
        scores[row] = None if verdict is None else CORRECT_REWARD * verdict
    pass_rates = code_exec.grade_answers(
        [checks[i].answer for i in code_rows], [list(samples[i].tests or []) for i in code_rows],
        seed_keys=[samples[i].prompt for i in code_rows], max_tests=config.max_tests,
        timeout_s=config.test_timeout_s, memory_mb=config.memory_mb,
        budget_s=config.code_budget_s, allow_forgeable_tests=config.allow_forgeable_tests)
    for row, rate in zip(code_rows, pass_rates, strict=True):
        if rate is None:
            scores[row] = None
        elif config.partial_credit:
            scores[row] = CORRECT_REWARD * rate
        else:
            scores[row] = CORRECT_REWARD * (rate == 1.0)
    return scores


def length_scores(samples: Sequence[Sample], checks: Sequence[FormatCheck],
                  config: RewardSettings = RewardSettings()) -> list[float]:
    """The soft length penalty per sample (0 without ``l_max``, a length, or a passing gate)."""
    return [soft_length_penalty(s.length_tokens, config.l_max, config.l_cache)
            if c.passed and config.l_max and s.length_tokens is not None else 0.0
            for s, c in zip(samples, checks, strict=True)]


def language_scores(samples: Sequence[Sample], checks: Sequence[FormatCheck],
                    config: RewardSettings = RewardSettings()) -> list[float]:
    """0.1 per sample that passes the gate and that ``rewards.language.judge`` finds consistent
    (problem, thinking and answer in one language; never for a part without words)."""
    return [LANGUAGE_REWARD if c.passed and judge(
                s.prompt, c.thinking, c.answer, s.lang or None, config.languages
            ).verdict is Verdict.CONSISTENT
            else 0.0 for s, c in zip(samples, checks, strict=True)]


def thinking_and_answer(completion: str) -> tuple[str, str]:
    """The thinking and the answer parts, for any completion (format gate or not).

    Without `</think>` the whole completion is both parts: it must be in the problem's language.

    >>> thinking_and_answer("<think>Deux et deux.</think> Quatre.")
    ('Deux et deux.', ' Quatre.')
    """
    if THINK_CLOSE not in completion:
        return completion, completion
    thinking, _, answer = completion.partition(THINK_CLOSE)
    return thinking.replace(THINK_OPEN, ""), answer


def language_consistent(sample: Sample, languages: Sequence[str] = ()) -> bool | None:
    """`rewards.language.judge` on any completion, format gate or not (the eval's and the
    training metrics' view): True consistent, False not, None when a part has no words (and
    neither is foreign).

    >>> s = Sample("Combien font 2 et 2 ?", "<think>Deux et deux font quatre.</think> "
    ...            "La réponse est 4.", lang="fr")
    >>> language_consistent(s)
    True
    """
    thinking, answer = thinking_and_answer(sample.completion)
    return judge(sample.prompt, thinking, answer, sample.lang, languages).ok


def score_many(samples: Sequence[Sample], config: RewardSettings = RewardSettings()
               ) -> list[RewardBreakdown]:
    """Grade a batch; math and code correctness run in parallel worker processes."""
    checks = format_checks(samples)
    correct = correctness_scores(samples, checks, config)
    length = length_scores(samples, checks, config)
    language = language_scores(samples, checks, config)
    return [RewardBreakdown(FORMAT_REWARD if c.passed else 0.0, k or 0.0, n, g,
                            scorable=k is not None, reason=c.reason)
            for c, k, n, g in zip(checks, correct, length, language, strict=True)]


def score(prompt: str, completion: str, *, task: str, answer: str | None = None,
          tests: Sequence[str] | None = None, length_tokens: int | None = None,
          lang: str | None = None, **config: object) -> RewardBreakdown:
    """Grade one completion; ``config`` takes ``RewardSettings`` fields (``l_max``, ...).

    >>> result = score("What is 2+2?", "<think>Two and two make four.</think> "
    ...                "The answer is \\\\boxed{4}.", task="math", answer="4")
    >>> result.total, result.as_log_dict()["rewards/correct"]
    (1.1, 0.9)
    """
    sample = Sample(prompt, completion, task, answer, tests, length_tokens, lang)
    return score_many([sample], RewardSettings(**config))[0]
