"""Estimators for sampled evaluation: mean pass@1, unbiased pass@k, majority vote (maj@k).

Why: with K samples per problem there are three different questions. "How often is one sample
right?" is pass@1 averaged over the K samples (Magistral reports AIME as the mean over 64).
"Would one of k tries be right?" is pass@k, estimated without bias from n >= k samples as
1 - C(n-c, k) / C(n, k) (Chen et al. 2021, the HumanEval paper). "Is the most common answer
right?" is maj@k, for math. Votes need answers grouped by equivalence: every correct answer is
equivalent to the reference and so to each other, so all correct samples form one group; wrong
answers are grouped by their normalised text. Ties count against the reference (conservative).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

CORRECT = "<correct>"  # the vote key shared by every correct sample


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples of which c are correct (k <= n).

    >>> pass_at_k(4, 1, 1), pass_at_k(4, 1, 4), round(pass_at_k(4, 2, 2), 4)
    (0.25, 1.0, 0.8333)
    """
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass_at_k needs 0 <= c <= n and 1 <= k <= n, got n={n} c={c} k={k}")
    if n - c < k:
        return 1.0
    missing_all = 1.0  # C(n-c, k) / C(n, k) as a product, stable for large n
    for i in range(n - c + 1, n + 1):
        missing_all *= 1.0 - k / i
    return 1.0 - missing_all


def mean_pass_at_1(correct: Sequence[Sequence[bool]]) -> float:
    """pass@1 averaged over every sample of every problem (problems weigh equally).

    >>> mean_pass_at_1([[True, False], [True, True]])
    0.75
    """
    rates = [sum(map(bool, row)) / len(row) for row in correct if len(row)]
    return sum(rates) / len(rates) if rates else 0.0


def normalize_answer(answer: str) -> str:
    """Text key for grouping wrong answers: whitespace and `\\left`/`\\right` removed.

    >>> normalize_answer(" \\\\left( 1, 2 \\\\right) ")
    '(1,2)'
    """
    text = answer.replace("\\left", "").replace("\\right", "")
    return "".join(text.split())


def vote_keys(answers: Sequence[str | None], correct: Sequence[bool]) -> list[str | None]:
    """The vote of each sample: CORRECT, a normalised wrong answer, or None (no answer).

    >>> vote_keys(["4", "0.5", None, "4.0"], [True, False, False, True])
    ['<correct>', '0.5', None, '<correct>']
    """
    keys: list[str | None] = []
    for answer, ok in zip(answers, correct, strict=True):
        if ok:
            keys.append(CORRECT)
        else:
            keys.append(normalize_answer(answer) if answer and answer.strip() else None)
    return keys


def top_wrong_vote(answers: Sequence[str | None], correct: Sequence[bool]) -> tuple[str, int]:
    """The most common wrong answer and its count ("", 0 when there is none).

    >>> top_wrong_vote(["3", "3", "4", None], [False, False, True, False])
    ('3', 2)
    """
    votes = Counter(k for k in vote_keys(answers, correct) if k not in (None, CORRECT))
    if not votes:
        return "", 0
    return votes.most_common(1)[0]


def majority_correct(answers: Sequence[str | None], correct: Sequence[bool]) -> bool:
    """maj@k for one problem: do correct samples strictly outvote every wrong answer?

    >>> majority_correct(["4", "4", "5"], [True, True, False])
    True
    >>> majority_correct(["4", "5", "5", None], [True, False, False, False])
    False
    """
    right = sum(1 for k in vote_keys(answers, correct) if k == CORRECT)
    return right > 0 and right > top_wrong_vote(answers, correct)[1]


def ks_for(n: int) -> list[int]:
    """The k values reported for n samples: powers of two below n, and n itself.

    >>> ks_for(1), ks_for(6), ks_for(8)
    ([1], [1, 2, 4, 6], [1, 2, 4, 8])
    """
    ks = [1]
    while ks[-1] * 2 < n:
        ks.append(ks[-1] * 2)
    if n > 1:
        ks.append(n)
    return ks
