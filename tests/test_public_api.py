"""The Python API: `reasoning_rl` and `rewards` export their entry points, resolved lazily."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import reasoning_rl
import rewards

REPO = Path(__file__).resolve().parents[1]


def test_reasoning_rl_exports_the_cli_entry_points():
    from reasoning_rl import training
    from reasoning_rl.eval import evaluate
    from reasoning_rl.recipe import config

    assert reasoning_rl.load_recipe is config.load_recipe
    assert reasoning_rl.train is training.train  # the function, not the module
    assert reasoning_rl.train_stages is training.train_stages
    assert reasoning_rl.evaluate_benchmarks is evaluate.run
    assert reasoning_rl.EvalOptions is evaluate.EvalOptions
    assert set(reasoning_rl.__all__) <= set(dir(reasoning_rl))


def test_rewards_exports_the_reward_functions():
    from rewards import code_exec, math_answer, total, trl_functions

    for name in ("format_reward", "correctness_reward", "length_penalty", "language_reward",
                 "total_reward"):
        assert getattr(rewards, name) is getattr(trl_functions, name)
    assert rewards.score is total.score
    assert rewards.run_tests is code_exec.run_tests
    assert rewards.is_correct is math_answer.is_correct
    worded = "<think>Two plus two makes four.</think> The answer is \\boxed{4}."
    assert rewards.score("What is two plus two?", worded, task="math",
                         answer="4").total == pytest.approx(1.1)  # format, answer, language


@pytest.mark.parametrize("package", [reasoning_rl, rewards])
def test_unknown_names_raise_attribute_error(package):
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        package.nope  # noqa: B018


def test_importing_the_packages_loads_neither_torch_nor_trl():
    code = ("import sys, reasoning_rl, rewards; "
            "print(sorted(m for m in ('torch', 'trl', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True, env={"PYTHONPATH": str(REPO)})
    assert out.stdout.strip() == "[]"
