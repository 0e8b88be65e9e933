"""The layer order of the packages (import-linter contracts in pyproject.toml) holds, and the
contracts are not vacuous: a copy of the code with one upward import breaks them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--no-cache"], cwd=root, capture_output=True, text=True,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}, timeout=300)


def _copy(tmp_path: Path) -> Path:
    for name in ("reasoning_rl", "rewards"):
        shutil.copytree(REPO / name, tmp_path / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    return tmp_path


def test_the_repository_keeps_its_layers():
    result = _lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "line", "broken"), [
    ("reasoning_rl/recipe/config.py", "from reasoning_rl.eval import grading",
     "reasoning_rl.recipe is not allowed to import reasoning_rl.eval"),
    ("reasoning_rl/objective/loss.py", "import reasoning_rl.training",
     "reasoning_rl.objective is not allowed to import reasoning_rl.training"),
    ("rewards/format.py", "import reasoning_rl.data.prompting",
     "rewards is not allowed to import reasoning_rl"),
    ("rewards/sandbox/wire.py", "import torch", "rewards.sandbox is not allowed to import torch"),
], ids=["recipe->eval", "objective->training", "rewards->reasoning_rl", "sandbox->torch"])
def test_an_upward_or_forbidden_import_breaks_a_contract(tmp_path, module, line, broken):
    root = _copy(tmp_path)
    path = root / module
    path.write_text(path.read_text() + f"\n{line}  # noqa\n")
    result = _lint(root)
    assert result.returncode == 1
    assert broken in result.stdout
