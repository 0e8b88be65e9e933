"""Loading problems into the canonical row, and turning rows into GRPO prompts.

Why: every part of the framework (training, rewards, evaluation, data curation) speaks one row
schema, so a new dataset needs only a column mapping in the recipe, never code:

    prompt  str        the problem as the user asks it
    answer  str        reference answer (math) or "" (code)
    task    str        "math" or "code"
    lang    str        ISO 639-1 code of the problem, "" if unknown
    tests   list[str]  test snippets for code problems ([] for math)
    source  str        where the row came from

Local JSONL is read line by line so a broken line is reported with its number.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reasoning_rl.data.prompting import build_prompt
from reasoning_rl.errors import DataError
from reasoning_rl.recipe.prompt_section import PromptSection

CANONICAL_COLUMNS = ("prompt", "answer", "task", "lang", "tests", "source")


def read_records(source: str, split: str = "train") -> list[dict[str, Any]]:
    """Rows of a local .jsonl/.json/.parquet file, or of a hub dataset split.

    >>> rows = read_records("data/arithmetic_heldout.jsonl")  # doctest: +SKIP
    """
    path = Path(source)
    if source.endswith(".jsonl"):
        return _read_jsonl(path)
    if source.endswith(".json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataError(f"{source}: cannot read JSON ({exc})") from None
        if not isinstance(data, list):
            raise DataError(f"{source}: expected a JSON list of rows")
        return data
    if source.endswith(".parquet"):
        import pyarrow.parquet as pq

        try:
            return pq.read_table(path).to_pylist()
        except (OSError, ValueError) as exc:
            raise DataError(f"{source}: cannot read Parquet ({exc})") from None
    return _read_hub(source, split)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise DataError(f"{path}:{number}: not valid JSON ({exc})") from None
        if not isinstance(row, dict):
            raise DataError(f"{path}:{number}: expected a JSON object per line")
        rows.append(row)
    return rows


def _read_hub(name: str, split: str) -> list[dict[str, Any]]:
    import datasets

    try:
        return list(datasets.load_dataset(name, split=split))
    except Exception as exc:  # noqa: BLE001 - any failure here is "cannot get this dataset"
        raise DataError(f"data.source: cannot load hub dataset {name!r} split {split!r} "
                        f"({type(exc).__name__}: {exc}). For a local file, give a path "
                        f"ending in .jsonl, .json or .parquet") from None


def canonical_rows(records: list[dict[str, Any]], columns: dict[str, str], *, task: str = "math",
                   lang: str = "", source: str = "", key_path: str = "data"
                   ) -> list[dict[str, Any]]:
    """Map dataset records onto the canonical row schema, checking every mapped column.

    >>> canonical_rows([{"q": "1+1?", "a": "2"}], {"prompt": "q", "answer": "a"})[0]["answer"]
    '2'
    """
    for name in columns:
        if name not in CANONICAL_COLUMNS:
            raise DataError(f"{key_path}.columns.{name}: not a canonical column; "
                            f"expected one of {', '.join(CANONICAL_COLUMNS)}")
    available = sorted(records[0]) if records else []
    if not records:
        raise DataError(f"{key_path}.source: {source or 'the dataset'} has no rows")
    mapping = {name: columns.get(name, name) for name in CANONICAL_COLUMNS}
    for name in ("prompt", "answer") if task == "math" else ("prompt",):
        if mapping[name] not in records[0]:
            raise DataError(
                f"{key_path}.columns.{name}: column {mapping[name]!r} not found in {source}; "
                f"available columns: {', '.join(available)}. "
                f"Map one with {key_path}.columns.{name}=<column>")
    for name, column in columns.items():
        if column not in records[0]:
            raise DataError(f"{key_path}.columns.{name}: column {column!r} not found in "
                            f"{source}; available columns: {', '.join(available)}")
    return [_canonical_row(r, mapping, task, lang, source) for r in records]


def _canonical_row(record: dict[str, Any], mapping: dict[str, str], task: str, lang: str,
                   source: str) -> dict[str, Any]:
    tests = record.get(mapping["tests"]) or []
    return {
        "prompt": str(record[mapping["prompt"]]),
        "answer": "" if record.get(mapping["answer"]) is None else str(record[mapping["answer"]]),
        "task": str(record.get(mapping["task"]) or task),
        "lang": str(record.get(mapping["lang"]) or lang),
        "tests": [str(t) for t in tests] if isinstance(tests, list) else [str(tests)],
        "source": str(record.get(mapping["source"]) or source),
    }


def load_canonical(source: str, split: str, columns: dict[str, str], *, task: str = "math",
                   lang: str = "", limit: int | None = None, key_path: str = "data"
                   ) -> list[dict[str, Any]]:
    """Read a dataset and return its first `limit` canonical rows."""
    records = read_records(source, split)
    if limit is not None:
        records = records[:limit]
    return canonical_rows(records, columns, task=task, lang=lang, source=source,
                          key_path=key_path)


def to_grpo_dataset(rows: list[dict[str, Any]], prompt: PromptSection, tokenizer):
    """A `datasets.Dataset` for TRL: `prompt` becomes the model's prompt, other columns stay.

    The prompt is chat messages, or plain text for a model without a chat template
    (`prompting.build_prompt`); the problem itself stays in the `problem` column.

    The reward functions receive the other columns (answer, task, lang, tests) as keyword
    arguments, which is how TRL passes dataset columns to rewards.
    """
    import datasets

    return datasets.Dataset.from_list(
        [{**row, "problem": row["prompt"], "prompt": build_prompt(row["prompt"], prompt, tokenizer)}
         for row in rows]
    )
