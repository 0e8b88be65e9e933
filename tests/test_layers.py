"""The layer order of the packages (import-linter contracts in pyproject.toml) holds, and the
contracts are not vacuous: a copy of the code with one upward import breaks them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

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


def test_a_lower_stage_importing_a_higher_one_breaks_the_layers(tmp_path):
    root = _copy(tmp_path)
    config = root / "reasoning_rl" / "recipe" / "config.py"
    config.write_text(config.read_text() + "\nfrom reasoning_rl.eval import grading  # noqa\n")
    result = _lint(root)
    assert result.returncode == 1
    assert "reasoning_rl.recipe is not allowed to import reasoning_rl.eval" in result.stdout


def test_the_sandbox_importing_torch_breaks_its_contract(tmp_path):
    root = _copy(tmp_path)
    wire = root / "rewards" / "sandbox" / "wire.py"
    wire.write_text(wire.read_text() + "\nimport torch  # noqa\n")
    result = _lint(root)
    assert result.returncode == 1
    assert "rewards.sandbox is not allowed to import torch" in result.stdout
