"""Held-out samples judged again by today's language judge, per language: how a run's recorded
answers score under a judge that changed after the run (docs/multilingual.md).

    .venv/bin/python -m bench.rejudge_language RUN/eval_after/samples.jsonl [...] \
        [--candidates en,es,fr,ru,zh]

Reads the `samples.jsonl` an eval writes (prompt, lang, samples[].text) and prints, per file
and language, the consistency rate over the judged samples and the count of samples without
words (left out of the rate, as the eval does).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from rewards.total import Sample, language_consistent


def rejudge(path: Path, candidates: tuple[str, ...]) -> dict[str, tuple[float, int, int]]:
    """Per language and over all: (consistency over judged samples, judged, no words)."""
    verdicts: dict[str, list[bool]] = defaultdict(list)
    no_words: dict[str, int] = defaultdict(int)
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        for sample in row["samples"]:
            ok = language_consistent(Sample(row["prompt"], sample["text"], lang=row.get("lang")),
                                     candidates)
            for lang in (row.get("lang") or "?", "all"):
                if ok is None:
                    no_words[lang] += 1
                else:
                    verdicts[lang].append(ok)
    return {lang: (sum(verdicts[lang]) / len(verdicts[lang]) if verdicts[lang] else float("nan"),
                   len(verdicts[lang]), no_words[lang])
            for lang in sorted(set(verdicts) | set(no_words))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--candidates", default="en,es,fr,ru,zh",
                        help="the run's languages (the judge adds 30 common ones)")
    args = parser.parse_args()
    candidates = tuple(code for code in args.candidates.split(",") if code)
    for path in args.files:
        rates = rejudge(path, candidates)
        print(path, "  ".join(f"{lang} {rate:.2f} ({judged} judged, {none} no words)"
                              for lang, (rate, judged, none) in rates.items()))


if __name__ == "__main__":
    main()
