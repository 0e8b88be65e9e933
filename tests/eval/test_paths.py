"""One grader for all three evaluation paths: the held-out before/after eval, the periodic
eval and `reasoning-rl eval` give the same metrics and the same per-sample grades on the same
rows with the real embedded model. A path that sampled or graded differently fails here."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from reasoning_rl.cli import main
from reasoning_rl.eval.evaluate import EvalOptions
from reasoning_rl.eval.heldout import evaluate_heldout, load_heldout
from reasoning_rl.eval.periodic import LOGGED, PeriodicEval
from reasoning_rl.model.loading import load_model, load_tokenizer, resolve_model_path
from reasoning_rl.recipe.config import load_recipe

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "recipes/smoke_cpu_multilingual.yaml"
TOKENS = 24
COMPARED = ("problems", "samples", "pass@1", "pass@1_lenient", "format_rate",
            "language_consistency", "language_judged", "mean_tokens")


@pytest.fixture(scope="module")
def setting():
    recipe = load_recipe(RECIPE, ["eval.heldout.limit=5"])
    rows = load_heldout(recipe)
    path = resolve_model_path("embedded:smollm2-135m-instruct")
    return recipe, rows, load_model(path, "float32"), load_tokenizer(path)


def test_heldout_periodic_and_eval_command_grade_alike(setting, tmp_path):
    recipe, rows, model, tokenizer = setting
    prompt = recipe.eval.prompt_for(recipe.prompt)
    heldout = evaluate_heldout(model, tokenizer, rows, prompt, max_new_tokens=TOKENS,
                               batch_size=5, out_dir=tmp_path / "heldout")

    periodic = PeriodicEval({"heldout": rows}, 1, EvalOptions(
        model="policy", benchmarks=[], max_new_tokens=TOKENS, prompt=prompt), batch_size=5)
    periodic.on_step_end(None, SimpleNamespace(global_step=1), SimpleNamespace(), model=model,
                         processing_class=tokenizer)

    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    code = main(["eval", "--model", "embedded:smollm2-135m-instruct", "--benchmarks", str(data),
                 "--max-new-tokens", str(TOKENS), "--batch-size", "5", "--recipe", str(RECIPE),
                 "--output-dir", str(tmp_path / "cli")])
    assert code == 0
    command = json.loads((tmp_path / "cli/results.json").read_text())["benchmarks"][str(data)]

    for key in COMPARED:
        assert heldout["metrics"][key] == command["metrics"][key], key
        if key in LOGGED:
            assert periodic.pending[f"eval/heldout/{key}"] == heldout["metrics"][key], key
    assert heldout["by"]["lang"] == command["by"]["lang"]
    assert set(heldout["by"]["lang"]) == {"en", "fr", "es", "ru", "zh"}
    samples = [[json.loads(line)["samples"] for line in (tmp_path / f"{path}/samples.jsonl")
                .read_text().splitlines()] for path in ("heldout", "cli")]
    assert samples[0] == samples[1]  # same texts, same grades, sample by sample
