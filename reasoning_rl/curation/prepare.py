"""`reasoning-rl data prepare`: any local file or hub dataset in, canonical rows out.

Why: the curation commands (decontaminate, filter-difficulty, translate) and recipes read the
canonical row (`prompt, answer, task, lang, tests, source`); real datasets name their columns
their own way (`question`, `answer_number`, `language`) and some keep the final answer inside a
worked solution (GSM8K: `... #### 18`). This step maps columns once, checks that every mapped
column exists and every `lang` is a code language ID knows, and writes a file every other
step can share. Mapping itself is `dataset.canonical_rows`, the same code recipes use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reasoning_rl.data.dataset import CANONICAL_COLUMNS, canonical_rows
from reasoning_rl.recipe.errors import DataError, UserError


@dataclass
class PrepareOptions:
    """How to map a dataset: `columns` maps canonical names to the dataset's own columns."""

    columns: dict[str, str] = field(default_factory=dict)
    task: str = "math"
    lang: str = ""
    answer_after: str | None = None  # keep only the text after this marker (GSM8K: "####")
    limit: int | None = None


def parse_columns(text: str | None) -> dict[str, str]:
    """`prompt=question,answer=answer_number` as a mapping, names checked.

    >>> parse_columns("prompt=question, lang=language")
    {'prompt': 'question', 'lang': 'language'}
    >>> parse_columns("question=prompt")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    reasoning_rl.recipe.errors.UserError: --columns question=prompt: 'question' is not ...
    """
    mapping = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        name, sep, column = (part.strip() for part in item.partition("="))
        if not sep or not name or not column:
            raise UserError(f"--columns {item.strip()}: expected canonical=column, "
                            f"e.g. prompt=question")
        if name not in CANONICAL_COLUMNS:
            raise UserError(f"--columns {item.strip()}: {name!r} is not a canonical column; "
                            f"expected one of {', '.join(CANONICAL_COLUMNS)}")
        mapping[name] = column
    return mapping


def prepare(records: list[dict[str, Any]], source: str, options: PrepareOptions
            ) -> list[dict[str, Any]]:
    """Canonical rows of `records`, with every column and language code checked.

    >>> prepare([{"question": "2+2?", "answer": "so #### 4", "language": "fr"}], "x.jsonl",
    ...         PrepareOptions({"prompt": "question", "lang": "language"}, answer_after="####")
    ...         )[0]["answer"]
    '4'
    """
    if not records:
        raise DataError(f"--input {source}: no rows")
    records = records[:options.limit] if options.limit is not None else records
    check_columns(records[0], source, options)
    rows = canonical_rows(records, options.columns, task=options.task, lang=options.lang,
                          source=source, key_path="--columns")
    for number, row in enumerate(rows, start=1):
        if options.answer_after and options.answer_after in row["answer"]:
            row["answer"] = row["answer"].rpartition(options.answer_after)[2].strip()
            row["answer"] = row["answer"].replace(",", "")  # 1,000 -> 1000
        row["lang"] = row["lang"].strip().lower()
        check_language(row["lang"], number, source, options)
    return rows


def check_columns(first: dict[str, Any], source: str, options: PrepareOptions) -> None:
    """Every mapped column, and `prompt` (and `answer` for math), must exist in the data."""
    available = ", ".join(sorted(first))
    for name, column in options.columns.items():
        if column not in first:
            raise DataError(f"--columns {name}={column}: column {column!r} not found in "
                            f"{source}; available columns: {available}")
    needed = ("prompt", "answer") if options.task == "math" else ("prompt",)
    for name in needed:
        if name not in options.columns and name not in first:
            raise DataError(f"--input {source}: no column {name!r}; available columns: "
                            f"{available}. Map one with --columns {name}=<column>")


def check_language(code: str, number: int, source: str, options: PrepareOptions) -> None:
    """A non-empty `lang` must be an ISO 639-1 code that language ID can name."""
    if not code:
        return
    from rewards.language_id import languages_for

    try:
        languages_for([code])
    except ValueError as exc:
        where = (f"--columns lang={options.columns['lang']}" if "lang" in options.columns
                 else "--lang" if options.lang else "column 'lang'")
        raise DataError(f"{where}: row {number} of {source}: {exc}") from None
