"""Language consistency: one judge of whether a completion thinks and answers in the problem's
language, shared by the reward, the per-language training metrics and the eval.

Magistral gives +0.1 when the problem, the thinking and the answer share one language. Our
judge (``judge``), built on ``rewards.language_id`` (lingua) and wordfreq:

- Candidates: ``COMMON_LANGUAGES`` (30 of the most spoken languages), the problem's language(s),
  and the run's own (``candidates``: the data's languages and those of its prompt and worked
  examples, see ``rewards.language_id.run_languages``). An untagged problem is read among every
  language lingua knows (75).
- Prose is judged wherever it is (``rewards.prose``): outside math and code, inside
  ``\\text{}``, code spans, comments, string literals and docstrings, untagged fences and after
  an unclosed fence; words inside math. Formulas and code identifiers are left out (they name
  no language). Invisible characters are removed and the text NFKC-normalised first.
- A part passes when at least ``CONSISTENCY_THRESHOLD`` of its judged letters sit in pieces
  that read as the problem's language, so a short phrase in the right language cannot carry
  foreign prose. A piece reads as a language when lingua's confidence in it is at least
  ``AMBIGUITY_RATIO`` of its top choice: short pieces are ambiguous between close languages.
- Inside a piece that reads as the language, a clearly foreign word still counts against it
  (``foreign_letters``, by lingua and by wordfreq's word frequencies): two words are too few
  for lingua to tell "moins make" or "moins are" (English verbs) from French, and a policy
  found both.
- Words the problem uses are the problem's, not the policy's: they are left out of a part's
  share on both sides (copied, they would dilute a foreign word), and a part with fewer than
  ``OWN_LETTERS`` letters outside them has no words (``own_letters``).
- A part with fewer than ``MIN_LETTERS`` judged letters has no words; the verdict is then
  ``NO_WORDS`` (never the bonus, and out of the consistency rate's denominator) unless the other
  part is already in a foreign language.

We measured ``langid`` too (bench/reward_speed.py): faster but wrong on short sentences ("Two
plus two makes four." -> French), and accuracy and cost of this judge are measured by
``python -m bench.language_id`` (docs/benchmarks.md).
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rewards.language_id import (
    MAGISTRAL_LANGUAGES,
    MIN_LETTERS,
    candidates_for,
    confidences,
    language_code,
    reading_languages,
)
from rewards.prose import (
    CJK,
    HAN,
    WORD,
    judged_pieces,
    letters,
    prose_pieces,
    script_runs,
    strip_latex_and_code,
    visible,
)

LANGUAGE_REWARD = 0.1
CONSISTENCY_THRESHOLD = 0.8  # share of a part's judged letters that must be in the language
# A word the problem does not use is foreign when lingua's confidence in the language is below
# this ratio of its top choice ("make" in French: 0.06; honest "gana" in Spanish: 0.42)...
FOREIGN_WORD_RATIO = 0.1
WORD_LETTERS = 3  # ...for words this long: lingua cannot place "de" or "is" alone
# ...or when wordfreq finds it this many Zipf units (10**2.3 = 200x) more frequent in English,
# Magistral's languages or the run's than in the problem's ("are" in French: 2.69; honest
# "come" in Spanish, an Italian word too: 2.18), for words of FREQUENCY_LETTERS or more.
FOREIGN_ZIPF_GAP = 2.3
FREQUENCY_LETTERS = 2
# A part with fewer letters than this is judged by its words' frequencies (``belongs``), a
# word belonging to the language unless it is this many Zipf units (100x) more frequent in
# another ("made" in French: 2.01; honest "plus" in German, 1.94 more frequent in French):
# lingua cannot name the language of two words.
SHORT_LETTERS = 20
SHORT_ZIPF_GAP = 2.0
# wordfreq 3.1's languages with alphabets (its Chinese, Japanese and Korean need segmenters).
FREQUENCY_LANGUAGES = frozenset((
    "ar", "bg", "bn", "ca", "cs", "da", "de", "el", "en", "es", "fa", "fi", "fr", "he", "hi",
    "hu", "id", "is", "it", "lt", "lv", "mk", "ms", "nb", "nl", "pl", "pt", "ro", "ru", "sk",
    "sl", "sv", "ta", "tr", "uk", "ur", "vi"))
OWN_LETTERS = 2  # nor below this many letters outside the problem's words (``own_letters``)
# Language ID costs ~20 us a character with every language a candidate: pieces are cut to this
# length, and prose past the budget (far beyond any completion length a run allows; 1 MB of it
# would take ~20 s) counts as not in the language, so it can never earn the bonus.
MAX_PIECE_CHARS = 1000
JUDGED_CHARS = 100_000
CACHED_PART_CHARS = 20_000  # longer parts are judged afresh, and their pieces cut afresh


# A word mixing Latin with Greek or Cyrillic letters is a homoglyph trick, never a language.
_MIXED_SCRIPT = re.compile(r"\w*(?:[A-Za-z]\w*[\u0370-\u052f]|[\u0370-\u052f]\w*[A-Za-z])\w*")
_LATIN, _GREEK_CYRILLIC = re.compile(r"[A-Za-z]"), re.compile(r"[\u0370-\u052f]")


def _without_homoglyph_words(piece: str) -> str:
    """``piece`` with its words mixing Latin with Greek or Cyrillic letters blanked; the costly
    backtracking pattern only runs when both scripts are there."""
    if _GREEK_CYRILLIC.search(piece) and _LATIN.search(piece):
        return _MIXED_SCRIPT.sub(" ", piece)
    return piece


class Verdict(enum.Enum):
    """The judge's answer for one sample."""

    CONSISTENT = "consistent"
    INCONSISTENT = "inconsistent"
    NO_WORDS = "no_words"


@dataclass(frozen=True)
class Judgement:
    """A verdict, the language wanted, and each part's share of letters in it (None: no words;
    a bound on the same side of ``CONSISTENCY_THRESHOLD`` when the judge stopped reading early)."""

    verdict: Verdict
    language: str | None
    thinking_share: float | None
    answer_share: float | None

    @property
    def ok(self) -> bool | None:
        """True when consistent, False when not, None without words (the eval's view)."""
        return None if self.verdict is Verdict.NO_WORDS else self.verdict is Verdict.CONSISTENT


@functools.lru_cache(maxsize=65536)
def _foreign_word(word: str, wanted: frozenset[str], candidates: tuple[str, ...],
                  others: tuple[str, ...]) -> bool:
    if sum(ch.isalpha() for ch in word) >= WORD_LETTERS:
        found = confidences(word, candidates)
        top = next(iter(found.values()), 0.0)  # best first
        if top > 0 and max(found.get(code, 0.0) for code in wanted) < FOREIGN_WORD_RATIO * top:
            return True
    own = [code for code in wanted if code in FREQUENCY_LANGUAGES]
    if not own or not others:
        return False
    mine = max(_zipf(word, code) for code in own)
    return max(_zipf(word, code) for code in others) - mine >= FOREIGN_ZIPF_GAP


def frequency_languages(wanted: Iterable[str], candidates: Iterable[str] = ()) -> tuple[str, ...]:
    """The languages ``foreign_letters`` compares word frequencies with: English, Magistral's
    and ``candidates`` (the run's), those wordfreq knows, less ``wanted``. Not all 30 common
    ones: each more language lends honest text a few more names that are common words there
    (measured on MGSM, docs/benchmarks.md).

    >>> frequency_languages(["fr"], ["sw", "nl"])
    ('de', 'en', 'es', 'it', 'nl', 'ru')
    """
    chosen = (set(MAGISTRAL_LANGUAGES) | set(candidates)) & FREQUENCY_LANGUAGES
    return tuple(sorted(chosen - set(wanted)))


def foreign_letters(piece: str, language: str | Iterable[str], candidates: Iterable[str] = (),
                    problem: str = "") -> int:
    """The letters of ``piece``'s clearly foreign words, not used by ``problem`` and not Han or
    kana (a character is not a word): words of ``WORD_LETTERS`` or more letters in which
    lingua's confidence in ``language`` is below ``FOREIGN_WORD_RATIO`` of its top choice among
    the judge's candidates, and words of ``FREQUENCY_LETTERS`` or more that wordfreq finds
    ``FOREIGN_ZIPF_GAP`` more frequent in one of ``frequency_languages``.

    Why: lingua reads a short piece by its strongest letters, so "74 moins 12 make 42." read
    as French, and the multilingual smoke's policy wrote that answer in every Latin language
    (docs/multilingual.md, try 5); with lingua's word rule alone, the next policy wrote "moins
    are" ("are" is a French unit of area to lingua). One word is weak evidence, so only words
    far from the language count, and only inside a part, whose ``CONSISTENCY_THRESHOLD`` leaves
    room for a loanword.

    >>> foreign_letters("74 moins 12 make 42.", "fr"), foreign_letters("moins are", "fr")
    (4, 3)
    >>> foreign_letters("moins font", "fr"), foreign_letters("más come", "es")
    (0, 0)
    >>> foreign_letters("Janet gagne 18 dollars.", "fr", problem="Janet vend des œufs.")
    0
    """
    wanted, candidates = frozenset([language] if isinstance(language, str) else language), \
        tuple(candidates)
    among = candidates_for(wanted, candidates)
    return _foreign_in(piece, wanted, among, _problem_words(problem),
                       frequency_languages(wanted, candidates))


@functools.lru_cache(maxsize=256)  # a group's samples share one problem
def _problem_words(problem: str) -> frozenset[str]:
    """The problem's words, casefolded, and each of its Han characters (kana spell sounds,
    like letters: a kana word is the policy's own)."""
    text = visible(problem)
    return frozenset(word.casefold() for word in WORD.findall(text)) | set(HAN.findall(text))


def own_letters(pieces: list[str], known: frozenset[str]) -> int:
    """The letters of ``pieces`` in words the problem does not use (``known``: its words and
    Han characters, see ``_problem_words``).

    Why: a part made of the problem's words ("74 moins 12", the try 6c policy's whole thinking)
    reads as the problem's language without the policy writing a word of it, so with fewer
    than ``OWN_LETTERS`` of these a part is judged as having no words (never the bonus), like
    restating the problem in the box.

    >>> own_letters(["74 moins 12"], frozenset({"combien", "font", "moins"}))
    0
    >>> own_letters(["48 减 46 等于 2"], frozenset({"减", "等", "于", "多", "少"}))
    0
    >>> own_letters(["5 たす 3 は 8"], frozenset({"は", "いくつ"}))  # kana count as letters
    9
    """
    count = 0
    for word in (word for piece in pieces for word in WORD.findall(piece)):
        if word.isascii():  # most words: no CJK, and a word of WORD's is letters unless controls
            if word.lower() not in known:
                count += len(word) if word.isalpha() else sum(map(str.isalpha, word))
        elif CJK.search(word):
            count += letters("".join(ch for ch in word if not HAN.match(ch) or ch not in known))
        elif word.casefold() not in known:
            count += sum(map(str.isalpha, word))  # letters(word): no CJK in it
    return count


@functools.lru_cache(maxsize=4096)  # the training metrics judge the reward's batch again
def _own_in(piece: str, known: frozenset[str]) -> int:
    return own_letters([piece], known)


def _foreign_in(piece: str, wanted: frozenset[str], candidates: tuple[str, ...],
                known: frozenset[str], others: tuple[str, ...]) -> int:
    words = (word for word in WORD.findall(piece) if sum(map(str.isalpha, word))
             >= FREQUENCY_LETTERS and not CJK.search(word) and word.casefold() not in known)
    return sum(letters(word) for word in words
               if _foreign_word(word, wanted, candidates, others))


def _judged(text: str) -> tuple[str, ...]:
    """The pieces the judge reads, each at most ``MAX_PIECE_CHARS`` long; cached for texts up to
    ``CACHED_PART_CHARS`` (a hostile megabyte is cut afresh rather than held)."""
    if not isinstance(text, str):
        return ()
    return _judged_text(text) if len(text) <= CACHED_PART_CHARS else _pieces_of(text)


def _pieces_of(text: str) -> tuple[str, ...]:
    return tuple(piece[start:start + MAX_PIECE_CHARS] for piece in judged_pieces(prose_pieces(text))
                 for start in range(0, len(piece), MAX_PIECE_CHARS))


_judged_text = functools.lru_cache(maxsize=256)(_pieces_of)  # the metrics judge a batch again


@functools.lru_cache(maxsize=4096)
def _runs(piece: str) -> tuple[str, ...]:
    """``piece``'s script runs, homoglyph words blanked: what lingua reads."""
    return tuple(script_runs(_without_homoglyph_words(piece)))


def _share(text: str, wanted: frozenset[str], candidates: tuple[str, ...],
           until_certain: bool, known: frozenset[str] = frozenset(),
           others: tuple[str, ...] = ()) -> float | None:
    """``language_share``; with ``until_certain`` it stops reading once the share's side of
    ``CONSISTENCY_THRESHOLD`` is certain and returns the bound that decided it (the letters
    known good, or those plus every letter left)."""
    pieces = _judged(text)
    if sum(letters(piece) for piece in pieces) < MIN_LETTERS:
        return None
    # The share is of the policy's own letters: the problem's words, copied, would dilute a
    # foreign word ("Combien font 74 moins 12 ? make" passed as French).
    own = [_own_in(piece, known) for piece in pieces]
    total = sum(own)
    if known and total < OWN_LETTERS:
        return None
    if total < SHORT_LETTERS and wanted & FREQUENCY_LANGUAGES:
        return _short_share(pieces, total, wanted, known, others)
    good, left, budget = 0, total, JUDGED_CHARS
    for piece, piece_own in zip(pieces, own, strict=True):
        if until_certain and (good / total >= CONSISTENCY_THRESHOLD
                              or (good + left) / total < CONSISTENCY_THRESHOLD):
            return good / total if good / total >= CONSISTENCY_THRESHOLD else (good + left) / total
        left -= piece_own
        budget -= len(piece)
        if budget < 0:
            left = 0
            break
        runs = _runs(piece)
        for run in runs:
            if not wanted.isdisjoint(reading_languages(run, candidates)):
                mine = piece_own if runs == (piece,) else own_letters([run], known)
                good += mine - _foreign_in(run, wanted, candidates, known, others)
    return min(good / total, 1.0)


def _part_share(part: str, wanted: frozenset[str], candidates: tuple[str, ...],
                known: frozenset[str], others: tuple[str, ...]) -> float | None:
    """``judge``'s share of one part, read until certain; a part up to ``CACHED_PART_CHARS`` long
    is read once per problem: a group's samples repeat a summary and, once the policy's entropy
    falls, a thinking, and the training metrics judge the reward's batch again."""
    if isinstance(part, str) and len(part) <= CACHED_PART_CHARS:
        return _cached_share(part, wanted, candidates, known, others)
    return _share(part, wanted, candidates, True, known, others)


@functools.lru_cache(maxsize=1024)  # a batch's parts; each at most CACHED_PART_CHARS long
def _cached_share(part: str, wanted: frozenset[str], candidates: tuple[str, ...],
                  known: frozenset[str], others: tuple[str, ...]) -> float | None:
    return _share(part, wanted, candidates, True, known, others)


def _short_share(pieces: Sequence[str], total: int, wanted: frozenset[str], known: frozenset[str],
                 others: tuple[str, ...]) -> float:
    """The share of a short part's own letters (``own_letters``) in words that belong to the
    language (``belongs``); homoglyph words never do."""
    words = [word for piece in pieces for word in WORD.findall(_without_homoglyph_words(piece))]
    good = sum(letters(word) for word in words
               if word.casefold() not in known and belongs(word, wanted, others))
    return good / total


@functools.lru_cache(maxsize=65536)
def _zipf(word: str, language: str) -> float:
    from wordfreq import zipf_frequency

    return zipf_frequency(word, language)


def belongs(word: str, language: str | Iterable[str], others: Iterable[str] = ()) -> bool:
    """Is ``word`` a word of ``language`` (a code, or several) by wordfreq's frequencies: known
    in it, and not ``SHORT_ZIPF_GAP`` (100x) or more frequent in one of ``others``? What a
    part of fewer than ``SHORT_LETTERS`` letters is judged by, where lingua cannot name the
    language of two words.

    Why: the multilingual smoke's policies wrote one English verb after the question's
    operator word in every Latin language, and lingua let each pass in turn ("moins make",
    "moins are", "moins made"); each is far more frequent in English. An honest "69 minus 50
    is 19." reads as German to lingua, and as English here.

    >>> [belongs(w, "fr", ["en", "es"]) for w in ("font", "made", "are", "total", "blorp")]
    [True, False, False, True, False]
    >>> belongs("son", "es", ["fr", "en"]), belongs("plus", "en", ["de", "fr"])
    (True, True)
    """
    wanted = [language] if isinstance(language, str) else list(language)
    mine = max((_zipf(word, code) for code in wanted if code in FREQUENCY_LANGUAGES), default=0)
    theirs = max((_zipf(word, code) for code in others if code in FREQUENCY_LANGUAGES),
                 default=0.0)
    return mine > 0 and mine >= theirs - SHORT_ZIPF_GAP


def language_share(text: str, language: str | Iterable[str],
                   candidates: Iterable[str] = (), problem: str = "") -> float | None:
    """The share of ``text``'s judged letters outside ``problem``'s words (``own_letters``) in
    pieces that read as ``language`` (a code, or several: the languages an untagged problem
    reads as) among it, ``COMMON_LANGUAGES`` and ``candidates``, less their
    ``foreign_letters``; None when it has fewer than ``MIN_LETTERS`` (no words). Words mixing
    Latin with Greek or Cyrillic letters (homoglyphs) count, and never as any language.

    >>> round(language_share("We add two and two. Deux et deux font quatre, voilà tout.", "en"), 2)
    0.33
    >>> language_share("$2+2=4$ \\\\boxed{4}", "en") is None
    True
    """
    wanted, candidates = frozenset([language] if isinstance(language, str) else language), \
        tuple(candidates)
    return _share(text, wanted, candidates_for(wanted, candidates), until_certain=False,
                  known=_problem_words(problem), others=frequency_languages(wanted, candidates))


def problem_languages(problem: str, thinking: str,
                      problem_language: str | None = None) -> tuple[str, ...]:
    """What the completion must speak: ``problem_language`` (a dataset's ``lang``), else every
    language the problem's prose reads as among all 75 (a short untagged problem may read as
    several: "Let us find the sum of all the roots of this polynomial." is Latin first, English
    close behind), else the thinking's; () without words anywhere.

    >>> problem_languages("Combien font 2 et 2 ?", "", "FR"), problem_languages("$1+1$", "")
    (('fr',), ())
    """
    if problem_language and problem_language.strip():
        return (language_code(problem_language),)
    for text in (problem, thinking):
        words = strip_latex_and_code(text) if isinstance(text, str) else ""
        if letters(words) >= MIN_LETTERS:
            return reading_languages(words)
    return ()


def judge(problem: str, thinking: str, answer: str, problem_language: str | None = None,
          candidates: Iterable[str] = ()) -> Judgement:
    """Do the thinking and the answer speak the problem's language? The one judge of the
    reward, the per-language training metrics and the eval.

    The language: see ``problem_languages``. A part with words passes when ``language_share``
    (among ``COMMON_LANGUAGES``, the problem's and ``candidates``, the run's languages) >=
    ``CONSISTENCY_THRESHOLD``; a failing part makes the sample INCONSISTENT, else a part without
    words makes it NO_WORDS. A part is read only until its side of the threshold is certain, so
    its share in the ``Judgement`` is then the bound that decided it.

    >>> judge("What is 2+2?", "Two plus two is four.", "The answer is $4$.").verdict.value
    'consistent'
    >>> judge("What is 2+2?", "Two plus two is four.", "Die Antwort ist $4$.").verdict.value
    'inconsistent'
    >>> judge("What is 2+2?", "2+2=4", "$4$").verdict.value
    'no_words'
    """
    wanted, candidates = problem_languages(problem, thinking, problem_language), tuple(candidates)
    if not wanted:
        return Judgement(Verdict.NO_WORDS, None, None, None)
    among = candidates_for(wanted, candidates)
    known = _problem_words(problem) if isinstance(problem, str) else frozenset()
    others = frequency_languages(wanted, candidates)
    thinking_share, answer_share = (_part_share(part, frozenset(wanted), among, known, others)
                                    for part in (thinking, answer))
    shares = (thinking_share, answer_share)
    if any(share is not None and share < CONSISTENCY_THRESHOLD for share in shares):
        verdict = Verdict.INCONSISTENT
    elif None in shares:
        verdict = Verdict.NO_WORDS
    else:
        verdict = Verdict.CONSISTENT
    return Judgement(verdict, wanted[0], thinking_share, answer_share)
