"""`reasoning-rl data prepare`: real MGSM and GSM8K files and a fixture with the schema of the
multilingual GPU recipe's hub dataset become canonical rows; bad columns and codes exit 2."""

from __future__ import annotations

import json
from pathlib import Path

from reasoning_rl.cli import main
from reasoning_rl.curation.rows_io import read_rows
from reasoning_rl.recipe.config import load_recipe

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "gsm8k_106_sample.jsonl"


def prepare(tmp_path: Path, *args: str) -> tuple[int, list[dict]]:
    out = tmp_path / "out.jsonl"
    code = main(["data", "prepare", "--output", str(out), *args])
    return code, (read_rows(out) if code == 0 else [])


def test_mgsm_keeps_its_languages(tmp_path, shared_data):
    code, rows = prepare(tmp_path, "--input", str(shared_data / "mgsm.jsonl"),
                         "--columns", "prompt=question")
    assert code == 0 and len(rows) == 2750
    assert sorted({r["lang"] for r in rows}) == ["bn", "de", "en", "es", "fr", "ja", "ru", "sw",
                                                  "te", "th", "zh"]
    assert {r["task"] for r in rows} == {"math"} and all(r["answer"] for r in rows)


def test_gsm8k_answer_is_the_number_after_the_marker(tmp_path, shared_data):
    code, rows = prepare(tmp_path, "--input", str(shared_data / "gsm8k_test.jsonl"), "--columns",
                         "prompt=question", "--answer-after", "####", "--lang", "en",
                         "--limit", "5")
    assert code == 0 and [r["answer"] for r in rows] == ["18", "3", "70000", "540", "20"]
    assert {r["lang"] for r in rows} == {"en"}


def test_hub_schema_fixture_maps_like_the_gpu_recipe(tmp_path):
    recipe = load_recipe(REPO / "recipes/magistral_multilingual_lora.yaml")
    columns = ",".join(f"{k}={v}" for k, v in recipe.data.columns.items())
    code, rows = prepare(tmp_path, "--input", str(FIXTURE), "--columns", columns)
    assert code == 0
    assert [(r["lang"], r["answer"]) for r in rows] == [
        ("fr", "7"), ("de", "7"), ("es", "180"), ("zh", "7"), ("sw", "5")]
    assert rows[0]["prompt"].startswith("Lena a 3 pommes")


def test_missing_column_exits_2_naming_it(tmp_path, capsys):
    code, _ = prepare(tmp_path, "--input", str(FIXTURE), "--columns", "prompt=question,"
                      "answer=final_answer")
    assert code == 2
    err = capsys.readouterr().err
    assert "--columns answer=final_answer: column 'final_answer' not found" in err
    assert "answer_number" in err  # the available columns are listed
    code, _ = prepare(tmp_path, "--input", str(FIXTURE))  # no `prompt` column, none mapped
    assert code == 2 and "Map one with --columns prompt=<column>" in capsys.readouterr().err


def test_unknown_language_code_exits_2_naming_the_column(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("".join(json.dumps({"q": "2+2?", "a": "4", "language": code}) + "\n"
                           for code in ("fr", "xx")))
    code, _ = prepare(tmp_path, "--input", str(bad), "--columns",
                      "prompt=q,answer=a,lang=language")
    assert code == 2
    err = capsys.readouterr().err
    assert "--columns lang=language: row 2" in err and "unknown language code 'xx'" in err
