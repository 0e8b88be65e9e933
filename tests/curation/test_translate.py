"""`data translate`: LaTeX and answers survive, the language-ID check rejects bad translations."""

from __future__ import annotations

import json

import pytest

from reasoning_rl.cli import main
from reasoning_rl.curation.rows_io import read_rows
from reasoning_rl.curation.translate import (
    check_translation,
    choose,
    protect,
    restore,
    translate_rows,
)
from reasoning_rl.eval.generation import Completion

PROBLEM = ("Find the value of $x$ such that $x^2 - 5x + 6 = 0$ and $x$ is larger than two. "
           "Explain your reasoning.")
ROWS = [{"prompt": PROBLEM, "answer": "3", "task": "math", "lang": "en", "tests": [],
         "source": "fixture"}]


class CannedBackend:
    """Returns a canned 'translation' and records the translation prompts."""

    def __init__(self, text: str):
        self.text, self.prompts = text, []

    def generate(self, prompts, sampling):
        self.prompts += [p[-1]["content"] for p in prompts]
        return [[Completion(self.text, 20)] * sampling.n for _ in prompts]


def test_protect_and_restore_keep_latex_and_code_exact():
    text = "Let $$\\int_0^1 f$$ and \\(a_1\\) and `code()` then \\begin{align}x\\end{align}."
    masked, spans = protect(text)
    assert "$" not in masked and "`" not in masked and "\\begin" not in masked
    assert restore(masked, spans) == text
    assert restore(masked.replace("[[1]]", ""), spans) is None
    assert restore(masked + " [[0]]", spans) is None


def test_good_translation_is_kept_with_its_answer():
    french = ("Trouvez la valeur de [[0]] telle que [[1]] et [[2]] est plus grand que deux. "
              "Expliquez votre raisonnement.")
    backend = CannedBackend(french)
    copies, rejected = translate_rows(ROWS, backend, fraction=1.0, langs=["fr"])
    assert rejected == []
    assert copies[0]["prompt"].startswith("Trouvez la valeur de $x$ telle que $x^2 - 5x + 6 = 0$")
    assert copies[0]["lang"] == "fr" and copies[0]["answer"] == "3"
    assert "French" in backend.prompts[0] and "$" not in backend.prompts[0]


@pytest.mark.parametrize(("output", "reason"), [
    (("Find the value of [[0]] such that [[1]] and [[2]] is larger than two. Explain your "
     "reasoning."), "unchanged"),
    (("Halla el valor de [[0]] tal que [[1]] y [[2]] es mayor que dos. Explica tu "
     "razonamiento."), "language es instead of fr"),
    ("Trouvez la valeur de x telle que l'équation soit vraie et x plus grand que deux.",
     "placeholders lost"),
    ("", "empty"),
])
def test_bad_translations_are_rejected(output, reason):
    copies, rejected = translate_rows(ROWS, CannedBackend(output), fraction=1.0, langs=["fr"])
    assert copies == [] and rejected[0]["reason"] == reason


def test_fraction_and_language_rotation():
    rows = [{"prompt": f"p{i}", "lang": "en"} for i in range(20)] + [{"prompt": "q", "lang": "de"}]
    plan = choose(rows, 0.1, ["fr", "zh"], seed=3)
    assert len(plan) == 2 and {lang for _, lang in plan} == {"fr", "zh"}
    assert all(rows[i]["lang"] == "en" for i, _ in plan)
    assert choose(rows, 0.1, ["fr", "zh"], seed=3) == plan


def test_cli_appends_translations_and_writes_a_report(tmp_path, monkeypatch):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({**ROWS[0], "lang": ""}) + "\n")
    canned = "Trouvez la valeur de [[0]] telle que [[1]] et [[2]] est plus grand que deux."
    monkeypatch.setattr("reasoning_rl.eval.generation.open_backend",
                        lambda *a, **k: CannedBackend(canned))
    out = tmp_path / "out.jsonl"
    base = ["data", "translate", "--input", str(source), "--output", str(out),
            "--model", "embedded:smollm2-135m-instruct", "--fraction", "1"]
    assert main(base + ["--langs", "fr"]) == 0
    rows = read_rows(out)
    assert [r["lang"] for r in rows] == ["en", "fr"] and rows[1]["answer"] == "3"
    report = json.loads((tmp_path / "out.jsonl.translate_report.json").read_text())
    assert report == {"accepted": 1, "rejected": []}
    assert main(base + ["--langs", "klingon"]) == 2


@pytest.mark.slow
def test_embedded_model_as_translator_only_passes_checked_rows(tmp_path):
    """Whatever the small model writes, each planned row ends up accepted or rejected, and
    each verdict is the checker's: an accepted copy has every formula back verbatim, passes the
    language and length checks and keeps its answer; a rejected output fails one of them."""
    from reasoning_rl.eval.generation import TransformersBackend
    from reasoning_rl.model.loading import resolve_model_path

    rows = [{**ROWS[0], "prompt": p} for p in (
        "Tom has $3$ apples and buys $4$ more. How many apples does he have now?",
        "A square has side length $5$. What is its area?")]
    backend = TransformersBackend(resolve_model_path("embedded:smollm2-135m-instruct"))
    copies, rejected = translate_rows(rows, backend, fraction=1.0, langs=["fr", "de"],
                                      max_new_tokens=60)
    by_lang = {"fr": rows[0], "de": rows[1]}  # choose(): rows in order, languages in turn
    assert sorted([c["lang"] for c in copies] + [r["lang"] for r in rejected]) == ["de", "fr"]
    for copy in copies:
        row = by_lang[copy["lang"]]
        assert protect(copy["prompt"])[1] == protect(row["prompt"])[1]  # formulas verbatim
        assert check_translation(row["prompt"], copy["prompt"], copy["lang"]) is None
        assert copy["answer"] == row["answer"]
        assert copy["source"] == f"fixture+translated:{copy['lang']}"
    for rejection in rejected:  # rejected only when the output really fails a check
        row, output = rows[rejection["row"]], rejection["output"]
        assert row is by_lang[rejection["lang"]] and rejection["reason"]
        restored = restore(output, protect(row["prompt"])[1])
        assert (not output or restored is None
                or check_translation(row["prompt"], restored, rejection["lang"]) is not None)
