"""The judge's fast paths. Lingua's two modes: a piece of ``LOW_ACCURACY_CHARS`` or more is read
by trigrams only (several times faster), a shorter one with every n-gram length, where the
low-accuracy mode is unreliable (lingua's documentation). Lingua's own order (best first), which
the judge keeps without sorting again. A part's share, read once per batch."""

from __future__ import annotations

import json

import pytest
from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

from rewards import language
from rewards.language import LOW_ACCURACY_CHARS, candidates_for, judge, reading_languages

MGSM_LANGS = ("bn", "de", "en", "es", "fr", "ja", "ru", "sw", "te", "th", "zh")
SENTENCE = "We add the apples in the first basket to those in the second one, then we count. "


def _lingua(piece: str, candidates: tuple[str, ...], low: bool) -> dict[str, float]:
    builder = LanguageDetectorBuilder.from_languages(
        *(Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))
          for code in candidates))  # built here, not by the judge
    detector = (builder.with_low_accuracy_mode() if low else builder).build()
    return {value.language.iso_code_639_1.name.lower(): value.value
            for value in detector.compute_language_confidence_values(piece)}


@pytest.mark.parametrize("length, low", [(LOW_ACCURACY_CHARS - 1, False),
                                         (LOW_ACCURACY_CHARS, True)])
def test_the_mode_follows_the_piece_length(length, low):
    piece = (SENTENCE * 3)[:length]
    candidates = candidates_for(["en"])
    language._confidences.cache_clear()
    found = language._confidences(piece, candidates)
    assert _lingua(piece, candidates, low) != _lingua(piece, candidates, not low)  # they differ
    assert found == pytest.approx({code: value for code, value
                                   in _lingua(piece, candidates, low).items() if value > 0})


@pytest.mark.parametrize("low", [False, True])
def test_lingua_lists_confidences_best_first(shared_data, low):
    """``_confidences`` relies on it; fails if a lingua release stops sorting."""
    rows = [json.loads(line) for line in (shared_data / "mgsm.jsonl").read_text().splitlines()
            if line.strip()][::25]
    candidates = candidates_for(["en"])
    for row in rows:
        for piece in (row["question"], row["question"][:40], row["question"].split()[0]):
            values = list(_lingua(piece, candidates, low).values())
            assert values == sorted(values, reverse=True), piece


def test_a_parts_share_is_read_once_and_a_long_part_afresh():
    problem, answer = "Combien font 74 moins 12 ?", "Donc cela fait \\boxed{62}."
    french, english = "Nous retirons douze de soixante-quatorze.", "We take twelve away."
    language._cached_share.cache_clear()
    first = [judge(problem, thinking, answer, "fr") for thinking in (french, english)]
    hits = language._cached_share.cache_info().hits
    assert [judge(problem, thinking, answer, "fr") for thinking in (french, english)] == first
    assert language._cached_share.cache_info().hits == hits + 4  # both parts of both samples
    assert [j.verdict.value for j in first] == ["consistent", "inconsistent"]
    long = english * (language.CACHED_PART_CHARS // len(english) + 1)
    before = language._cached_share.cache_info()
    assert judge(problem, long, answer, "fr").verdict.value == "inconsistent"
    after = language._cached_share.cache_info()
    assert (after.hits, after.misses) == (before.hits + 1, before.misses)  # the answer only


def test_long_mgsm_questions_read_as_their_language_only(shared_data):
    """Every MGSM question of 120 characters or more among the first 30 per language reads as
    its own language and no other, among the judge's candidates; and the next question, as a
    thinking in the same language, is consistent, in another language not."""
    rows = [json.loads(line) for line in (shared_data / "mgsm.jsonl").read_text().splitlines()
            if line.strip()]
    by = {(row["lang"], int(row["id"].rsplit("_", 1)[-1])): row["question"] for row in rows}
    read = 0
    for lang in MGSM_LANGS:
        for index in range(30):
            question = by[(lang, index)]
            if len(question) >= LOW_ACCURACY_CHARS:
                read += 1
                assert reading_languages(question, candidates_for([lang])) == (lang,), question
        thinking = by[(lang, 1)]
        assert judge(by[(lang, 0)], thinking, thinking, lang).verdict.value == "consistent"
        other = by[("en" if lang != "en" else "fr", 1)]
        assert judge(by[(lang, 0)], other, thinking, lang).verdict.value == "inconsistent"
    assert read > 200
