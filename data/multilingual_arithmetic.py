"""Deterministic arithmetic problems in five languages for the multilingual CPU smoke recipe.

Why: a CPU run can show a model learning to think in the user's language only on problems a
135M model can solve in a few tokens. Each problem is the smoke recipe's arithmetic asked in
words of one language (English, French, Spanish, Russian, Chinese: two non-Latin scripts), so
the row's `lang` tag, the problem text and a worked answer all carry a language. `WORKED`
gives the answer template a recipe shows as an example turn. Seeded: `python
data/multilingual_arithmetic.py` re-makes the committed files byte for byte, and no held-out
problem repeats a training problem (in any language).
"""

from __future__ import annotations

import random
from pathlib import Path

from arithmetic import write_splits  # data/ is the script's folder, so it is importable

HERE = Path(__file__).parent
LANGS = ("en", "fr", "es", "ru", "zh")
SPLITS = {"train": 600, "heldout": 100}  # rows per split, spread evenly over LANGS
SEED = 20250610

# Question per operation and language; {a} and {b} are the operands.
QUESTIONS = {
    "en": {"+": "What is {a} plus {b}?", "-": "What is {a} minus {b}?",
           "*": "What is {a} times {b}?"},
    "fr": {"+": "Combien font {a} plus {b} ?", "-": "Combien font {a} moins {b} ?",
           "*": "Combien font {a} fois {b} ?"},
    "es": {"+": "¿Cuánto es {a} más {b}?", "-": "¿Cuánto es {a} menos {b}?",
           "*": "¿Cuánto es {a} por {b}?"},
    "ru": {"+": "Сколько будет {a} плюс {b}?", "-": "Сколько будет {a} минус {b}?",
           "*": "Сколько будет {a} умножить на {b}?"},
    "zh": {"+": "{a} 加 {b} 等于多少？", "-": "{a} 减 {b} 等于多少？",
           "*": "{a} 乘以 {b} 等于多少？"},
}
# A worked answer per language: words in the thinking and in the summary, answer in \boxed{}.
WORKED = {
    "en": "<think>{a} {op} {b} makes {c}.</think>\nThe answer is \\boxed{{{c}}}.",
    "fr": "<think>{a} {op} {b} font {c}.</think>\nLa réponse est \\boxed{{{c}}}.",
    "es": "<think>{a} {op} {b} son {c}.</think>\nLa respuesta es \\boxed{{{c}}}.",
    "ru": "<think>{a} {op} {b} будет {c}.</think>\nОтвет: \\boxed{{{c}}}.",
    "zh": "<think>{a} {op} {b} 等于 {c}。</think>\n答案是 \\boxed{{{c}}}。",
}
OPERATOR_WORDS = {
    "en": {"+": "plus", "-": "minus", "*": "times"},
    "fr": {"+": "plus", "-": "moins", "*": "fois"},
    "es": {"+": "más", "-": "menos", "*": "por"},
    "ru": {"+": "плюс", "-": "минус", "*": "умножить на"},
    "zh": {"+": "加", "-": "减", "*": "乘以"},
}


def operands(rng: random.Random) -> tuple[str, int, int, int]:
    """One operation with its operands and result (as in data/arithmetic.py).

    >>> operands(random.Random(0))
    ('-', 63, 15, 48)
    """
    op = rng.choice(["+", "-", "*"])
    if op == "*":
        a, b = rng.randint(2, 12), rng.randint(2, 12)
        return op, a, b, a * b
    a, b = rng.randint(10, 99), rng.randint(10, 99)
    if op == "-":
        a, b = max(a, b), min(a, b)
        return op, a, b, a - b
    return op, a, b, a + b


def question(lang: str, op: str, a: int, b: int) -> str:
    """The problem text in one language.

    >>> question("fr", "+", 23, 19)
    'Combien font 23 plus 19 ?'
    """
    return QUESTIONS[lang][op].format(a=a, b=b)


def worked_answer(lang: str, op: str, a: int, b: int) -> str:
    """A correct answer in the recipe's format, thinking and summary in `lang`.

    >>> worked_answer("es", "-", 81, 46)
    '<think>81 menos 46 son 35.</think>\\nLa respuesta es \\\\boxed{35}.'
    """
    result = {"+": a + b, "-": a - b, "*": a * b}[op]
    return WORKED[lang].format(a=a, b=b, op=OPERATOR_WORDS[lang][op], c=result)


def generate() -> dict[str, list[dict[str, str]]]:
    """All splits as canonical rows; languages take turns, operand triples never repeat."""
    rng = random.Random(SEED)
    seen: set[tuple[str, int, int]] = set()
    splits: dict[str, list[dict[str, str]]] = {}
    for split, size in SPLITS.items():
        rows = []
        while len(rows) < size:
            op, a, b, result = operands(rng)
            if (op, a, b) in seen:
                continue
            seen.add((op, a, b))
            lang = LANGS[len(rows) % len(LANGS)]
            rows.append({"prompt": question(lang, op, a, b), "answer": str(result),
                         "task": "math", "lang": lang,
                         "source": f"multilingual-arithmetic-{split}"})
        splits[split] = rows
    return splits


def write(folder: Path = HERE) -> list[Path]:
    """Write `multilingual_arithmetic_<split>.jsonl` into `folder`; return their paths."""
    return write_splits(generate(), folder, "multilingual_arithmetic")


if __name__ == "__main__":
    for p in write():
        print(p)
