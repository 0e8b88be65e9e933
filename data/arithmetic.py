"""Deterministic arithmetic word-free problems for the CPU smoke recipe.

Why: a smoke run must show learning in minutes on 2 cores, offline. Two-number additions,
subtractions and small multiplications are short to answer, exactly checkable, and within reach
of a 135M model, so GRPO's format and correctness rewards both carry signal. The generator is
seeded, so the committed files can be re-made byte for byte (`python data/arithmetic.py`), and
held-out problems never repeat a training problem.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).parent
SPLITS = {"train": 512, "heldout": 128}
SEED = 20250610  # Magistral paper date, an arbitrary but fixed seed


def make_problem(rng: random.Random) -> tuple[str, str]:
    """One (question, answer) pair.

    >>> make_problem(random.Random(0))
    ('What is 63 - 15?', '48')
    """
    op = rng.choice(["+", "-", "*"])
    if op == "*":
        a, b = rng.randint(2, 12), rng.randint(2, 12)
        return f"What is {a} * {b}?", str(a * b)
    a, b = rng.randint(10, 99), rng.randint(10, 99)
    if op == "-":
        a, b = max(a, b), min(a, b)
        return f"What is {a} - {b}?", str(a - b)
    return f"What is {a} + {b}?", str(a + b)


def generate() -> dict[str, list[dict[str, str]]]:
    """All splits as canonical rows; questions are unique across splits."""
    rng = random.Random(SEED)
    seen: set[str] = set()
    splits: dict[str, list[dict[str, str]]] = {}
    for split, size in SPLITS.items():
        rows = []
        while len(rows) < size:
            question, answer = make_problem(rng)
            if question in seen:
                continue
            seen.add(question)
            rows.append({"prompt": question, "answer": answer, "task": "math", "lang": "en",
                         "source": f"arithmetic-{split}"})
        splits[split] = rows
    return splits


def write(folder: Path = HERE) -> list[Path]:
    """Write `arithmetic_<split>.jsonl` files into `folder`; return their paths."""
    return write_splits(generate(), folder, "arithmetic")


def write_splits(splits: dict[str, list[dict[str, str]]], folder: Path, prefix: str
                 ) -> list[Path]:
    """Write each split's rows to `<prefix>_<split>.jsonl` (UTF-8, one JSON row a line)."""
    paths = []
    for split, rows in splits.items():
        path = folder / f"{prefix}_{split}.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                        encoding="utf-8")
        paths.append(path)
    return paths


if __name__ == "__main__":
    for p in write():
        print(p)
