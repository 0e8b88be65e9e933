"""bench/gpu_check.py's dry run: the GPU check's whole path on CPU with tiny models, so it
cannot rot between the rare runs on a lent GPU."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_dry_run_trains_both_shapes_and_compares_with_the_plan(tmp_path):
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "bench.gpu_check", "--dry-run", "--out", str(out),
         "--cases", "lora-qwen2.5-1.5b", "full-qwen3-1.7b"],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((out / "gpu_check.json").read_text())
    assert report["dry_run"] and report["device"] == "cpu" and not report["skipped"]
    lora, full = report["cases"]
    assert (lora["trains"], full["trains"]) == ("LoRA", "full")
    for case in (lora, full):
        # 2 micro-batches of 2 completions per step, each pinned to exactly 8 new tokens
        assert case["completions_per_step"] == 4
        assert case["completion_tokens_per_step"] == 4 * 8
        assert case["steps_measured"] == 1  # 2 steps, the first one a warm-up
        assert case["step_s"] > case["generation_s"] > 0
        assert case["training_tokens_per_s"] > 0 and case["prompt_tokens_mean"] > 50
        assert "vLLM (colocate)" not in case["plan_lines_bytes"]  # the check runs without vLLM
        assert case["peak_reserved_bytes"] is None and case["peak_over_plan"] is None
    assert 0 < lora["trainable"] < lora["params"] and full["trainable"] == full["params"]
    # the plan sized the tiny model the check built, not the published one
    assert full["params"] < 20_000_000
    assert "| full-qwen3-1.7b | full | 2 x 8 |" in (out / "gpu_check.md").read_text()
