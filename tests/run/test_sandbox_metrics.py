"""The sandbox's counters reach the training logs (issue 20: fallbacks to the fresh path are a
metric)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from rewards import sandbox


def test_fallback_counters_land_in_metrics_jsonl(tmp_path, monkeypatch):
    run_log = pytest.importorskip("reasoning_rl.run.metrics", exc_type=ImportError)
    from reasoning_rl.run.sandbox_metrics import SandboxMetrics

    monkeypatch.setitem(sandbox.launcher._STATS, "runs", 0)
    state = SimpleNamespace(is_world_process_zero=True, global_step=1, epoch=0.1)
    callbacks = [SandboxMetrics(), run_log.MetricsFile(tmp_path)]
    for callback in callbacks:
        callback.on_log(None, state, None, logs={"loss": 1.0})
    assert sandbox.run_python("print(1)").status == "ok"  # one real sandboxed run
    monkeypatch.setitem(sandbox.launcher._STATS, "fresh_fallbacks", 3)
    state.global_step = 2
    logs = {"loss": 0.5}
    for callback in callbacks:
        callback.on_log(None, state, None, logs=logs)
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert "sandbox/runs" not in lines[0]  # nothing ran yet: no sandbox keys
    assert lines[1]["sandbox/runs"] == 1 and lines[1]["sandbox/fresh_fallbacks"] == 3
