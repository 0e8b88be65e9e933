"""Magistral's format gate: the check every other reward component waits behind.

The paper (arXiv 2506.10910, section 2.2) grades nothing unless the completion has the expected
shape: it starts with ``<think>``, holds exactly one ``<think>...</think>`` pair, and the answer
after ``</think>`` carries what the task needs (a ``\\boxed{}`` for math, a fenced code block with
a language tag for code). A failed gate means a total reward of 0. Splitting the completion into
its thinking and answer parts lives here too, because the gate is where that split is defined.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
FORMAT_REWARD = 0.1

# "\\boxed{" or an unescaped brace: the only tokens the boxed matcher needs to see.
_BRACE_TOKEN = re.compile(r"\\boxed\{|(?<!\\)[{}]")
# The opening line of a fence: a language tag right after the backticks, then a newline.
_FENCE_HEADER = re.compile(r"([A-Za-z][\w+#.-]*)[ \t]*\r?\n")


@dataclass(frozen=True)
class FormatCheck:
    """Outcome of the gate: whether it passed, why not, and the two parts of the completion."""

    passed: bool
    reason: str
    thinking: str = ""
    answer: str = ""


def split_thinking(completion: str) -> tuple[str, str] | None:
    """Split a completion into (thinking, answer) if it has exactly one think pair, else None.

    Leading whitespace before ``<think>`` is tolerated; anything else before it is not.

    >>> split_thinking("<think>hmm</think> 42")
    ('hmm', ' 42')
    >>> split_thinking("42 <think>hmm</think>") is None
    True
    """
    text = completion.lstrip()
    if not text.startswith(THINK_OPEN):
        return None
    if text.count(THINK_OPEN) != 1 or text.count(THINK_CLOSE) != 1:
        return None
    thinking, _, answer = text[len(THINK_OPEN):].partition(THINK_CLOSE)
    return thinking, answer


def find_boxed_contents(text: str) -> list[str]:
    """Return the contents of every complete ``\\boxed{...}`` in order, nested braces included.

    math-verify finds boxed answers too, but it has no notion of "the last one in the answer
    part", which the paper grades; this small brace matcher gives exactly that.

    >>> find_boxed_contents(r"\\boxed{1} then \\boxed{\\frac{1}{2}}")
    ['1', '\\\\frac{1}{2}']
    """
    # One linear pass with a stack of open braces, so a megabyte of unclosed "\\boxed{" costs
    # milliseconds rather than a quadratic rescan.
    found: list[tuple[int, str]] = []
    open_braces: list[int | None] = []  # content start for a boxed brace, None for a plain one
    for token in _BRACE_TOKEN.finditer(text):
        if token.group() == "}":
            if open_braces and (content_start := open_braces.pop()) is not None:
                found.append((content_start, text[content_start:token.start()]))
        else:
            open_braces.append(token.end() if token.group() != "{" else None)
    return [content for _, content in sorted(found)]


def last_boxed(text: str) -> str | None:
    """Return the content of the last complete ``\\boxed{}`` in ``text``, or None.

    >>> last_boxed(r"\\boxed{1} or rather \\boxed{x^{2}}")
    'x^{2}'
    """
    contents = find_boxed_contents(text)
    return contents[-1] if contents else None


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """Return (language tag, code) for every fenced block that names its language.

    >>> fenced_blocks("Here:\\n```python\\nprint(1)\\n```")
    [('python', 'print(1)\\n')]
    """
    # Splitting on the fences is linear; a regex with a lazy body rescans on unclosed fences.
    pieces = text.split("```")
    blocks = []
    for inside in pieces[1:-1:2]:  # odd pieces sit between an opening and a closing fence
        header = _FENCE_HEADER.match(inside)
        if header:
            blocks.append((header.group(1).lower(), inside[header.end():]))
    return blocks


def check_format(completion: str, task: str = "math") -> FormatCheck:
    """Apply Magistral's format gate for a ``math`` or ``code`` task.

    >>> check_format("<think>2+2</think> The answer is \\\\boxed{4}.").passed
    True
    >>> check_format("The answer is \\\\boxed{4}.").reason
    'no single <think>...</think> pair at the start'
    """
    if not isinstance(completion, str) or not completion:
        return FormatCheck(False, "empty or not text")
    parts = split_thinking(completion)
    if parts is None:
        return FormatCheck(False, "no single <think>...</think> pair at the start")
    thinking, answer = parts
    if task == "code":
        if not fenced_blocks(answer):
            return FormatCheck(False, "no fenced code block with a language tag after </think>")
    elif task == "math":
        if last_boxed(answer) is None:
            return FormatCheck(False, "no \\boxed{} after </think>")
    else:
        return FormatCheck(False, f"unknown task {task!r}")
    return FormatCheck(True, "ok", thinking, answer)
