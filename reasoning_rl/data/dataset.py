"""Loading problems into the canonical row, and turning rows into GRPO prompts.

Why: every part of the framework (training, rewards, evaluation, data curation) speaks one row
schema, so a new dataset needs only a column mapping in the recipe, never code:

    prompt  str        the problem as the user asks it
    answer  str        reference answer (math) or "" (code)
    task    str        "math" or "code"
    lang    str        ISO 639-1 code of the problem, "" if unknown
    tests   list[str]  test snippets for code problems ([] for math)
    source  str        where the row came from

Local JSONL is read line by line with the standard json module, so a broken line is reported
with its number and values stay as written; Parquet and hub datasets go through Hugging Face
`datasets`. A row limit stops reading early for JSONL and Parquet.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from reasoning_rl.data.prompting import build_prompt
from reasoning_rl.recipe.errors import DataError
from reasoning_rl.recipe.prompt_section import PromptSection

CANONICAL_COLUMNS = ("prompt", "answer", "task", "lang", "tests", "source")


def read_records(source: str, split: str = "train", limit: int | None = None
                 ) -> list[dict[str, Any]]:
    """The first `limit` rows (all when None) of a local .jsonl/.json/.parquet file, or of a hub
    dataset split. JSONL and Parquet stop reading near the limit; a .json list is read whole.

    >>> read_records("data/arithmetic_heldout.jsonl", limit=1)[0]["answer"]
    '23'
    """
    path = Path(source)
    if source.endswith(".jsonl"):
        return _read_jsonl(path, limit)
    if source.endswith(".json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataError(f"{source}: cannot read JSON ({exc})") from None
        if not isinstance(data, list):
            raise DataError(f"{source}: expected a JSON list of rows")
        return data[:limit]
    if source.endswith(".parquet"):
        return _read_parquet(path, limit)
    return _read_hub(source, split)[:limit]


def _read_parquet(path: Path, limit: int | None) -> list[dict[str, Any]]:
    # Streamed by row group, so a limit reads only the first groups (plus pyarrow's read-ahead);
    # a local file never touches the network.
    import datasets

    try:
        rows = datasets.load_dataset("parquet", data_files=str(path.resolve()), split="train",
                                     streaming=True)
        return list(itertools.islice(rows, limit))
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise DataError(f"{path}: cannot read Parquet ({exc})") from None


def _read_jsonl(path: Path, limit: int | None) -> list[dict[str, Any]]:
    # The standard json module, not datasets' JSON loader: that one infers a type per column and
    # converts values ("01" beside 2 becomes 1), and its parse errors name no line of the file.
    rows: list[dict[str, Any]] = []
    try:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if limit is not None and len(rows) >= limit:
                    break
                if line.strip():
                    rows.append(_json_object(line, path, number))
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
    return rows


def _json_object(line: str, path: Path, number: int) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except ValueError as exc:
        raise DataError(f"{path}:{number}: not valid JSON ({exc})") from None
    if not isinstance(row, dict):
        raise DataError(f"{path}:{number}: expected a JSON object per line")
    return row


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
    records = read_records(source, split, limit)
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
