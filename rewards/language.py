"""Language consistency: reward a completion that thinks and answers in the problem's language.

Magistral gives +0.1 when the problem, the thinking and the answer share one language, judged
after LaTeX and code are removed (formulas and code say nothing about the natural language and
confuse classifiers). We use ``lingua-language-detector`` (its models ship inside the wheel,
nothing is downloaded at run time) restricted to the languages a run expects: restriction makes
it faster and more accurate. We measured ``langid`` too (bench/rewards.py): it is faster but
wrong on short sentences ("Two plus two makes four." -> French), which is exactly what a short
answer part looks like.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

MAGISTRAL_LANGUAGES = ("en", "fr", "es", "it", "de", "zh", "ru")
LANGUAGE_REWARD = 0.1
MIN_LETTERS = 3  # below this there is no language to speak of ("x = 4", "\boxed{12}")

_STRIP_PATTERNS = [
    re.compile(r"```.*?(```|$)", re.DOTALL),  # fenced code, closed or not
    re.compile(r"`[^`\n]*`"),  # inline code
    re.compile(r"\$\$.*?\$\$|\\\[.*?\\\]|\\\(.*?\\\)", re.DOTALL),  # display and inline math
    re.compile(r"\$[^$]*\$"),  # $...$ math
    re.compile(r"\\begin\{(\w+\*?)\}.*?\\end\{\1\}", re.DOTALL),  # LaTeX environments
    re.compile(r"\\[A-Za-z]+\*?(\{[^{}]*\})*"),  # LaTeX commands with their arguments
    re.compile(r"</?think>"),
    re.compile(r"[{}_^\\]"),
    re.compile(r"[\d+\-*/=<>()\[\]|%]+"),  # bare arithmetic outside math delimiters
]


def strip_latex_and_code(text: str) -> str:
    """Remove code blocks, inline code and LaTeX, keeping the natural-language words.

    >>> strip_latex_and_code("Soit $x^2 = 4$, donc \\\\boxed{2}. ```py\\nprint(2)\\n```")
    'Soit, donc.'
    """
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


def is_consistent(problem: str, thinking: str, answer: str,
                  languages: Iterable[str] = MAGISTRAL_LANGUAGES,
                  problem_language: str | None = None) -> bool:
    """True if every part that has words is in the same language (at least one part must).

    ``problem_language`` (e.g. a dataset's ``lang`` column) replaces detection of the problem.

    >>> is_consistent("What is 2+2?", "Two plus two is four.", "The answer is $4$.")
    True
    >>> is_consistent("What is 2+2?", "Deux plus deux font quatre.", "La réponse est $4$.")
    False
    """
    languages = tuple(languages)
    found = {problem_language or detect(problem, languages),
             detect(thinking, languages), detect(answer, languages)} - {None}
    return len(found) == 1
