"""Try 15's data (README, "Try 15"): every one-digit sum, difference (no negative results) and
product (factors 2 to 9), 190 in all, shuffled with seed 15; the first 100 are held out, one
language each in turn, and the other 90 are asked in all five languages (450 training rows).
No held-out sum, difference or product is trained on, in any language.

    python docs/examples/multilingual_try15/make_data.py OUT_DIR

The files are the ones try 15 read as /tmp/easy/train.jsonl and /tmp/easy/heldout.jsonl.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "data"))
from multilingual_arithmetic import LANGS, question  # noqa: E402

SEED = 15


def rows() -> dict[str, list[dict[str, str]]]:
    """The held-out and training rows, in the order try 15 wrote them."""
    triples = ([("+", a, b) for a in range(1, 10) for b in range(1, 10)]
               + [("-", a, b) for a in range(1, 10) for b in range(1, a + 1)]
               + [("*", a, b) for a in range(2, 10) for b in range(2, 10)])
    rng = random.Random(SEED)
    rng.shuffle(triples)

    def row(lang: str, op: str, a: int, b: int, split: str) -> dict[str, str]:
        result = {"+": a + b, "-": a - b, "*": a * b}[op]
        return {"prompt": question(lang, op, a, b), "answer": str(result), "task": "math",
                "lang": lang, "source": f"easy-{split}"}

    heldout = [row(LANGS[i % len(LANGS)], *t, "heldout") for i, t in enumerate(triples[:100])]
    train = [row(lang, *t, "train") for t in triples[100:] for lang in LANGS]
    rng.shuffle(train)
    return {"heldout": heldout, "train": train}


if __name__ == "__main__":
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for split, found in rows().items():
        (out / f"{split}.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in found), encoding="utf-8")
