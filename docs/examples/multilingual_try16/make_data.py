"""Try 16's data (docs/multilingual.md, "Try 16"): "which is larger?" for two different
two-digit numbers, asked in English, French, Spanish, Russian and Chinese in turn; 100 held-out
rows, then 600 training rows, seed 16. An ordered pair is never asked twice, but 5 training
rows ask a held-out pair in the other order.

    python docs/examples/multilingual_try16/make_data.py OUT_DIR

The files are the ones try 16 read as /tmp/probe/cmp_heldout.jsonl and /tmp/probe/cmp_train.jsonl.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

LANGS = ("en", "fr", "es", "ru", "zh")
QUESTIONS = {"en": "Which is larger, {a} or {b}?", "fr": "Quel est le plus grand, {a} ou {b} ?",
             "es": "¿Cuál es mayor, {a} o {b}?", "ru": "Что больше: {a} или {b}?",
             "zh": "{a} 和 {b} 哪个更大？"}


def rows(rng: random.Random, size: int, seen: set[tuple[int, int]]) -> list[dict[str, str]]:
    """``size`` rows whose ordered pairs are not in ``seen`` (which they join)."""
    out: list[dict[str, str]] = []
    while len(out) < size:
        a, b = rng.randint(10, 99), rng.randint(10, 99)
        if a == b or (a, b) in seen:
            continue
        seen.add((a, b))
        lang = LANGS[len(out) % len(LANGS)]
        out.append({"prompt": QUESTIONS[lang].format(a=a, b=b), "answer": str(max(a, b)),
                    "task": "math", "lang": lang, "source": "probe-cmp"})
    return out


if __name__ == "__main__":
    out_dir = Path(sys.argv[1])
    out_dir.mkdir(parents=True, exist_ok=True)
    rng, seen = random.Random(16), set()
    for split, size in (("heldout", 100), ("train", 600)):
        (out_dir / f"cmp_{split}.jsonl").write_text("".join(
            json.dumps(r, ensure_ascii=False) + "\n" for r in rows(rng, size, seen)),
            encoding="utf-8")
