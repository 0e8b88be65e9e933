"""Per-language training metrics: the real reward functions, wrapped, log per `lang` through
TRL's `log_metric` hook once every function has scored the batch; they, the reward and the
eval judge language with one function and agree."""

from __future__ import annotations

import pytest

from reasoning_rl.eval.evaluate import metrics as evaluate_metrics
from reasoning_rl.eval.generation import Completion
from reasoning_rl.eval.grading import grade
from reasoning_rl.recipe.config import load_recipe
from reasoning_rl.run.language_metrics import LanguageMetrics
from reasoning_rl.training import bind_rewards, data_languages
from rewards import trl_functions
from rewards.language import judge
from rewards.total import thinking_and_answer

PROMPTS = ["What is 3 plus 4?", "Combien font 3 plus 4 ?", "Combien font 3 plus 4 ?"]
COMPLETIONS = ["<think>Three plus four makes seven.</think> The answer is \\boxed{7}.",
               "<think>Trois plus quatre font sept.</think> La réponse est \\boxed{7}.",
               "<think>Three plus four makes eight.</think> The answer is \\boxed{8}."]


def test_metrics_per_language_reach_log_metric():
    funcs = [trl_functions.format_reward, trl_functions.correctness_reward,
             trl_functions.language_reward]
    metrics = LanguageMetrics([f.__name__ for f in funcs], [1.0, 1.0, 1.0])
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
    assert logged["lang/fr/language_no_words"] == 0
    assert logged["lang/en/reward"] == pytest.approx(0.1 + 0.9 + 0.1)
    assert logged["lang/fr/rewards/format_reward"] == pytest.approx(0.1)


def test_a_recipe_narrowing_the_candidate_languages_is_refused():
    # A narrowed list let "Die Antwort ist" pass as English; it must not come back silently.
    recipe = load_recipe("recipes/smoke_cpu_multilingual.yaml",
                         ["rewards.2.params={languages: [en, fr]}"])
    bound = bind_rewards(recipe, languages=data_languages([{"lang": "fr"}]))[2]
    with pytest.raises(TypeError, match="every language lingua knows"):
        bound(prompts=PROMPTS, completions=COMPLETIONS, lang=["en", "fr", "fr"])


AGREEMENT = [  # (lang, problem, completion): every verdict, format gate passed or not
    ("en", "What is 3 plus 4?", "<think>Three plus four makes seven.</think> "
                                "The answer is \\boxed{7}."),
    ("en", "What is 3 plus 4?", "<think>Three plus four makes seven.</think> "
                                "Die Antwort ist \\boxed{7}."),  # the German example
    ("en", "What is 3 plus 4?", "<think>`Trois plus quatre font sept, voilà le calcul.`"
                                "</think> The answer is \\boxed{7}."),  # hidden French
    ("en", "What is 3 plus 4?", "<think>3 + 4 = 7</think> \\boxed{7}"),  # no words
    ("fr", "Combien font 3 plus 4 ?", "<think>Trois plus quatre font sept.</think> "
                                      "La réponse est \\boxed{7}."),
    ("fr", "Combien font 3 plus 4 ?", "<think>3 + 4 = 7</think> La réponse est \\boxed{7}."),
    ("fr", "Combien font 3 plus 4 ?", "<think>Three plus four makes seven.</think> "
                                      "La réponse est \\boxed{7}."),
    ("zh", "3 加 4 等于多少？", "<think>三加四等于七。</think> 答案是 \\boxed{7}。"),
    ("zh", "3 加 4 等于多少？", "<think>Three plus four makes seven, so we write it down."
                               "</think> 答案是 \\boxed{7}。"),
    ("zh", "3 加 4 等于多少？", "三加四等于七，答案是七。"),  # no think block: the gate fails
]


def test_reward_training_metric_and_eval_agree_on_the_same_samples():
    langs, problems, texts = (list(column) for column in zip(*AGREEMENT, strict=True))
    rows = [{"prompt": p, "answer": "7", "task": "math", "lang": lang}
            for lang, p, _ in AGREEMENT]
    graded = [g[0] for g in grade(rows, [[Completion(t, 10)] for t in texts])]
    reward = trl_functions.language_reward(prompts=problems, completions=texts, lang=langs)
    judged = [judge(p, *thinking_and_answer(t), lang) for lang, p, t in AGREEMENT]
    assert [g.language_ok for g in graded] == [j.ok for j in judged]
    assert [j.ok for j in judged] == [True, False, False, None, True, None, False, True, False,
                                      True]
    # The reward pays exactly the consistent samples that pass the format gate.
    assert reward == [0.1 if g.language_ok and g.format_ok else 0.0 for g in graded]
    metrics = LanguageMetrics(["language_reward"], [1.0])
    metrics.scores = {0: reward}
    logged = metrics.summarise(problems, texts, langs)
    for lang in ("en", "fr", "zh"):
        mine = [g for g, code in zip(graded, langs, strict=True) if code == lang]
        ok = [g.language_ok for g in mine if g.language_ok is not None]
        assert logged[f"lang/{lang}/language_consistency"] == pytest.approx(sum(ok) / len(ok))
        assert logged[f"lang/{lang}/language_no_words"] == len(mine) - len(ok)
        by_eval = evaluate_metrics([[g] for g in mine], "math")
        assert by_eval["language_consistency"] == pytest.approx(sum(ok) / len(ok))
        assert by_eval["language_no_words"] == logged[f"lang/{lang}/language_no_words"]


def test_training_binds_the_runs_languages_as_judge_candidates():
    # The German worked example's language is a candidate of the reward and the metric.
    from reasoning_rl.data.prompting import prompt_texts
    from rewards.language_id import run_languages

    recipe = load_recipe("recipes/smoke_cpu_multilingual.yaml")
    languages = run_languages(data_languages([{"lang": "fr"}, {"lang": "zh"}]),
                              prompt_texts(recipe.prompt, recipe.rollout.scaffold_examples))
    assert {"de", "en", "es", "fr", "ru", "zh"} <= set(languages)
    bound = bind_rewards(recipe, languages=languages)[2]
    assert bound.__wrapped__.keywords["candidates"] == list(languages)
    assert LanguageMetrics(["language_reward"], [1.0], languages).languages == languages


def test_the_metric_judges_plain_text_rollouts_as_the_reward_does():
    """A base model's rollout continues a plain-text prompt after its `<think>` and ends with the
    stop string; the metric once judged that raw text, and every Chinese sample of the
    multilingual smoke ("...等于 \\boxed{35}.\\n\\nUser:") logged as inconsistent while the
    reward paid it."""
    import dataclasses

    from reasoning_rl.data.prompting import TEXT_STOP, TEXT_TEMPLATE, build_prompt

    recipe = load_recipe("recipes/smoke_cpu_multilingual_gemma.yaml")
    section = dataclasses.replace(recipe.prompt, template=TEXT_TEMPLATE)
    problems = ["48 减 46 等于多少？", "Combien font 74 moins 12 ?", "Combien font 74 moins 12 ?"]
    completions = ["所以 48 减 46 是 2。</think>\n答案是 \\boxed{2}.\n\nUser:",
                   "74 moins 12 donnent 62.</think>\nDonc \\boxed{62}.\n\nUser:",
                   "74 moins 12 make 62.</think>\n74 moins 12 make \\boxed{62}.\n\nUser:"]
    languages = ("en", "es", "fr", "ru", "zh")
    funcs = bind_rewards(recipe, TEXT_STOP, languages, per_language=True)
    logged: dict[str, float] = {}
    columns = {"prompts": [build_prompt(p, section, None) for p in problems],
               "completions": completions, "problem": problems, "answer": ["2", "62", "62"],
               "task": ["math"] * 3, "lang": ["zh", "fr", "fr"], "log_metric": logged.__setitem__}
    scores = [f(**columns) for f in funcs]
    assert scores[2] == [0.1, 0.1, 0.0]  # the language reward
    assert logged["lang/zh/language_consistency"] == 1.0
    assert logged["lang/fr/language_consistency"] == 0.5
    assert logged["lang/zh/correct"] == 1.0
