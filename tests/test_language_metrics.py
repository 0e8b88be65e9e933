"""Per-language training metrics: the real reward functions, wrapped, log per `lang` through
TRL's `log_metric` hook once every function has scored the batch."""

from __future__ import annotations

import pytest

from reasoning_rl.config import load_recipe
from reasoning_rl.language_metrics import LanguageMetrics
from reasoning_rl.training import bind_rewards, data_languages
from rewards import trl_functions

PROMPTS = ["What is 3 plus 4?", "Combien font 3 plus 4 ?", "Combien font 3 plus 4 ?"]
COMPLETIONS = ["<think>Three plus four makes seven.</think> The answer is \\boxed{7}.",
               "<think>Trois plus quatre font sept.</think> La réponse est \\boxed{7}.",
               "<think>Three plus four makes eight.</think> The answer is \\boxed{8}."]


def test_metrics_per_language_reach_log_metric():
    funcs = [trl_functions.format_reward, trl_functions.correctness_reward,
             trl_functions.language_reward]
    metrics = LanguageMetrics([f.__name__ for f in funcs], [1.0, 1.0, 1.0], ("en", "fr"))
    wrapped = metrics.wrap(funcs)
    assert [f.__name__ for f in wrapped] == [f.__name__ for f in funcs]  # TRL's log names
    logged: dict[str, float] = {}
    columns = {"prompts": PROMPTS, "completions": COMPLETIONS, "answer": ["7"] * 3,
               "task": ["math"] * 3, "lang": ["en", "fr", "fr"],
               "log_metric": logged.__setitem__}
    scores = [f(**columns) for f in wrapped]
    assert scores[1] == [0.9, 0.9, 0.0]
    assert logged["lang/en/correct"] == 1.0 and logged["lang/fr/correct"] == 0.5
    assert logged["lang/fr/language_consistency"] == 0.5  # the English answer to a French problem
    assert logged["lang/en/reward"] == pytest.approx(0.1 + 0.9 + 0.1)
    assert logged["lang/fr/rewards/format_reward"] == pytest.approx(0.1)


def test_language_reward_judges_among_the_data_languages_unless_the_recipe_says():
    recipe = load_recipe("recipes/smoke_cpu_multilingual.yaml")
    rows = [{"lang": lang} for lang in ("fr", "zh", "")]
    assert data_languages(rows) == ("en", "fr", "zh")
    bound = bind_rewards(recipe, languages=data_languages(rows))[2].__wrapped__  # the partial
    assert bound.keywords["languages"] == ["en", "fr", "zh"]
    recipe = load_recipe("recipes/smoke_cpu_multilingual.yaml",
                         ["rewards.2.params={languages: [en, de]}"])
    bound = bind_rewards(recipe, languages=("en", "fr"))[2].__wrapped__
    assert bound.keywords["languages"] == ["en", "de"]
