"""`data decontaminate`: overlapping problems are removed and reported; others are kept."""

from __future__ import annotations

import json

from reasoning_rl.cli import main
from reasoning_rl.curation.decontaminate import decontaminate, ngrams
from reasoning_rl.curation.rows_io import read_rows

EVAL = {"mine": [{"prompt": "A train leaves the station at 3 pm travelling at 60 km per hour. "
                            "When does it arrive 180 km away?"},
                 {"prompt": "Find all real x such that x squared equals four."}]}


def test_ngrams_ignore_case_and_punctuation():
    assert ngrams("Hello, WORLD again", 2) == {("hello", "world"), ("world", "again")}
    assert ngrams("Short", 3) == {("short",)}
    assert ngrams("", 3) == set()


def test_threshold_decides_and_report_names_the_match():
    reworded = ("A train leaves the station at 3 pm travelling at 60 km per hour. "
                "How long until it is 180 km away?")
    rows = [{"prompt": reworded}, {"prompt": "Compute the sum of the first ten primes."}]
    kept, removed = decontaminate(rows, EVAL, n=5, threshold=0.5)
    assert kept == rows[1:]
    assert removed[0]["matched_benchmark"] == "mine" and removed[0]["matched_index"] == 0
    assert 0.5 <= removed[0]["overlap"] < 1.0
    kept, removed = decontaminate(rows, EVAL, n=5, threshold=0.95)
    assert kept == rows and removed == []


def test_cli_writes_rows_and_report(tmp_path):
    evals = tmp_path / "evals.jsonl"
    evals.write_text("".join(json.dumps({"prompt": r["prompt"], "answer": "", "task": "math"})
                             + "\n" for r in EVAL["mine"]))
    train = tmp_path / "train.jsonl"
    rows = [{"prompt": EVAL["mine"][1]["prompt"], "answer": "2", "task": "math", "lang": "en",
             "tests": [], "source": "t"},
            {"prompt": "How many legs do three spiders have?", "answer": "24", "task": "math",
             "lang": "en", "tests": [], "source": "t", "pass_rate": 0.5}]
    train.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "clean.parquet"
    assert main(["data", "decontaminate", "--input", str(train), "--output", str(out),
                 "--against", str(evals), "--ngram", "4"]) == 0
    assert read_rows(out) == rows[1:]  # extra columns survive, Parquet round-trips
    report = json.loads((tmp_path / "clean.parquet.decontamination.json").read_text())
    assert report["kept"] == 1 and report["removed"][0]["overlap"] == 1.0
    assert main(["data", "decontaminate", "--input", str(train), "--output", str(out),
                 "--against", "nosuchbench"]) == 2


def test_gsm8k_test_problems_are_caught_among_training_problems(shared_data):
    from reasoning_rl.eval.benchmarks import load_benchmark

    test = load_benchmark("gsm8k", shared_data)
    rows = [{"prompt": "Tell me how many apples Sam has if he buys 4 and eats 1."},
            {"prompt": test[5]["prompt"]}, {"prompt": test[100]["prompt"].upper()}]
    kept, removed = decontaminate(rows, {"gsm8k": test}, n=8, threshold=0.5)
    assert kept == rows[:1]
    assert [r["matched_index"] for r in removed] == [5, 100]
