"""reasoning_rl.rollout.scaffold: the hinted prompt the sampler is shown, built from a recipe."""

from reasoning_rl.data.prompting import build_prompt
from reasoning_rl.model.loading import load_tokenizer, resolve_model_path
from reasoning_rl.recipe.config import load_recipe
from reasoning_rl.rollout.scaffold import Scaffold, scaffold_for


def test_the_base_recipe_scaffold_shows_its_example_and_the_problem():
    recipe = load_recipe("recipes/smoke_cpu_base.yaml")
    tokenizer = load_tokenizer(resolve_model_path(recipe.model.name_or_path))
    scaffold = scaffold_for(recipe.prompt, recipe.rollout, tokenizer)
    assert isinstance(scaffold, Scaffold) and scaffold.steps == 20
    shown = str(scaffold.prompt("What is 7 + 8?"))
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
    scaffold = Scaffold(prompt=lambda problem: "HINT " + problem, steps=4)
    prompts, problems = [f"p{i}" for i in range(8)], [f"p{i}" for i in range(8)]
    shown, flags = scaffold.swap(prompts, problems, group_size=4, step=2, seed=3, draw=130)
    again = scaffold.swap(prompts, problems, group_size=4, step=2, seed=3, draw=130)
    assert (shown, flags) == again
    assert flags[:4] == [flags[0]] * 4 and flags[4:] == [flags[4]] * 4
    assert shown == [("HINT " + p) if f else p for p, f in zip(prompts, flags, strict=True)]
