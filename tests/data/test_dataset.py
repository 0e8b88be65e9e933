"""Reading problem files: a row limit stops reading early, values stay as written, bad input
exits 2 naming the file (and the line or column), and a local file never uses the network.

Bytes read are the process's `rchar` (/proc/self/io): everything read through system calls,
whichever library reads.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from reasoning_rl.cli import main
from reasoning_rl.data.dataset import load_canonical, read_records
from reasoning_rl.recipe.errors import DataError


def bytes_read() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


def read_counting(source: str, limit: int | None) -> tuple[list[dict], int]:
    before = bytes_read()
    rows = read_records(source, limit=limit)
    return rows, bytes_read() - before


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any connection attempt fails the test: local files must load offline."""
    def refuse(*args, **kwargs):
        raise AssertionError("a local data file tried the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_jsonl_limit_reads_only_the_first_lines(tmp_path):
    path = tmp_path / "big.jsonl"
    line = json.dumps({"prompt": "x" * 1000, "answer": "1"}) + "\n"
    path.write_text(line * 20_000 + "{broken\n")  # 20 MB, a broken last line
    rows, read = read_counting(str(path), limit=5)
    assert len(rows) == 5 and read < 100_000, read  # the broken line is never reached
    with pytest.raises(DataError, match=r"big\.jsonl:20001: not valid JSON"):
        read_records(str(path))


def test_jsonl_values_stay_as_written(tmp_path):
    # datasets' JSON loader would turn "01" into 1 here, to fit the column to 2's type
    path = tmp_path / "mixed.jsonl"
    path.write_text('{"prompt": "p", "answer": "01"}\n\n{"prompt": "q", "answer": 2}\n')
    assert [r["answer"] for r in read_records(str(path))] == ["01", 2]


@pytest.mark.parametrize("text, message", [
    ('{"prompt": "p"}\n[1, 2]\n', r"bad\.jsonl:2: expected a JSON object per line"),
    ('{"prompt": "p"}\n{"prompt": oops}\n', r"bad\.jsonl:2: not valid JSON"),
])
def test_bad_jsonl_line_is_named(tmp_path, text, message):
    (tmp_path / "bad.jsonl").write_text(text)
    with pytest.raises(DataError, match=message):
        read_records(str(tmp_path / "bad.jsonl"))


def test_json_list_limit_and_a_non_list(tmp_path):
    (tmp_path / "rows.json").write_text(json.dumps([{"prompt": str(i)} for i in range(4)]))
    assert read_records(str(tmp_path / "rows.json"), limit=2) == [{"prompt": "0"},
                                                                   {"prompt": "1"}]
    (tmp_path / "one.json").write_text('{"prompt": "p"}')
    with pytest.raises(DataError, match=r"one\.json: expected a JSON list of rows"):
        read_records(str(tmp_path / "one.json"))


def test_parquet_rows_equal_pyarrows(tmp_path):
    table = pa.table({"prompt": ["a", "b", "c"], "answer": ["1", None, "3"],
                      "tests": [["t1"], [], None], "level": [1, 2, None]})
    pq.write_table(table, tmp_path / "rows.parquet", row_group_size=2)
    assert read_records(str(tmp_path / "rows.parquet")) == table.to_pylist()
    assert read_records(str(tmp_path / "rows.parquet"), limit=1) == table.to_pylist()[:1]


def test_parquet_limit_reads_less_than_the_file(tmp_path):
    path = tmp_path / "big.parquet"
    prompts = [os.urandom(150).hex() for _ in range(240_000)]  # incompressible: ~75 MB
    pq.write_table(pa.table({"prompt": prompts, "answer": ["1"] * len(prompts)}), path,
                   row_group_size=5_000)
    size = path.stat().st_size
    read_records(str(path), limit=1)  # imports and caches warm, outside the counts
    rows, read_limit = read_counting(str(path), limit=5)
    assert [r["prompt"] for r in rows] == prompts[:5]
    rows, read_all = read_counting(str(path), limit=None)
    assert len(rows) == len(prompts) and read_all >= size
    # pyarrow coalesces reads into ranges of up to 32 MiB, so the first rows cost one range
    assert read_limit < size / 2, (read_limit, size)


def test_bad_or_missing_parquet_names_the_file(tmp_path):
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(DataError, match=r"bad\.parquet: cannot read Parquet"):
        read_records(str(tmp_path / "bad.parquet"))
    with pytest.raises(DataError, match=r"gone\.parquet: cannot read Parquet"):
        read_records(str(tmp_path / "gone.parquet"))


def test_parquet_missing_column_names_it_and_the_fix(tmp_path):
    pq.write_table(pa.table({"question": ["2+2?"], "answer": ["4"]}), tmp_path / "q.parquet")
    source = str(tmp_path / "q.parquet")
    with pytest.raises(DataError, match=r"data\.columns\.prompt: column 'prompt' not found in "
                                        r".*q\.parquet; available columns: answer, question\. "
                                        r"Map one with data\.columns\.prompt=<column>"):
        load_canonical(source, "train", {})
    rows = load_canonical(source, "train", {"prompt": "question"}, limit=1)
    assert rows[0]["prompt"] == "2+2?" and rows[0]["answer"] == "4"


def test_data_prepare_exits_2_on_a_bad_file(tmp_path, capsys):
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    code = main(["data", "prepare", "--input", str(tmp_path / "bad.parquet"), "--output",
                 str(tmp_path / "out.jsonl")])
    assert code == 2 and "bad.parquet: cannot read Parquet" in capsys.readouterr().err


def test_real_gsm8k_limit(shared_data):
    rows = read_records(str(shared_data / "gsm8k_test.jsonl"), limit=3)
    assert len(rows) == 3 and rows[0]["answer"].endswith("#### 18")
