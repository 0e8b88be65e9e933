"""reasoning_rl.rollout.scaffold: the hinted prompt the sampler is shown, built from a recipe."""

from reasoning_rl.data.prompting import build_prompt
from reasoning_rl.model.loading import load_tokenizer, resolve_model_path
from reasoning_rl.recipe.config import load_recipe
from reasoning_rl.recipe.rollout_section import RolloutSection, ScaffoldExample
from reasoning_rl.rollout.scaffold import Scaffold, scaffold_for


def test_the_base_recipe_scaffold_shows_its_example_and_the_problem():
    recipe = load_recipe("recipes/smoke_cpu_base.yaml")
    tokenizer = load_tokenizer(resolve_model_path(recipe.model.name_or_path))
    scaffold = scaffold_for(recipe.prompt, recipe.rollout, tokenizer)
    assert isinstance(scaffold, Scaffold) and scaffold.steps == 20
    shown = str(scaffold.prompt("What is 7 + 8?", None))
    assert "What is 23 + 19?" in shown and "\\boxed{42}" in shown  # the worked example
    assert shown.index("What is 23 + 19?") < shown.index("What is 7 + 8?")  # example first
    plain = str(build_prompt("What is 7 + 8?", recipe.prompt, tokenizer))  # what is trained on
    assert "What is 7 + 8?" in plain and "23 + 19" not in plain
    assert [scaffold.share(s) for s in (0, 10, 20, 25)] == [1.0, 0.5, 0.0, 0.0]


def test_no_scaffold_steps_means_no_scaffold():
    recipe = load_recipe("recipes/smoke_cpu.yaml")
    assert recipe.rollout.scaffold_steps == 0
    assert scaffold_for(recipe.prompt, recipe.rollout, tokenizer=None) is None


def test_hinted_groups_are_whole_and_reproducible():
    scaffold = Scaffold(prompt=lambda problem, lang: f"HINT({lang}) " + problem, steps=4)
    prompts, problems = [f"p{i}" for i in range(8)], [f"p{i}" for i in range(8)]
    langs = ["en"] * 4 + ["fr"] * 4
    shown, flags = scaffold.swap(prompts, problems, langs, group_size=4, step=2, seed=3,
                                 draw=130)
    again = scaffold.swap(prompts, problems, langs, group_size=4, step=2, seed=3, draw=130)
    assert (shown, flags) == again
    assert flags[:4] == [flags[0]] * 4 and flags[4:] == [flags[4]] * 4
    assert shown == [f"HINT({lang}) {p}" if f else p
                     for p, lang, f in zip(prompts, langs, flags, strict=True)]


def test_mixed_groups_hint_their_first_rows_only():
    scaffold = Scaffold(prompt=lambda problem, lang: "HINT " + problem, steps=4, rows=3)
    shown, flags = scaffold.swap(["p"] * 8, ["p"] * 8, [None] * 8, group_size=4, step=0,
                                 seed=0, draw=0)
    assert flags == [True, True, True, False] * 2
    assert shown == ["HINT p"] * 3 + ["p"] + ["HINT p"] * 3 + ["p"]


def test_each_row_is_shown_the_untagged_examples_and_those_of_its_language():
    recipe = load_recipe("recipes/smoke_cpu_multilingual_gemma.yaml")
    tokenizer = load_tokenizer(resolve_model_path(recipe.model.name_or_path))
    examples = [ScaffoldExample("What is 23 plus 19?", "<think>42</think> \\boxed{42}", "en"),
                ScaffoldExample("Combien font 81 moins 46 ?", "<think>35</think> \\boxed{35}",
                                "fr"),
                ScaffoldExample("64 减 27 等于多少？", "<think>37</think> \\boxed{37}", "zh"),
                ScaffoldExample("7 - 2 = ?", "<think>5</think> \\boxed{5}")]
    rollout = RolloutSection(scaffold_examples=examples, scaffold_steps=4, scaffold_rows=2)
    scaffold = scaffold_for(recipe.prompt, rollout, tokenizer)
    assert scaffold.rows == 2
    for lang in ("en", "fr", "zh", "ru", None):
        shown = str(scaffold.prompt("Combien font 2 et 2 ?", lang))
        assert [e.user in shown for e in examples] == [e.lang in (lang, None) for e in examples]
        assert shown.endswith("User: Combien font 2 et 2 ?\nAssistant: <think>")
