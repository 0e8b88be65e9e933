"""Training metrics per language: reward, correctness and language consistency for each `lang`.

Why: a multilingual run's mean reward hides which languages learn and which do not. When the
training rows carry `lang`, each reward function is wrapped so that, once every function has
scored a batch, the per-language means are handed to TRL's `log_metric` hook (a keyword TRL
passes to reward functions). TRL then logs them with its own metrics, so they reach
metrics.jsonl and wandb as `lang/<code>/reward`, `lang/<code>/correct`,
`lang/<code>/language_consistency`, `lang/<code>/language_no_words` and
`lang/<code>/rewards/<function>`. Consistency is `rewards.language.judge`, the reward's and the
eval's judge (through `rewards.total.language_consistent`, which the eval calls too): the rate
is over the judged samples, and samples with a part without words are counted in
`language_no_words` instead.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from rewards.total import Sample, language_consistent
from rewards.trl_functions import message_text

RewardFn = Callable[..., list[float | None]]


class LanguageMetrics:
    """Collects each reward function's scores of one batch, then logs them per language."""

    def __init__(self, names: Sequence[str], weights: Sequence[float],
                 languages: Sequence[str] = ()):
        self.names, self.weights = list(names), list(weights)
        self.languages = tuple(languages)  # the run's, as bound to the reward (judge candidates)
        self.scores: dict[int, list[float | None]] = {}

    def wrap(self, funcs: Sequence[RewardFn]) -> list[RewardFn]:
        """The reward functions, each recording its scores here (names kept for TRL's logs)."""
        return [self._recording(i, fn) for i, fn in enumerate(funcs)]

    def _recording(self, index: int, fn: RewardFn) -> RewardFn:
        # A plain function, not a partial: TRL names a partial's reward after its `.func`.
        @functools.wraps(fn)
        def recording(*args: Any, **kwargs: Any) -> list[float | None]:
            return self._record(index, fn(*args, **kwargs), kwargs)

        return recording

    def _record(self, index: int, scores: list[float | None], kwargs: dict[str, Any]
                ) -> list[float | None]:
        self.scores[index] = list(scores)
        langs, log_metric = kwargs.get("lang"), kwargs.get("log_metric")
        if len(self.scores) == len(self.names):
            if langs and log_metric is not None and any(langs):
                for name, value in self.summarise(kwargs.get("prompts") or [],
                                                  kwargs.get("completions") or [], langs).items():
                    log_metric(name, value)
            self.scores = {}
        return scores

    def summarise(self, prompts: Sequence[Any], completions: Sequence[Any],
                  langs: Sequence[str | None]) -> dict[str, float]:
        """Per-language means of the batch recorded so far.

        >>> m = LanguageMetrics(["format_reward", "correctness_reward"], [1.0, 1.0])
        >>> m.scores = {0: [0.1, 0.1], 1: [0.9, 0.0]}
        >>> out = m.summarise(["2+2?", "2+2 ?"], ["<think>Two and two make four.</think> "
        ...     "The answer is 4.", "<think>Two and two make four.</think> The answer is 4."],
        ...     ["en", "fr"])
        >>> out["lang/en/reward"], out["lang/fr/correct"], out["lang/fr/language_consistency"]
        (1.0, 0.0, 0.0)
        >>> out["lang/en/language_no_words"]
        0
        """
        groups: dict[str, list[int]] = defaultdict(list)
        for i, lang in enumerate(langs):
            groups[lang or "en"].append(i)
        out: dict[str, float] = {}
        for lang, rows in sorted(groups.items()):
            total = [sum(w * (self.scores[f][i] or 0.0) for f, w in enumerate(self.weights))
                     for i in rows]
            out[f"lang/{lang}/reward"] = _mean(total)
            for f, name in enumerate(self.names):
                values = [self.scores[f][i] for i in rows if self.scores[f][i] is not None]
                out[f"lang/{lang}/rewards/{name}"] = _mean(values)
                if name == "correctness_reward":
                    out[f"lang/{lang}/correct"] = _mean([float(v > 0) for v in values])
            verdicts = [language_consistent(Sample(
                message_text(prompts[i], role="user") if prompts else "",
                message_text(completions[i], role="assistant"), lang=lang), self.languages)
                for i in rows]
            judged = [ok for ok in verdicts if ok is not None]
            out[f"lang/{lang}/language_no_words"] = len(verdicts) - len(judged)
            if judged:
                out[f"lang/{lang}/language_consistency"] = _mean([float(ok) for ok in judged])
        return out


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0
