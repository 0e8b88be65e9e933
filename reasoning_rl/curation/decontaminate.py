"""`reasoning-rl data decontaminate`: drop training problems that overlap evaluation problems.

Why: a model that saw a benchmark problem during training reports a score that measures memory,
not reasoning. A training problem is dropped when a large enough share of its word n-grams
(lower-cased, punctuation removed) also occur in some evaluation problem. Sharing is measured
against the evaluation problem that shares the most, so the report names it; problems shorter
than n words count as a single n-gram of all their words.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

WORD = re.compile(r"\w+", re.UNICODE)
Ngram = tuple[str, ...]


def ngrams(text: str, n: int) -> set[Ngram]:
    """The set of word n-grams of `text` (one n-gram of all words when it is shorter).

    >>> sorted(ngrams("The cat, the HAT!", 3))
    [('cat', 'the', 'hat'), ('the', 'cat', 'the')]
    """
    words = WORD.findall(text.lower())
    if len(words) < n:
        return {tuple(words)} if words else set()
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


@dataclass(frozen=True)
class Match:
    """The evaluation problem sharing most n-grams with a training problem."""

    overlap: float
    benchmark: str
    index: int
    prompt: str


class NgramIndex:
    """Which evaluation problems contain each n-gram."""

    def __init__(self, eval_sets: dict[str, list[dict[str, Any]]], n: int):
        self.n = n
        self.eval_sets = eval_sets
        self.owners: dict[Ngram, list[tuple[str, int]]] = {}
        for name, rows in eval_sets.items():
            for index, row in enumerate(rows):
                for gram in ngrams(row["prompt"], n):
                    self.owners.setdefault(gram, []).append((name, index))

    def best_match(self, text: str) -> Match | None:
        """The evaluation problem with the largest share of `text`'s n-grams, if any.

        >>> NgramIndex({"b": [{"prompt": "a b c d"}]}, 2).best_match("x a b c").overlap
        0.6666666666666666
        """
        grams = ngrams(text, self.n)
        hits: Counter[tuple[str, int]] = Counter()
        for gram in grams:
            hits.update(self.owners.get(gram, ()))
        if not hits:
            return None
        (name, index), count = hits.most_common(1)[0]
        return Match(count / len(grams), name, index, self.eval_sets[name][index]["prompt"])


def decontaminate(rows: list[dict[str, Any]], eval_sets: dict[str, list[dict[str, Any]]], *,
                  n: int = 8, threshold: float = 0.5
                  ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(kept rows, report of removed rows) for rows whose overlap is >= threshold.

    >>> evals = {"gsm8k": [{"prompt": "Janet has 3 ducks and 2 cats. How many pets?"}]}
    >>> kept, removed = decontaminate([{"prompt": "Janet has 3 ducks and 2 cats. How many pets?"},
    ...                                {"prompt": "What is 2 + 2?"}], evals, n=4)
    >>> len(kept), removed[0]["matched_benchmark"]
    (1, 'gsm8k')
    """
    if not 0 < threshold <= 1 or n < 1:
        raise ValueError("threshold must be in (0, 1] and n >= 1")
    index = NgramIndex(eval_sets, n)
    kept, removed = [], []
    for position, row in enumerate(rows):
        match = index.best_match(row["prompt"])
        if match is None or match.overlap < threshold:
            kept.append(row)
            continue
        removed.append({"row": position, "prompt": row["prompt"],
                        "overlap": round(match.overlap, 4), "matched_benchmark": match.benchmark,
                        "matched_index": match.index, "matched_prompt": match.prompt})
    return kept, removed
