"""The `eval` command: grading agrees with the rewards package, per-language grouping, reports,
and the real CPU run on GSM8K with the embedded model."""

from __future__ import annotations

import json

import pytest

from reasoning_rl.cli import main
from reasoning_rl.eval.evaluate import EvalOptions, breakdown, evaluate_rows
from reasoning_rl.eval.generation import Completion
from reasoning_rl.eval.grading import Graded, grade
from reasoning_rl.eval.report import markdown_table
from rewards.total import score

ROWS = [
    {"prompt": "What is 2+2?", "answer": "4", "task": "math", "lang": "en", "meta": {"level": 1}},
    {"prompt": "Combien font 3+3 ?", "answer": "6", "task": "math", "lang": "fr",
     "meta": {"level": 2}},
    {"prompt": "Write add(a, b).", "answer": "", "task": "code", "lang": "en",
     "tests": ["assert add(2, 3) == 5"], "meta": {}},
]
TEXTS = [
    ["<think>Two and two make four.</think> So \\boxed{4}.", "\\boxed{4}",
     "<think>Maybe five.</think> \\boxed{5}"],
    ["<think>Trois et trois font six.</think> Donc \\boxed{6}.", "<think>x</think> \\boxed{7}",
     "<think>x</think> \\boxed{7}"],
    ["<think>Easy.</think>\n```python\ndef add(a, b):\n    return a + b\n```",
     "<think>Oops.</think>\n```python\ndef add(a, b):\n    return a - b\n```", "no code"],
]


class FixedBackend:
    """Returns the prepared completions, whatever the prompt (a stand-in for a model)."""

    tokenizer = None  # prompts are rendered as chat messages

    def generate(self, prompts, sampling):
        assert sampling.n == 3
        return [[Completion(t, len(t.split())) for t in texts] for texts in TEXTS[:len(prompts)]]


def test_grading_agrees_with_the_reward_package():
    completions = [[Completion(t, 5) for t in texts] for texts in TEXTS]
    for row, graded, texts in zip(ROWS, grade(ROWS, completions), TEXTS, strict=True):
        for g, text in zip(graded, texts, strict=True):
            reward = score(row["prompt"], text, task=row["task"], answer=row["answer"],
                           tests=row.get("tests"), lang=row["lang"])
            assert g.format_ok == (reward.format > 0)
            assert g.correct == (reward.correct > 0)


def test_evaluate_rows_reports_per_language_and_level():
    options = EvalOptions(model="unused", benchmarks=[], samples=3)
    result, records = evaluate_rows(FixedBackend(), ROWS[:2], options)
    assert result["metrics"]["pass@1"] == pytest.approx((1 / 3 + 1 / 3) / 2)
    assert result["metrics"]["maj@3"] == 0.0  # en: one "4" ties one "5"; ties count against
    assert result["by"]["lang"]["en"]["pass@1"] == pytest.approx(1 / 3)
    assert result["by"]["lang"]["fr"]["maj@3"] == 0.0  # "7" twice outvotes "6"
    assert set(result["by"]["level"]) == {"1", "2"}
    assert records[1]["samples"][1]["answer"] == "7"
    table = markdown_table({"benchmarks": {"mine": result}})
    assert "| mine / lang=fr |" in table and "maj@3" in table


def test_code_rows_use_the_sandbox():
    graded = grade(ROWS[2:], [[Completion(t, 5) for t in TEXTS[2]]])[0]
    assert [g.correct for g in graded] == [True, False, False]
    assert [g.format_ok for g in graded] == [True, True, False]


def test_breakdown_treats_missing_language_as_english():
    rows = [{"lang": "", "meta": {"subject": "Algebra"}}, {"lang": "de", "meta": {}}]
    groups = breakdown(rows, [[Graded(True, True, "1", 2)], [Graded(False, False, None, 4)]],
                       "math")
    assert set(groups["lang"]) == {"en", "de"} and set(groups["subject"]) == {"Algebra"}


class EchoBackend:
    """Answers every prompt with one correct-looking completion and records the prompts."""

    tokenizer = None  # prompts are rendered as chat messages

    def __init__(self):
        self.prompts = []

    def generate(self, prompts, sampling):
        self.prompts += [p[-1]["content"] for p in prompts]
        return [[Completion("<think>six</think> \\boxed{6}", 4)] * sampling.n for _ in prompts]


def test_eval_on_a_multilingual_file_filters_languages(tmp_path, monkeypatch):
    path = tmp_path / "multi.jsonl"
    path.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "meta"}) + "\n"
                            for r in ROWS[:2]))
    backend = EchoBackend()
    monkeypatch.setattr("reasoning_rl.eval.generation.open_backend", lambda *a, **k: backend)
    code = main(["eval", "--model", "embedded:smollm2-135m-instruct", "--benchmarks", str(path),
                 "--langs", "fr", "--samples", "2", "--output-dir", str(tmp_path / "out")])
    assert code == 0 and backend.prompts == ["Combien font 3+3 ?"]
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["benchmarks"][str(path)]["by"]["lang"]["fr"]["maj@2"] == 1.0
    code = main(["eval", "--model", "embedded:smollm2-135m-instruct", "--benchmarks",
                 str(path), "--langs", "de", "--output-dir", str(tmp_path / "out")])
    assert code == 2


@pytest.mark.slow
def test_gsm8k_cpu_run_with_the_embedded_model(tmp_path, capsys, shared_data):
    out = tmp_path / "eval"
    code = main(["eval", "--model", "embedded:smollm2-135m-instruct", "--benchmarks", "gsm8k",
                 "--limit", "20", "--samples", "2", "--max-new-tokens", "64", "--backend",
                 "transformers", "--output-dir", str(out)])
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    metrics = results["benchmarks"]["gsm8k"]["metrics"]
    assert metrics["problems"] == 20 and metrics["samples"] == 40
    expected = {"pass@1", "pass@1_lenient", "pass@2", "maj@2", "format_rate", "mean_tokens"}
    assert expected <= set(metrics)
    assert 0 < metrics["mean_tokens"] <= 64
    assert (out / "results.png").stat().st_size > 1000
    assert "| gsm8k | 20 | 40 |" in (out / "results.md").read_text()
    assert len((out / "samples.jsonl").read_text().splitlines()) == 20
    assert "| gsm8k |" in capsys.readouterr().out
