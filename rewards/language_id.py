"""Language ID: which languages a piece of prose reads as, among which candidates.

The reading under ``rewards.language.judge``, kept apart so that other stages (data curation,
the run's candidate languages, the eval) can name a text's language without the judge's rules.
Built on ``lingua-language-detector`` (its models ship inside the wheel). A list of candidates
without the languages a policy sees lets one pass as another ("Die Antwort ist 11." read as
English when German is not a candidate), so the judge always reads among ``COMMON_LANGUAGES``
plus the problem's and the run's (``candidates_for``). Each extra Latin-script candidate makes
a piece dearer to read (lingua scores it against every candidate of its script), so all 75
languages lingua knows (``LANGUAGES``) are only for untagged text: python -m
bench.language_id measures both.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable

from rewards.prose import letters, strip_latex_and_code

MAGISTRAL_LANGUAGES = ("en", "fr", "es", "it", "de", "zh", "ru")
# Every language lingua 2.1.1 knows (ISO 639-1); tests check it against lingua itself.
LANGUAGES = (
    "af", "ar", "az", "be", "bg", "bn", "bs", "ca", "cs", "cy", "da", "de", "el", "en", "eo",
    "es", "et", "eu", "fa", "fi", "fr", "ga", "gu", "he", "hi", "hr", "hu", "hy", "id", "is",
    "it", "ja", "ka", "kk", "ko", "la", "lg", "lt", "lv", "mi", "mk", "mn", "mr", "ms", "nb",
    "nl", "nn", "pa", "pl", "pt", "ro", "ru", "sk", "sl", "sn", "so", "sq", "sr", "st", "sv",
    "sw", "ta", "te", "th", "tl", "tn", "tr", "ts", "uk", "ur", "vi", "xh", "yo", "zh", "zu")
# 30 widely spoken languages lingua knows (our pick from published counts of first- and
# second-language speakers): always candidates, so the languages a policy is most likely to
# drift into cannot pass as the problem's. MGSM's 11 languages are among them.
COMMON_LANGUAGES = (
    "ar", "bn", "de", "en", "es", "fa", "fr", "gu", "hi", "id", "it", "ja", "ko", "mr", "ms",
    "pa", "pl", "pt", "ru", "sw", "ta", "te", "th", "tl", "tr", "uk", "ur", "vi", "yo", "zh")
AMBIGUITY_RATIO = 0.5  # a piece reads as every language within this ratio of lingua's top one
MIN_LETTERS = 3  # below this a part has no words ("x = 4", "\boxed{12}")
LOW_ACCURACY_CHARS = 120  # pieces this long are read in lingua's low-accuracy mode


def candidates_for(*groups: Iterable[str]) -> tuple[str, ...]:
    """``COMMON_LANGUAGES`` and every code in ``groups``, sorted: what the judge chooses among.

    >>> len(candidates_for()), len(candidates_for(["nl"], ["en", "la"]))
    (30, 32)
    """
    return tuple(sorted(set(COMMON_LANGUAGES).union(*groups)))


@functools.lru_cache(maxsize=32)  # one detector per candidate set (lingua's models are shared)
def _detector(languages: tuple[str, ...], low_accuracy: bool = False):
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    if languages == LANGUAGES:
        builder = LanguageDetectorBuilder.from_all_languages()
    else:
        builder = LanguageDetectorBuilder.from_languages(*(
            Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))
            for code in languages))
    return (builder.with_low_accuracy_mode() if low_accuracy else builder).build()


@functools.lru_cache(maxsize=16384)  # a group's samples repeat phrases ("The answer is")
def confidences(piece: str, candidates: tuple[str, ...]) -> dict[str, float]:
    """Lingua's confidence in each candidate it does not rule out, best first (lingua's order:
    it sorts them, tests/rewards/test_language.py checks that it still does).

    Lingua's low-accuracy mode reads trigrams only: about twice as fast on MGSM's long runs
    (0.14 against 0.29 ms), naming the same language first (bench.language_id's mode_speed), and
    as accurate as the full mode on text of LOW_ACCURACY_CHARS or more (lingua's documentation).
    Shorter pieces keep the full mode.

    >>> list(confidences("Die Antwort ist elf.", ("de", "en")))
    ['de', 'en']
    """
    detector = _detector(candidates, len(piece) >= LOW_ACCURACY_CHARS)
    codes = _codes()
    return {codes[value.language]: value.value for value in itertools.takewhile(
        lambda value: value.value > 0, detector.compute_language_confidence_values(piece))}


@functools.cache
def _codes() -> dict:
    """Each lingua ``Language``'s ISO 639-1 code, lower-case (one lookup, not three, per value)."""
    from lingua import Language

    return {language: language.iso_code_639_1.name.lower() for language in Language.all()}


@functools.lru_cache(maxsize=16384)
def reading_languages(piece: str, candidates: tuple[str, ...] = LANGUAGES) -> tuple[str, ...]:
    """The languages ``piece`` reads as, best first: lingua's confidence in each is at least
    ``AMBIGUITY_RATIO`` of its top choice among ``candidates`` (short pieces read as several).

    >>> reading_languages("How many apples are left in the basket? Explain your reasoning.")
    ('en',)
    """
    found = confidences(piece, candidates)  # best first
    top = next(iter(found.values()), 0.0)
    return tuple(code for code, value in found.items()
                 if top > 0 and value >= AMBIGUITY_RATIO * top)


def reads_as(piece: str, languages: str | Iterable[str],
             candidates: Iterable[str] = ()) -> bool:
    """True if ``piece`` reads as ``languages`` (one code or several) among them,
    ``COMMON_LANGUAGES`` and ``candidates``: see ``reading_languages``.

    >>> reads_as("It is four.", "en"), reads_as("Die Antwort ist elf.", "en")
    (True, False)
    """
    wanted = {languages} if isinstance(languages, str) else set(languages)
    return not wanted.isdisjoint(reading_languages(piece, candidates_for(wanted, candidates)))


def detect(text: str, languages: Iterable[str] = LANGUAGES) -> str | None:
    """The ISO 639-1 code of ``text``'s language (its prose, among ``languages``), or None
    without words.

    >>> detect("Calculons la somme des racines de $x^2 - 5x + 6$.")
    'fr'
    >>> detect("$x^2$ \\\\boxed{4}") is None
    True
    """
    words = strip_latex_and_code(text) if isinstance(text, str) else ""
    if letters(words) < MIN_LETTERS:
        return None
    found = _detector(tuple(sorted(languages))).detect_language_of(words)
    return found.iso_code_639_1.name.lower() if found is not None else None


def language_code(code: str) -> str:
    """``code`` lower-cased, if the judge can name it.

    >>> language_code(" FR")
    'fr'
    >>> language_code("xx")
    Traceback (most recent call last):
    ...
    ValueError: unknown language code 'xx' (expected an ISO 639-1 code lingua knows, like fr)
    """
    found = str(code).strip().lower()
    if found not in LANGUAGES:
        raise ValueError(f"unknown language code {found!r} (expected an ISO 639-1 code "
                         f"lingua knows, like fr)")
    return found


def languages_for(codes: Iterable[str | None]) -> tuple[str, ...]:
    """The data's `lang` codes plus English, sorted; a code the judge cannot name is an error.

    >>> languages_for(["fr", "ja", "", None, "fr"])
    ('en', 'fr', 'ja')
    """
    found = {language_code(code) for code in codes if code and str(code).strip()}
    return tuple(sorted(found | {"en"}))


def run_languages(codes: Iterable[str | None], texts: Iterable[str] = ()) -> tuple[str, ...]:
    """The languages a run shows its policy, for ``judge``'s ``candidates``: the data's ``lang``
    codes and the language of each of ``texts`` (system prompt, worked examples' turns; see
    ``detect``, among all 75); sorted. A code the judge cannot name is an error.

    >>> run_languages(["fr", None, ""], ["<think>23 plus 19 ergibt 42.</think> Die Antwort ist 4."])
    ('de', 'fr')
    """
    found = {language_code(code) for code in codes if code and str(code).strip()}
    return tuple(sorted(found | {code for code in map(detect, texts) if code}))
