"""Math correctness: is the last ``\\boxed{}`` of the answer equivalent to the reference?

Equivalence is math-verify's job (symbolic and numeric comparison of LaTeX); this module only
decides *what* to compare, as the Magistral paper does: the last boxed expression after
``</think>``. Verification runs in worker processes with hard deadlines (see ``worker_pool``),
because math-verify's own timeout relies on ``signal.alarm`` and silently switches off when a
trainer calls rewards from a thread. Identical (answer, reference) pairs in a batch, common in a
GRPO group, are verified once.

Run as ``python -m rewards.math_answer`` this module is the worker itself.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence

from rewards.format import THINK_CLOSE, last_boxed
from rewards.worker_pool import HardTimeoutPool, serve

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 5.0
UNPARSEABLE_REFERENCE = "unparseable reference"
_INNER_TIMEOUT_S = 2  # math-verify's own (signal) timeout, which works on the worker's main thread
_pool: HardTimeoutPool | None = None


def answer_part(completion: str) -> str:
    """Return the text after ``</think>`` (the whole completion when there is no such tag).

    >>> answer_part("<think>maybe 3</think> so \\\\boxed{4}")
    ' so \\\\boxed{4}'
    """
    return completion.rpartition(THINK_CLOSE)[2]


def extract_answer(completion: str) -> str | None:
    """Return the content of the last ``\\boxed{}`` in the answer part, or None.

    >>> extract_answer("<think>\\\\boxed{3}</think> \\\\boxed{\\\\frac{1}{2}} and \\\\boxed{4}")
    '4'
    """
    if not isinstance(completion, str):
        return None
    return last_boxed(answer_part(completion))


def check_many(completions: Sequence[str], references: Sequence[str],
               timeout_s: float = DEFAULT_TIMEOUT_S) -> list[bool | None]:
    """Grade many completions at once: True/False, or None when the reference cannot be parsed.

    >>> check_many(["\\\\boxed{0.5}", "\\\\boxed{2}"], ["\\\\frac{1}{2}", "3"])
    [True, False]
    """
    answers = [extract_answer(completion) for completion in completions]
    unique_pairs = sorted({(a, str(r)) for a, r in zip(answers, references, strict=True)
                           if a and a.strip()})
    verdicts = dict(zip(unique_pairs, _get_pool().map(unique_pairs, timeout_s), strict=True))
    results: list[bool | None] = []
    for answer, reference in zip(answers, references, strict=True):
        if not answer or not answer.strip():
            results.append(False)
            continue
        verdict = verdicts[(answer, str(reference))]
        if verdict == UNPARSEABLE_REFERENCE:
            log.warning("reference %.80r cannot be parsed; answer not scored", reference)
            results.append(None)
        else:  # None here means the worker ran out of time or crashed: that scores 0
            results.append(verdict is True)
    return results


def is_correct(completion: str, reference: str) -> bool:
    """True if the last boxed answer of ``completion`` is equivalent to ``reference``.

    >>> is_correct("<think>half</think> The answer is \\\\boxed{\\\\frac{2}{4}}.", "0.5")
    True
    """
    return bool(check_many([completion], [reference])[0])


def _get_pool() -> HardTimeoutPool:
    global _pool
    if _pool is None:
        _pool = HardTimeoutPool(__name__ if __name__ != "__main__" else "rewards.math_answer")
    return _pool


@functools.lru_cache(maxsize=4096)
def _parse_reference(reference: str) -> list:
    from math_verify import parse

    if last_boxed(f"\\boxed{{{reference}}}") != reference:
        return []  # unbalanced braces: math-verify would fall back to comparing raw strings
    text = reference if ("\\boxed" in reference or "$" in reference) else f"\\boxed{{{reference}}}"
    parsed = parse(text, parsing_timeout=_INNER_TIMEOUT_S)
    return parsed or parse(f"${reference}$", parsing_timeout=_INNER_TIMEOUT_S)


def verify_pair(pair: Sequence[str]) -> bool | str:
    """Worker side: compare one boxed answer with one reference."""
    from math_verify import LatexExtractionConfig, parse, verify

    answer, reference = pair
    gold = _parse_reference(reference)
    if not gold:
        return UNPARSEABLE_REFERENCE
    predicted = parse(f"\\boxed{{{answer}}}",
                      extraction_config=[LatexExtractionConfig(boxed_match_priority=0)],
                      parsing_timeout=_INNER_TIMEOUT_S)
    return bool(verify(gold, predicted, timeout_seconds=_INNER_TIMEOUT_S))


if __name__ == "__main__":
    logging.disable(logging.CRITICAL)  # math-verify logs parse failures; the parent decides
    import math_verify  # noqa: F401 - import before saying ready, so startup costs no task time
    serve(verify_pair)
