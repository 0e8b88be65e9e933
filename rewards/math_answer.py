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
import re
from collections.abc import Sequence

from rewards.format import THINK_CLOSE, boxed_spans, last_boxed
from rewards.worker_pool import HardTimeoutPool, serve

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 5.0
UNPARSEABLE_REFERENCE = "unparseable reference"
_INNER_TIMEOUT_S = 2  # math-verify's own (signal) timeout, which works on the worker's main thread
_pool: HardTimeoutPool | None = None


def answer_part(completion: str) -> str:
    r"""Return the text after the first ``</think>`` (the whole completion without one).

    The first ``</think>`` closes the think block, as in the format gate; whatever follows,
    another ``</think>`` included, is the answer.

    >>> answer_part("<think>maybe 3</think> so \\boxed{4} (not </think>)")
    ' so \\boxed{4} (not </think>)'
    """
    return completion.partition(THINK_CLOSE)[2] if THINK_CLOSE in completion else completion


def extract_answer(completion: str) -> str | None:
    r"""Return the content of the last ``\boxed{}`` in the answer part, or None.

    >>> extract_answer("<think>\\boxed{3}</think> \\boxed{\\frac{1}{2}} and \\boxed{4}")
    '4'
    """
    if not isinstance(completion, str):
        return None
    return last_boxed(answer_part(completion))


def _task(completion: object) -> tuple[str, str] | None:
    """(last box, every box) of a completion's answer part; None without a non-empty box."""
    if not isinstance(completion, str):
        return None
    spans = boxed_spans(answer_part(completion))
    if not spans or not spans[-1][2].strip():
        return None
    outer, reach = [], -1
    for start, end, content in spans:  # by start: a box inside the previous outer one is nested
        if start > reach:
            outer.append(content)
            reach = end
    return spans[-1][2], " ".join(f"\\boxed{{{content}}}" for content in outer)


def check_many(completions: Sequence[str], references: Sequence[str],
               timeout_s: float = DEFAULT_TIMEOUT_S) -> list[bool | None]:
    r"""Grade many completions at once: True/False, or None when the reference cannot be parsed.

    >>> check_many(["\\boxed{0.5}", "\\boxed{2}", "\\boxed{}"], ["\\frac{1}{2}", "3", "3"])
    [True, False, False]
    """
    tasks = [_task(completion) for completion in completions]
    unique = sorted({(*t, str(r)) for t, r in zip(tasks, references, strict=True) if t})
    verdicts = dict(zip(unique, _get_pool().map(unique, timeout_s), strict=True))
    results: list[bool | None] = []
    for task, reference in zip(tasks, references, strict=True):
        verdict = verdicts[(*task, str(reference))] if task else False
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


# A reference holding any of these is already marked-up text (a boxed answer, a worked
# solution, a formula in delimiters): math-verify parses it as given, as it parses any gold.
# An escaped dollar (``\$18.90``) is a currency sign, not a delimiter.
_MARKUP = re.compile(r"\\boxed|\\fbox|(?<!\\)\$|\\\(|\\\[")


def reference_candidates(reference: str) -> list[str]:
    r"""The texts to hand math-verify for one reference, most faithful reading first.

    A bare reference (MATH-style ``\frac{1}{2}``, GSM8K-style ``1,000``) is read as if boxed,
    because math-verify only finds bare LaTeX inside a box or delimiters, and its plain-text
    fallback would read ``3\sqrt{13}`` as ``3``; the raw text is the last resort.

    >>> reference_candidates("\\frac{1}{2}")
    ['\\boxed{\\frac{1}{2}}', '\\frac{1}{2}']
    >>> reference_candidates("So $x = \\boxed{3}$.")
    ['So $x = \\boxed{3}$.']
    >>> reference_candidates("\\$18.90")
    ['\\boxed{\\$18.90}', '\\$18.90']
    """
    text = reference.strip()
    if not text:
        return []
    if _MARKUP.search(text):
        return [text]
    boxed = f"\\boxed{{{text}}}"
    # Unbalanced braces would let the box close early and grade a fragment of the reference.
    return [boxed, text] if last_boxed(boxed) == text else [text]


@functools.lru_cache(maxsize=4096)
def _parse_reference(reference: str) -> list:
    """math-verify's parse of a reference; [] when it finds nothing at all."""
    from math_verify import parse

    readings = [parse(text, parsing_timeout=_INNER_TIMEOUT_S)
                for text in reference_candidates(reference)]
    # Prefer a reading with a mathematical object; a text-only one (math-verify compares it as
    # a string, as it does for gold it cannot convert) beats nothing.
    return next((r for r in readings if any(not isinstance(x, str) for x in r)),
                next((r for r in readings if r), []))


def _is_answer_set(parsed: list) -> bool:
    """True for a reference that lists several answers (math-verify reads those as a set)."""
    from sympy import FiniteSet

    return bool(parsed) and isinstance(parsed[0], FiniteSet) and len(parsed[0]) > 1


def verify_pair(task: Sequence[str]) -> bool | str:
    """Worker side: compare one completion's boxed answer with one reference.

    The answer is the last box, as in the Magistral paper; only against a reference that lists
    several answers are all boxes read together (``\\boxed{1}, \\boxed{2}``), as math-verify
    reads them. Exactly one reading per pair, so a completion cannot hedge between two.
    """
    from math_verify import LatexExtractionConfig, parse, verify

    last, every, reference = task
    gold = _parse_reference(reference)
    if not gold:
        return UNPARSEABLE_REFERENCE
    text = every if _is_answer_set(gold) else f"\\boxed{{{last}}}"
    predicted = parse(text, extraction_config=[LatexExtractionConfig(boxed_match_priority=0)],
                      parsing_timeout=_INNER_TIMEOUT_S)
    return bool(verify(gold, predicted, timeout_seconds=_INNER_TIMEOUT_S))


if __name__ == "__main__":
    logging.disable(logging.CRITICAL)  # math-verify logs parse failures; the parent decides
    import math_verify  # noqa: F401 - import before saying ready, so startup costs no task time
    serve(verify_pair)
