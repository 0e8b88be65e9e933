"""Magistral's format gate: the check every other reward component waits behind.

The paper (arXiv 2506.10910, section 2.2) grades nothing unless the completion has the expected
shape: exactly one think block, at the start, then an answer that carries what the task needs.
Our reading, which every grader shares: the completion starts with ``<think>`` (after optional
whitespace or a byte-order mark); the first ``</think>`` closes that block; the thinking may not
open a second ``<think>``, and the answer may not hold a second think block (a ``<think>`` later
closed, outside code) or start with one; otherwise the answer part may contain anything (code that
prints ``"</think>"``, say). A math answer needs a last ``\\boxed{}`` with visible content; a code
answer needs a first fenced block with a language tag (the one that gets run) holding more than
comments and tags. Visible means: left after removing spacing, spacing commands with their
arguments (``\\hspace{1cm}``, ``\\vphantom{x}``) and invisible characters (zero-width spaces,
byte-order marks, fillers), which a policy would otherwise use to fake an answer.
A failed gate means a total reward of 0. Splitting the completion lives here too, because the
gate is where that split is defined.
"""

from __future__ import annotations

import re
import unicodedata
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

# Commands that only make space, removed with their arguments (\hspace{1cm}, \vphantom{x}).
_SPACING_COMMAND = re.compile(
    r"\\(?:[hv]?phantom|[hv]space\*?|[hv]skip|m?kern|rule|smash|strut)\s*(?:\[[^\]]*\])?"
    r"(?:\s*(?:\{[^{}]*\}|-?[\d.]+\s*(?:em|ex|pt|mu|cm|mm|in|px|bp|pc|sp|dd|cc))){0,2}")
# Blank letters that unicode files under "letter" (Hangul and halfwidth fillers, braille blank).
_BLANK_LETTERS = "\u115f\u1160\u3164\uffa0\u2800"
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# Whole lines of a code block that run nothing: comments, directives and lone tags.
_NOT_CODE_LINE = re.compile(r"\s*(?:#|//|--|/\*|\*|<!--|<[^<>\n]*>\s*$)")


@dataclass(frozen=True)
class FormatCheck:
    """Outcome of the gate: whether it passed, why not, and the two parts of the completion."""

    passed: bool
    reason: str
    thinking: str = ""
    answer: str = ""


def split_thinking(completion: str) -> tuple[str, str] | None:
    """Split a completion into (thinking, answer) at its one think block at the start, or None.

    Leading whitespace or a byte-order mark before ``<think>`` is tolerated; anything else
    before it is not. The first ``</think>`` closes the block; a ``<think>`` inside the thinking,
    or a second block in the answer (outside code), makes two blocks.

    >>> split_thinking("<think>hmm</think> print('</think>')")
    ('hmm', " print('</think>')")
    >>> split_thinking("42 <think>hmm</think>") is None
    True
    >>> split_thinking("<think>a<think>b</think> 1") is None
    True
    >>> split_thinking("\\ufeff<think>a</think><think>b</think> 1") is None
    True
    """
    text = completion.lstrip().lstrip("\ufeff").lstrip()
    if not text.startswith(THINK_OPEN):
        return None
    thinking, closed, answer = text[len(THINK_OPEN):].partition(THINK_CLOSE)
    if not closed or THINK_OPEN in thinking or _second_block(answer):
        return None
    return thinking, answer


def _second_block(answer: str) -> bool:
    """True if the answer, outside code, starts with ``<think>`` or opens one that it closes."""
    prose = re.sub(r"`[^`]*`", " ", "".join(answer.split("```")[::2]))
    opened = prose.find(THINK_OPEN)
    return prose.lstrip().startswith(THINK_OPEN) or (
        opened >= 0 and THINK_CLOSE in prose[opened:])


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


def visible(text: str) -> str:
    r"""``text`` without invisible characters and space-only commands (with their arguments).

    >>> visible("a\u200b\ufeffb \\hspace{2cm}")
    'ab '
    """
    text = _SPACING_COMMAND.sub("", text)
    if text.isascii():  # the common case, without a loop over every character
        return _ASCII_CONTROL.sub("", text)
    return "".join(c for c in text if c not in _BLANK_LETTERS and not (
        unicodedata.category(c) in ("Cf", "Cc", "Mn", "Zl", "Zp", "Zs") and c not in " \n\t"))


def is_blank_answer(content: str) -> bool:
    r"""True if a box holds nothing visible: spacing, braces, empty formatting (``\text{ }``).

    >>> is_blank_answer(r" \text{ } {} \quad "), is_blank_answer("\\vphantom{7}\u200b")
    (True, True)
    >>> is_blank_answer("0")
    False
    """
    return not _NOT_AN_ANSWER.sub("", visible(content))


def is_blank_code(code: str) -> bool:
    """True if a code block holds only comments, directives, lone tags and spacing.

    >>> is_blank_code("# TODO\\n</think>\\n"), is_blank_code("x = 1  # set\\n")
    (True, False)
    """
    return not any((line := visible(raw)).strip() and not _NOT_CODE_LINE.match(line)
                   for raw in code.splitlines())


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
        if is_blank_code(blocks[0][1]):
            return FormatCheck(False, "empty code block after </think>")
    else:
        boxed = last_boxed(answer)
        if boxed is None:
            return FormatCheck(False, "no \\boxed{} after </think>")
        if is_blank_answer(boxed):
            return FormatCheck(False, "empty \\boxed{} after </think>")
    return FormatCheck(True, "ok", thinking, answer)
