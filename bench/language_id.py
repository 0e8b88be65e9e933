"""Language ID accuracy with three candidate sets, side by side, in one run.

    .venv/bin/python -m bench.language_id [--data-dir ../shared/data]   # from the repo root

What `rewards.language.detect` is asked to do in a multilingual run: name the language of a
problem, and of short, number-heavy thinking. Candidate sets compared:
  data   the languages the data carries plus English (the default, `languages_for`)
  all    every language lingua knows (75)
  fixed  Magistral's seven (en fr es it de zh ru), the old default
on MGSM's 2750 questions (11 languages) and on short thinking-like strings written for this
bench in each of the 11 languages (operands vary, the words do not). Accuracy, not speed.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from rewards.language import MAGISTRAL_LANGUAGES, detect, languages_for

MGSM_LANGS = ("bn", "de", "en", "es", "fr", "ja", "ru", "sw", "te", "th", "zh")
# Short thinking, the way a small model writes it: two operands, an operator word, a result.
THINKING = {
    "en": ["{a} plus {b} makes {c}.", "{a} minus {b} leaves {c}."],
    "de": ["{a} plus {b} ergibt {c}.", "{a} minus {b} bleiben {c}."],
    "fr": ["{a} plus {b} font {c}.", "{a} moins {b} donne {c}."],
    "es": ["{a} más {b} son {c}.", "{a} menos {b} quedan {c}."],
    "ru": ["{a} плюс {b} будет {c}.", "{a} минус {b} остаётся {c}."],
    "zh": ["{a} 加 {b} 等于 {c}。", "{a} 减 {b} 剩下 {c}。"],
    "ja": ["{a} たす {b} は {c} です。", "{a} ひく {b} は {c} になります。"],
    "th": ["{a} บวก {b} เท่ากับ {c}", "{a} ลบ {b} เหลือ {c}"],
    "bn": ["{a} যোগ {b} সমান {c}।", "{a} থেকে {b} বাদ দিলে থাকে {c}।"],
    "te": ["{a} కి {b} కలిపితే {c} వస్తుంది.", "{a} నుండి {b} తీసివేస్తే {c} మిగులుతుంది."],
    "sw": ["{a} jumlisha {b} ni {c}.", "{a} toa {b} inabaki {c}."],
}
OPERANDS = [(31, 45, 76), (7, 5, 12), (120, 35, 155), (64, 27, 91), (9, 8, 17)]


def thinking_strings() -> list[tuple[str, str]]:
    """(language, text) pairs: every template with every operand triple.

    >>> len(thinking_strings()) == len(THINKING) * 2 * len(OPERANDS)
    True
    """
    return [(lang, template.format(a=a, b=b, c=c)) for lang, templates in THINKING.items()
            for template in templates for a, b, c in OPERANDS]


def accuracy(pairs: list[tuple[str, str]], languages: tuple[str, ...]) -> dict[str, float]:
    """Share of texts detected as their language, per language and overall ('all')."""
    hits: dict[str, list[bool]] = defaultdict(list)
    for lang, text in pairs:
        hits[lang].append(detect(text, languages) == lang)
    result = {lang: sum(v) / len(v) for lang, v in sorted(hits.items())}
    result["all"] = sum(sum(v) for v in hits.values()) / sum(len(v) for v in hits.values())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] /
                                                  "shared" / "data"))
    args = parser.parse_args()
    from lingua import Language

    mgsm = [(r["lang"], r["question"]) for r in map(json.loads, Path(
        args.data_dir, "mgsm.jsonl").read_text(encoding="utf-8").splitlines())]
    sets = {"data": languages_for(MGSM_LANGS),
            "all": tuple(sorted(lang.iso_code_639_1.name.lower() for lang in Language.all())),
            "fixed": MAGISTRAL_LANGUAGES}
    table = {(corpus, name): accuracy(pairs, languages)
             for corpus, pairs in (("mgsm", mgsm), ("thinking", thinking_strings()))
             for name, languages in sets.items()}
    columns = list(table)
    print("| lang | " + " | ".join(f"{c} / {n}" for c, n in columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for lang in [*MGSM_LANGS, "all"]:
        print(f"| {lang} | " + " | ".join(f"{table[c][lang]:.3f}" for c in columns) + " |")
    misses = [(lang, text, detect(text, sets["all"])) for lang, text in thinking_strings()
              if detect(text, sets["all"]) != lang][:6]
    print("\nexamples misnamed among all languages:", misses)


if __name__ == "__main__":
    main()
