"""Magistral's format gate: the check every other reward component waits behind.

The paper (arXiv 2506.10910, section 2.2) grades nothing unless the completion has the expected
shape: exactly one think block, at the start, then an answer that carries what the task needs.
Our reading, which every grader shares: the completion starts with ``<think>`` (after optional
whitespace); the first ``</think>`` closes that block; the thinking may not open a second
``<think>``; the answer part is everything after, and may contain anything (code that prints
``"</think>"``, say). A math answer needs a last ``\\boxed{}`` that is not empty; a code answer
needs a first fenced block with a language tag (the one that gets run) whose code is not blank.
A failed gate means a total reward of 0. Splitting the completion lives here too, because the
gate is where that split is defined.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
FORMAT_REWARD = 0.1
TASKS = ("math", "code")

# "\\boxed{" or an unescaped brace: the only tokens the boxed matcher needs to see.
_BRACE_TOKEN = re.compile(r"\\boxed\{|(?<!\\)[{}]")
# The opening line of a fence: a language tag right after the backticks, then a newline.
_FENCE_HEADER = re.compile(r"([A-Za-z][\w+#.-]*)[ \t]*\r?\n")
# Spacing, braces, math delimiters and formatting commands: what an empty answer is made of.
_NOT_AN_ANSWER = re.compile(
    r"\s|[{}$~.,;:!?]|\\[,;:! ]|\\(?:q?quad|hspace|phantom|displaystyle|text\w*|math\w*|mbox"
    r"|left|right|big\w*|Big\w*)\b|\\[\[\]()]")


@dataclass(frozen=True)
class FormatCheck:
    """Outcome of the gate: whether it passed, why not, and the two parts of the completion."""

    passed: bool
    reason: str
    thinking: str = ""
    answer: str = ""


def split_thinking(completion: str) -> tuple[str, str] | None:
    """Split a completion into (thinking, answer) at its one think block at the start, or None.

    Leading whitespace before ``<think>`` is tolerated; anything else before it is not. The
    first ``</think>`` closes the block; a ``<think>`` inside the thinking is a second block.

    >>> split_thinking("<think>hmm</think> print('</think>')")
    ('hmm', " print('</think>')")
    >>> split_thinking("42 <think>hmm</think>") is None
    True
    >>> split_thinking("<think>a<think>b</think> 1") is None
    True
    """
    text = completion.lstrip()
    if not text.startswith(THINK_OPEN):
        return None
    thinking, closed, answer = text[len(THINK_OPEN):].partition(THINK_CLOSE)
    if not closed or THINK_OPEN in thinking:
        return None
    return thinking, answer


def boxed_spans(text: str) -> list[tuple[int, int, str]]:
    r"""(start, end, content) of every complete ``\boxed{...}``, by start, nested ones included.

    >>> boxed_spans(r"\boxed{a\boxed{b}}")
    [(7, 17, 'a\\boxed{b}'), (15, 16, 'b')]
    """
    # One linear pass with a stack of open braces, so a megabyte of unclosed "\boxed{" costs
    # milliseconds rather than a quadratic rescan.
    found: list[tuple[int, int, str]] = []
    open_braces: list[int | None] = []  # content start for a boxed brace, None for a plain one
    for token in _BRACE_TOKEN.finditer(text):
        if token.group() == "}":
            if open_braces and (content_start := open_braces.pop()) is not None:
                found.append((content_start, token.start(), text[content_start:token.start()]))
        else:
            open_braces.append(token.end() if token.group() != "{" else None)
    return sorted(found)


def find_boxed_contents(text: str) -> list[str]:
    """Return the contents of every complete ``\\boxed{...}`` in order, nested braces included.

    math-verify finds boxed answers too, but it has no notion of "the last one in the answer
    part", which the paper grades; this small brace matcher gives exactly that.

    >>> find_boxed_contents(r"\\boxed{1} then \\boxed{\\frac{1}{2}}")
    ['1', '\\\\frac{1}{2}']
    """
    return [content for _, _, content in boxed_spans(text)]


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


def normalize_task(task: object) -> str | None:
    """``"math"`` or ``"code"`` for any casing or padding of those names (empty: math), else None.

    >>> normalize_task(" Math "), normalize_task(None), normalize_task("poetry")
    ('math', 'math', None)
    """
    name = "math" if task is None else str(task).strip().lower() or "math"
    return name if name in TASKS else None


def is_blank_answer(content: str) -> bool:
    r"""True if a box holds nothing but spacing, braces and empty formatting (``\text{ }``).

    >>> is_blank_answer(r" \text{ } {} \quad "), is_blank_answer("0")
    (True, False)
    """
    return not _NOT_AN_ANSWER.sub("", content)


def check_format(completion: str, task: str = "math") -> FormatCheck:
    """Apply Magistral's format gate for a ``math`` or ``code`` task (any casing).

    >>> check_format("<think>2+2</think> The answer is \\\\boxed{4}.", "Math").passed
    True
    >>> check_format("<think>2+2</think> The answer is \\\\boxed{ }.").reason
    'empty \\\\boxed{} after </think>'
    """
    if not isinstance(completion, str) or not completion:
        return FormatCheck(False, "empty or not text")
    name = normalize_task(task)
    if name is None:
        return FormatCheck(False, f"unknown task {task!r} (expected math or code)")
    parts = split_thinking(completion)
    if parts is None:
        return FormatCheck(False, "no single <think>...</think> block at the start")
    thinking, answer = parts
    if name == "code":
        blocks = fenced_blocks(answer)
        if not blocks:
            return FormatCheck(False, "no fenced code block with a language tag after </think>")
        if not blocks[0][1].strip():
            return FormatCheck(False, "empty code block after </think>")
    else:
        boxed = last_boxed(answer)
        if boxed is None:
            return FormatCheck(False, "no \\boxed{} after </think>")
        if is_blank_answer(boxed):
            return FormatCheck(False, "empty \\boxed{} after </think>")
    return FormatCheck(True, "ok", thinking, answer)
