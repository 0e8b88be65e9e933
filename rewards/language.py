"""Language consistency: reward a completion that thinks and answers in the problem's language.

Magistral gives +0.1 when the problem, the thinking and the answer share one language, judged
after LaTeX and code are removed (formulas and code say nothing about the natural language and
confuse classifiers). We use ``lingua-language-detector`` (its models ship inside the wheel,
nothing is downloaded at run time) restricted to the languages a run expects: restriction makes
it faster and more accurate. We measured ``langid`` too (bench/reward_speed.py): it is faster but
wrong on short sentences ("Two plus two makes four." -> French), which is exactly what a short
answer part looks like.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterable

MAGISTRAL_LANGUAGES = ("en", "fr", "es", "it", "de", "zh", "ru")
LANGUAGE_REWARD = 0.1
MIN_LETTERS = 3  # below this there is no language to speak of ("x = 4", "\boxed{12}")
AMBIGUITY_RATIO = 0.5  # a part may read as several close languages; see ``agrees``

# Text commands hold prose, not math: their content is judged wherever they appear.
_TEXT_COMMAND = re.compile(r"\\(?:text(?:bf|it|rm|sf|tt|normal)?|mbox|textup)\s*\{([^{}]*)\}")
# Openers and closers of code and math spans. Spans are paired by a walk over these tokens
# (``_spans``), not by lazy regexes, which rescan to the end for every unclosed opener and
# take minutes on a hostile megabyte of "\\begin{a}".
_DELIMITER = re.compile(r"```|`|\$\$|\$|\\\[|\\\]|\\\(|\\\)|\\(?:begin|end)\{\w+\*?\}")
_CLOSER = {"```": "```", "`": "`", "$$": "$$", "$": "$", "\\[": "\\]", "\\(": "\\)"}
_PROSE_FENCES = {"", "text", "txt", "plaintext", "plain", "markdown", "md"}
# Inside math or code only these are prose: runs of non-ASCII letters (no script of the
# languages we judge writes variables or keywords with them) and, in math, ASCII words of
# three or more letters once command names are gone (variables are one or two letters).
_MATH_WORD = re.compile(r"[^\W\d_]{3,}|[^\W\da-zA-Z_]+")
_FOREIGN_LETTERS = re.compile(r"[^\W\da-zA-Z_]+")
_COMMENT = re.compile(r"(?:#|//)\s?(.*)")
_STRIP_PATTERNS = [
    re.compile(r"\\[A-Za-z]+\*?"),  # LaTeX command names outside math (\boxed, \frac)
    re.compile(r"</?think>"),
    re.compile(r"[{}_^\\]"),
    re.compile(r"[\d+\-*/=<>()\[\]|%]+"),  # bare arithmetic outside math delimiters
]


def _words_in_math(body: str) -> str:
    return " ".join(_MATH_WORD.findall(re.sub(r"\\[A-Za-z]+\*?", " ", body)))


def _words_in_code(tag: str, body: str) -> str:
    if tag in _PROSE_FENCES:  # an untagged or text fence is prose dressed as code
        return body
    comments = [c for line in body.splitlines() for c in _COMMENT.findall(line)]
    return " ".join(comments + _FOREIGN_LETTERS.findall(_COMMENT.sub(" ", body)))


def _closer_of(opener: str) -> str | None:
    if opener.startswith("\\begin"):
        return "\\end" + opener[len("\\begin"):]
    return _CLOSER.get(opener)


def _spans(text: str) -> str:
    """Replace each code or math span by the words it hides, pairing delimiters in one pass."""
    tokens = list(_DELIMITER.finditer(text))
    where: dict[str, list[int]] = {}
    for index, token in enumerate(tokens):
        where.setdefault(token.group(), []).append(index)
    pieces, done, index = [], 0, 0
    while index < len(tokens):
        opener = tokens[index]
        closer = _closer_of(opener.group())
        candidates = where.get(closer, []) if closer else []
        after = bisect.bisect_right(candidates, index)
        end = tokens[candidates[after]] if after < len(candidates) else None
        if opener.group() == "`" and end is not None and "\n" in text[opener.end():end.start()]:
            end = None  # inline code stays on one line
        if end is None and opener.group() != "```":
            index += 1  # an unmatched opener is just a character
            continue
        body = text[opener.end():end.start() if end else len(text)]
        if opener.group() == "```":
            tag, _, code = body.partition("\n")
            words = _words_in_code(tag.strip().lower(), code)
        else:
            words = _words_in_code("code", body) if opener.group() == "`" else _words_in_math(body)
        pieces += [text[done:opener.start()], f" {words} "]
        done = end.end() if end else len(text)
        index = candidates[after] + 1 if end else len(tokens)
    return "".join(pieces) + text[done:]


def strip_latex_and_code(text: str) -> str:
    r"""Keep the natural-language words of ``text``: prose, ``\text{}`` contents, and what
    hides inside math or code (comments, non-ASCII words, words in math), but no formulas.

    >>> strip_latex_and_code("Soit $x^2 = 4$, donc \\boxed{2}. ```py\nprint(2)\n```")
    'Soit, donc.'
    >>> strip_latex_and_code("$\\text{Сначала}$ ```python\nx = 1  # считаем\n```")
    'Сначала считаем'
    """
    text = _spans(_TEXT_COMMAND.sub(r" \1 ", text))
    for pattern in _STRIP_PATTERNS:
        text = pattern.sub(" ", text)
    return re.sub(r"\s+", " ", text).replace(" ,", ",").replace(" .", ".").strip()


def languages_for(codes: Iterable[str | None]) -> tuple[str, ...]:
    """The languages to judge among: the data's `lang` values plus English, sorted.

    Judging among every language lingua knows misfires on short, number-heavy thinking, and a
    fixed list cannot name languages outside it; the languages a run's data carries can.

    >>> languages_for(["fr", "ja", "", None, "fr"])
    ('en', 'fr', 'ja')
    >>> languages_for(["xx"])
    Traceback (most recent call last):
    ...
    ValueError: unknown language code 'xx' (expected an ISO 639-1 code lingua knows, like fr)
    """
    from lingua import IsoCode639_1

    found = {str(code).strip().lower() for code in codes if code and str(code).strip()}
    for code in sorted(found):
        if not hasattr(IsoCode639_1, code.upper()):
            raise ValueError(f"unknown language code {code!r} (expected an ISO 639-1 code "
                             f"lingua knows, like fr)")
    return tuple(sorted(found | {"en"}))


@functools.lru_cache(maxsize=8)
def _detector(languages: tuple[str, ...]):
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    chosen = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))
              for code in languages]
    return LanguageDetectorBuilder.from_languages(*chosen).build()


def detect(text: str, languages: Iterable[str] = MAGISTRAL_LANGUAGES) -> str | None:
    """Return the ISO 639-1 code of ``text``'s language, or None if it has no words to judge.

    >>> detect("Calculons la somme des racines de $x^2 - 5x + 6$.")
    'fr'
    >>> detect("$x^2$ \\\\boxed{4}") is None
    True
    """
    if not isinstance(text, str):
        return None
    words = strip_latex_and_code(text)
    if sum(char.isalpha() for char in words[:4000]) < MIN_LETTERS:
        return None
    found = _detector(tuple(sorted(languages))).detect_language_of(words[:20000])
    return found.iso_code_639_1.name.lower() if found is not None else None


def agrees(text: str, language: str, languages: Iterable[str] = MAGISTRAL_LANGUAGES) -> bool:
    """True if ``text`` has words and reads as ``language``: lingua's confidence in it is at
    least ``AMBIGUITY_RATIO`` of its top choice.

    Short parts ("It is four.") are often ambiguous between close languages and lingua's top
    pick is a coin toss; a clear other language stays far below the ratio.

    >>> agrees("It is four.", "en"), agrees("Deux et deux font quatre.", "en")
    (True, False)
    """
    words = strip_latex_and_code(text) if isinstance(text, str) else ""
    if sum(char.isalpha() for char in words[:4000]) < MIN_LETTERS:
        return False
    values = _detector(tuple(sorted(languages))).compute_language_confidence_values(words[:20000])
    found = {value.language.iso_code_639_1.name.lower(): value.value for value in values}
    top = max(found.values(), default=0.0)
    return top > 0 and found.get(language, 0.0) >= AMBIGUITY_RATIO * top


def is_consistent(problem: str, thinking: str, answer: str,
                  languages: Iterable[str] = MAGISTRAL_LANGUAGES,
                  problem_language: str | None = None) -> bool:
    """True if the thinking and the answer both have words, in the problem's language.

    The language is ``problem_language`` (a dataset's ``lang`` column), else the problem's
    detected one, else (a problem without words) the thinking's. The thinking, long in practice,
    must be detected as that language; the answer, often a few words, must pass ``agrees``.
    Words are judged after ``strip_latex_and_code``, so prose hidden in ``\\text{}``, math or
    code still counts.

    >>> is_consistent("What is 2+2?", "Two plus two is four.", "The answer is $4$.")
    True
    >>> is_consistent("What is 2+2?", "Deux plus deux font quatre.", "La réponse est $4$.")
    False
    >>> is_consistent("What is 2+2?", "Two plus two is four.", "$4$")  # no words in the answer
    False
    """
    languages = tuple(languages)
    wanted = (problem_language or detect(problem, languages) or detect(thinking, languages))
    return (wanted is not None and detect(thinking, languages) == wanted
            and agrees(answer, wanted, languages))
