"""`reasoning-rl data translate`: multilingual copies of some English problems.

Why: Magistral translates 10% of its English problems into French, Spanish, Italian, German,
Chinese and Russian, so the model learns to reason in the user's language. Here each chosen
problem gets one target language (languages take turns, so they are balanced). Formulas and
code must survive untouched and the reference answer stays as it is, so LaTeX and code spans
are swapped for numbered placeholders before translation and put back after; a translation
that loses a placeholder, is not in the target language (language ID from `rewards.language`,
the same detector as the language reward) or has an implausible length is rejected.
"""

from __future__ import annotations

import random
import re
from typing import Any

from reasoning_rl.eval.generation import Sampling
from rewards.language_id import MAGISTRAL_LANGUAGES, detect

LANGUAGE_NAMES = {"en": "English", "fr": "French", "es": "Spanish", "it": "Italian",
                  "de": "German", "zh": "Chinese", "ru": "Russian"}
TARGETS = tuple(code for code in MAGISTRAL_LANGUAGES if code != "en")
PROTECTED = re.compile(r"```.*?```|`[^`\n]*`|\$\$.*?\$\$|\\\[.*?\\\]|\\\(.*?\\\)|\$[^$]+\$"
                       r"|\\begin\{(\w+\*?)\}.*?\\end\{\1\}|\[asy\].*?\[/asy\]", re.DOTALL)
PLACEHOLDER = "[[{}]]"
LENGTH_RATIO = (0.2, 3.0)  # translated / original characters (Chinese is short)


def protect(text: str) -> tuple[str, list[str]]:
    """Replace LaTeX and code spans by numbered placeholders; return (text, spans).

    >>> protect("Find $x$ if $x^2 = 4$.")
    ('Find [[0]] if [[1]].', ['$x$', '$x^2 = 4$'])
    """
    spans: list[str] = []

    def swap(match: re.Match) -> str:
        spans.append(match.group(0))
        return PLACEHOLDER.format(len(spans) - 1)

    return PROTECTED.sub(swap, text), spans


def restore(text: str, spans: list[str]) -> str | None:
    """Put the spans back; None if a placeholder is missing or repeated.

    >>> restore("Trouver [[0]] si [[1]].", ["$x$", "$x^2 = 4$"])
    'Trouver $x$ si $x^2 = 4$.'
    >>> restore("Trouver x.", ["$x$"]) is None
    True
    """
    for index, span in enumerate(spans):
        mark = PLACEHOLDER.format(index)
        if text.count(mark) != 1:
            return None
        text = text.replace(mark, span)
    return text


def translation_messages(text: str, lang: str) -> list[dict[str, str]]:
    """The chat prompt asking for a translation of a placeholder-protected problem."""
    name = LANGUAGE_NAMES[lang]
    return [{"role": "system", "content": "You are a careful translator of math and programming "
             "problems. Reply with the translation only."},
            {"role": "user", "content": f"Translate this problem into {name}. Copy every "
             f"placeholder such as [[0]] exactly as it is.\n\n{text}"}]


def check_translation(original: str, translated: str, lang: str) -> str | None:
    """Why a translation is rejected, or None when it is acceptable.

    >>> check_translation("How many apples are left?", "How many apples are left?", "fr")
    'unchanged'
    >>> check_translation("How many apples are left?", "Combien de pommes reste-t-il ?", "fr")
    """
    if not translated.strip():
        return "empty"
    if translated.strip() == original.strip():
        return "unchanged"
    ratio = len(translated) / max(len(original), 1)
    if not LENGTH_RATIO[0] <= ratio <= LENGTH_RATIO[1]:
        return f"length ratio {ratio:.2f}"
    found = detect(translated, MAGISTRAL_LANGUAGES)
    if found != lang:
        return f"language {found or 'unknown'} instead of {lang}"
    return None


def choose(rows: list[dict[str, Any]], fraction: float, langs: list[str], seed: int
           ) -> list[tuple[int, str]]:
    """(row index, target language) for a seeded random `fraction` of the English rows.

    >>> choose([{"lang": "en"}] * 4 + [{"lang": "fr"}], 0.5, ["fr", "de"], 0)
    [(1, 'fr'), (3, 'de')]
    """
    english = [i for i, row in enumerate(rows) if (row.get("lang") or "en") == "en"]
    picked = sorted(random.Random(seed).sample(english, round(len(english) * fraction)))
    return [(index, langs[n % len(langs)]) for n, index in enumerate(picked)]


def translate_rows(rows: list[dict[str, Any]], backend, *, fraction: float = 0.1,
                   langs: list[str] | None = None, seed: int = 0, max_new_tokens: int = 1024
                   ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(accepted translated copies, rejections with reasons); answers and tests are unchanged.

    >>> copies, rejected = translate_rows(rows, backend, fraction=0.1)  # doctest: +SKIP
    """
    langs = list(langs or TARGETS)
    unknown = sorted(set(langs) - set(TARGETS))
    if unknown:
        from reasoning_rl.recipe.errors import UserError

        raise UserError(f"--langs: cannot translate into {', '.join(unknown)}; "
                        f"choose from {', '.join(TARGETS)}")
    plan = choose(rows, fraction, langs, seed)
    protected = [protect(rows[index]["prompt"]) for index, _ in plan]
    outputs = backend.generate([translation_messages(text, lang) for (text, _), (_, lang)
                                in zip(protected, plan, strict=True)],
                               Sampling(max_new_tokens=max_new_tokens, seed=seed))
    copies, rejected = [], []
    for (index, lang), (_, spans), group in zip(plan, protected, outputs, strict=True):
        row, raw = rows[index], group[0].text.strip()
        restored = restore(raw, spans)
        reason = ("empty" if not raw else "placeholders lost" if restored is None
                  else check_translation(row["prompt"], restored, lang))
        if reason:
            rejected.append({"row": index, "lang": lang, "reason": reason, "output": raw})
        else:
            copies.append({**row, "prompt": restored, "lang": lang,
                           "source": f"{row.get('source', '')}+translated:{lang}"})
    return copies, rejected
