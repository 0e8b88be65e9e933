"""Language ID (`rewards.language_id`): the candidates are every language lingua knows or the
30 common ones plus the run's, each sentence reads as its own language, and lingua's two modes:
a piece of ``LOW_ACCURACY_CHARS`` or more is read by trigrams only (several times faster), a
shorter one with every n-gram length, where the low-accuracy mode is unreliable (lingua's
documentation). Lingua's own order (best first) is kept without sorting again."""

from __future__ import annotations

import json

import pytest
from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

from rewards import language_id
from rewards.language import judge
from rewards.language_id import (
    COMMON_LANGUAGES,
    LANGUAGES,
    LOW_ACCURACY_CHARS,
    candidates_for,
    reading_languages,
    reads_as,
)

MGSM_LANGS = ("bn", "de", "en", "es", "fr", "ja", "ru", "sw", "te", "th", "zh")
SENTENCE = "We add the apples in the first basket to those in the second one, then we count. "
SENTENCES = {
    "en": ["Let us find the sum of all the roots of this polynomial.",
           "First we count how many apples are left in the basket."],
    "fr": ["Cherchons la somme de toutes les racines de ce polynôme.",
           "D'abord, nous comptons combien de pommes restent dans le panier."],
    "es": ["Busquemos la suma de todas las raíces de este polinomio.",
           "Primero contamos cuántas manzanas quedan en la cesta."],
    "it": ["Cerchiamo la somma di tutte le radici di questo polinomio.",
           "Prima contiamo quante mele sono rimaste nel cestino."],
    "de": ["Wir suchen die Summe aller Nullstellen dieses Polynoms.",
           "Zuerst zählen wir, wie viele Äpfel noch im Korb liegen."],
    "zh": ["我们来求这个多项式所有根的和。", "首先我们数一数篮子里还剩多少个苹果。"],
    "ru": ["Найдём сумму всех корней этого многочлена.",
           "Сначала посчитаем, сколько яблок осталось в корзине."],
}


def _lingua(piece: str, candidates: tuple[str, ...], low: bool) -> dict[str, float]:
    builder = LanguageDetectorBuilder.from_languages(
        *(Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))
          for code in candidates))  # built here, not by the judge
    detector = (builder.with_low_accuracy_mode() if low else builder).build()
    return {value.language.iso_code_639_1.name.lower(): value.value
            for value in detector.compute_language_confidence_values(piece)}


def test_candidates_are_every_language_lingua_knows():
    from lingua import Language

    assert set(LANGUAGES) == {lang.iso_code_639_1.name.lower() for lang in Language.all()}
    assert len(LANGUAGES) == 75


def test_each_magistral_sentence_reads_as_its_language_among_all():
    for code, texts in SENTENCES.items():
        for text in texts:
            assert reads_as(text, code), text
            assert not reads_as(text, set(SENTENCES) - {code}), text


def test_common_languages_are_lingua_codes_and_cover_mgsm():
    mgsm = {"bn", "de", "en", "es", "fr", "ja", "ru", "sw", "te", "th", "zh"}
    assert len(set(COMMON_LANGUAGES)) == 30 and set(COMMON_LANGUAGES) <= set(LANGUAGES)
    assert mgsm <= set(COMMON_LANGUAGES)
    assert candidates_for(["af"], ["nl"]) == tuple(sorted({*COMMON_LANGUAGES, "af", "nl"}))


@pytest.mark.parametrize("length, low", [(LOW_ACCURACY_CHARS - 1, False),
                                         (LOW_ACCURACY_CHARS, True)])
def test_the_mode_follows_the_piece_length(length, low):
    piece = (SENTENCE * 3)[:length]
    candidates = candidates_for(["en"])
    language_id.confidences.cache_clear()
    found = language_id.confidences(piece, candidates)
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
