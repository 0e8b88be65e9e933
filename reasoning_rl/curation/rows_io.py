"""Reading and writing canonical rows as JSONL or Parquet for the `data` commands.

Why: every curation step reads the output of another (decontaminate, then filter by difficulty,
then translate), so they share one file format: the canonical row, plus any extra columns a
step adds (`pass_rate`), which later steps keep. Writes go to a temporary file renamed into
place, so an interrupted command never leaves a half-written output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reasoning_rl.atomic import atomic_path
from reasoning_rl.data.dataset import read_records
from reasoning_rl.recipe.errors import DataError, UserError

DEFAULTS: dict[str, Any] = {"answer": "", "task": "math", "lang": "", "tests": [], "source": ""}
SUFFIXES = (".jsonl", ".parquet")


def _check_suffix(path: Path, flag: str) -> None:
    if path.suffix not in SUFFIXES:
        raise UserError(f"{flag} {path}: expected a .jsonl or .parquet file")


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """Canonical rows of a file (missing optional columns filled, extra columns kept).

    >>> read_rows("missing.jsonl")
    Traceback (most recent call last):
    ...
    reasoning_rl.recipe.errors.UserError: --input missing.jsonl: file not found
    """
    path = Path(path)
    _check_suffix(path, "--input")
    if not path.is_file():
        raise UserError(f"--input {path}: file not found")
    rows = []
    for number, record in enumerate(read_records(str(path)), start=1):
        if not isinstance(record.get("prompt"), str):
            raise DataError(f"{path}: row {number} has no string 'prompt' column; the data "
                            f"commands read canonical rows (see data/README.md)")
        rows.append({**DEFAULTS, **{k: v for k, v in record.items() if v is not None}})
    return rows


def write_rows(rows: list[dict[str, Any]], path: str | Path) -> None:
    """Write rows atomically as JSONL or Parquet (chosen by the suffix)."""
    path = Path(path)
    _check_suffix(path, "--output")
    with atomic_path(path) as staging:
        if path.suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pylist(rows), staging)
        else:
            with open(staging, "w", encoding="utf-8") as handle:
                handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def write_json(data: Any, path: str | Path) -> None:
    """A report file, pretty-printed."""
    Path(path).write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
