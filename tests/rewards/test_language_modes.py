"""Lingua's two modes in the judge: a piece of ``LOW_ACCURACY_CHARS`` or more is read by
trigrams only (several times faster), a shorter one with every n-gram length, where the
low-accuracy mode is unreliable (lingua's documentation)."""

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
    assert found == pytest.approx(_lingua(piece, candidates, low))


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
