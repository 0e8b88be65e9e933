"""`data filter-difficulty`: the pass-rate band, disputed references, resuming, the CLI."""

from __future__ import annotations

import json

import pytest

from reasoning_rl.cli import main
from reasoning_rl.curation.filter_difficulty import (
    DifficultyOptions,
    filter_difficulty,
    read_scores,
)
from reasoning_rl.curation.rows_io import read_rows
from reasoning_rl.eval.generation import Completion


def _box(value: str) -> Completion:
    return Completion(f"<think>Let me see.</think> The answer is \\boxed{{{value}}}.", 10)


# Each problem's four samples, keyed by its prompt: the answers the "model" gives.
ANSWERS = {
    "always": ["1", "1", "1", "1"],        # always solved -> too_easy
    "never": ["9", "8", None, "7"],        # never solved -> too_hard
    "half": ["2", "2", "3", "4"],          # 0.5 -> keep
    "disputed": ["5", "6", "6", "6"],      # 3 of 4 say 6, reference 5 -> reference_disputed
}
REFERENCE = {"always": "1", "never": "1", "half": "2", "disputed": "5"}
ROWS = [{"prompt": p, "answer": REFERENCE[p], "task": "math", "lang": "en", "tests": [],
         "source": "fixture"} for p in ANSWERS]


class ScriptedBackend:
    """Answers each problem with its scripted samples; counts what it was asked."""

    tokenizer = None  # prompts are rendered as chat messages

    def __init__(self, fail_after: int | None = None):
        self.asked: list[str] = []
        self.fail_after = fail_after

    def generate(self, prompts, sampling):
        if self.fail_after is not None and len(self.asked) >= self.fail_after:
            raise KeyboardInterrupt  # the user stops the run
        problems = [p[-1]["content"] for p in prompts]
        self.asked += problems
        return [[_box(a) if a else Completion("no format", 3) for a in ANSWERS[p][:sampling.n]]
                for p in problems]


def test_band_and_disputed_reference(tmp_path):
    scores = tmp_path / "s.jsonl"
    kept = filter_difficulty(ROWS, ScriptedBackend(), scores, DifficultyOptions(samples=4),
                             progress=False)
    assert [(r["prompt"], r["pass_rate"]) for r in kept] == [("half", 0.5)]
    decisions = {r["key"]: r["decision"] for r in read_scores(scores).values()}
    assert sorted(decisions.values()) == ["keep", "reference_disputed", "too_easy", "too_hard"]
    disputed = [r for r in read_scores(scores).values() if r["decision"] == "reference_disputed"]
    assert disputed[0]["top_wrong_answer"] == "6" and disputed[0]["top_wrong_share"] == 0.75


def test_wider_band_keeps_always_solved_and_stricter_majority_keeps_disputed(tmp_path):
    options = DifficultyOptions(samples=4, max_pass_rate=1.01, wrong_majority=0.8)
    kept = filter_difficulty(ROWS, ScriptedBackend(), tmp_path / "s.jsonl", options,
                             progress=False)
    assert [r["prompt"] for r in kept] == ["always", "half", "disputed"]


def test_interrupted_run_resumes_without_redoing_problems(tmp_path):
    scores = tmp_path / "s.jsonl"
    options = DifficultyOptions(samples=4, chunk=1)
    with pytest.raises(KeyboardInterrupt):
        filter_difficulty(ROWS, ScriptedBackend(fail_after=2), scores, options, progress=False)
    assert len(read_scores(scores)) == 2
    with open(scores, "a") as handle:
        handle.write('{"key": "torn')  # a crash in the middle of a line
    backend = ScriptedBackend()
    kept = filter_difficulty(ROWS, backend, scores, options, progress=False)
    assert backend.asked == ["half", "disputed"]
    assert [r["prompt"] for r in kept] == ["half"]


def test_cli_writes_kept_rows_with_pass_rate(tmp_path, monkeypatch, capsys):
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    monkeypatch.setattr("reasoning_rl.eval.generation.open_backend",
                        lambda *a, **k: ScriptedBackend())
    out = tmp_path / "out.jsonl"
    args = ["data", "filter-difficulty", "--input", str(source), "--output", str(out),
            "--model", "embedded:smollm2-135m-instruct", "--samples", "4"]
    assert main(args) == 0
    assert [r["pass_rate"] for r in read_rows(out)] == [0.5]
    assert "kept 1 of 4" in capsys.readouterr().out
    assert main(args[:-4] + ["--model", "./no/such/model"]) == 2
