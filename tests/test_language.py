import time

from rewards.language import agrees, detect, is_consistent, strip_latex_and_code

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


def test_detects_each_magistral_language():
    for code, texts in SENTENCES.items():
        for text in texts:
            assert detect(text) == code, text


def test_latex_and_code_are_ignored():
    french = "Soit $\\frac{x}{y} + z$, alors ```python\nprint('hello world')\n```"
    stripped = strip_latex_and_code(french)
    assert "print" not in stripped and "hello" not in stripped
    assert detect(french + " nous obtenons la réponse suivante.") == "fr"
    assert detect("$x^2 + y^2 = z^2$ \\boxed{5}") is None
    assert detect("") is None and detect(None) is None


def test_consistency_over_problem_thinking_answer():
    problem = "Combien font deux plus deux ?"
    assert is_consistent(problem, "Deux plus deux font quatre.", "La réponse est $\\boxed{4}$.")
    assert not is_consistent(problem, "Two plus two is four.", "La réponse est $\\boxed{4}$.")
    assert not is_consistent(problem, "Deux plus deux font quatre.", "The answer is $\\boxed{4}$.")
    assert is_consistent("$1+1$", "Adding one and one gives two.", "So it is \\boxed{2}.",
                         problem_language="en")
    assert not is_consistent("$1+1$", "Adding one and one gives two.", "So it is \\boxed{2}.",
                             problem_language="fr")


def test_bonus_needs_words_in_both_the_thinking_and_the_answer():
    problem = "Combien font deux plus deux ?"
    assert not is_consistent(problem, "Deux plus deux font quatre.", "$\\boxed{4}$")
    assert not is_consistent(problem, "$2+2=4$", "La réponse est $\\boxed{4}$.")
    assert not is_consistent(problem, "", "")
    assert not is_consistent("$1+1$", "", "\\boxed{2}")  # nothing to judge at all
    assert not is_consistent("$1+1$", "  \n ", "  ")


def test_short_answers_may_be_ambiguous_but_not_foreign():
    # lingua's top pick for "It is four." is French; English is close behind, so it agrees.
    assert detect("It is four.") != "en" and agrees("It is four.", "en")
    assert is_consistent("What is two plus two?", "Two plus two makes four.", "It is four.")
    assert not agrees("Deux et deux font quatre.", "en")
    assert not agrees("Итак, ответ четыре.", "en")


FRENCH_THINKING = "D'abord, nous comptons combien de pommes restent dans le panier."
ENGLISH_PROBLEM = "How many apples are left in the basket? Explain your reasoning."


def test_foreign_words_hidden_in_text_math_or_code_are_judged():
    hidden = [
        f"$\\text{{{FRENCH_THINKING}}}$",
        f"\\[\\textbf{{{FRENCH_THINKING}}}\\]",
        "$" + FRENCH_THINKING.replace("'", " ") + "$",  # ASCII prose typeset as math
        f"$$ {SENTENCES['zh'][1]} $$",
        f"```\n{FRENCH_THINKING}\n```",  # an untagged fence is prose
        f"```text\n{FRENCH_THINKING}\n```",
        f"```python\n# {FRENCH_THINKING}\nx = 1\n```",  # comments are prose
        f"```python\nx = '{SENTENCES['ru'][1]}'\n```",  # non-Latin script inside code
        f"`{SENTENCES['zh'][0]}`",
    ]
    for thinking in hidden:
        assert detect(thinking) in {"fr", "zh", "ru"}, thinking
        assert not is_consistent(ENGLISH_PROBLEM, thinking, "The answer is $\\boxed{3}$."), thinking


def test_foreign_answer_hidden_in_the_box_is_judged():
    answer = "$\\boxed{\\text{Трое яблок остались в корзине}}$"
    assert not is_consistent(ENGLISH_PROBLEM, "We count the apples that are left.", answer)


def test_code_and_formulas_alone_stay_out_of_the_judgement():
    thinking = ("First we count the apples that are left in the basket. "
                "$\\frac{a}{b} + x_1^2 = \\sqrt{y}$ ```python\nresult = count(basket)\n```")
    expected = "First we count the apples that are left in the basket."
    assert strip_latex_and_code(thinking) == expected
    assert is_consistent(ENGLISH_PROBLEM, thinking, "So the answer is $\\boxed{3}$.")


def test_speed_is_interactive():
    detect("warm up the model")
    texts = [t for group in SENTENCES.values() for t in group] * 20
    start = time.perf_counter()
    for text in texts:
        detect(text)
    assert len(texts) / (time.perf_counter() - start) > 200


def test_hostile_megabyte_of_delimiters_is_judged_in_linear_time():
    # Lazy regexes took minutes here (every unclosed opener rescanned to the end).
    soups = ["\\begin{a}" * 100_000, "\\[" * 300_000, "$$" * 300_000 + "x", "```py\n" * 100_000,
             "`\n" * 300_000, "\\end{a}\\begin{a}" * 50_000]
    start = time.perf_counter()
    for soup in soups:
        assert not is_consistent("What is it?", soup, soup)
    assert time.perf_counter() - start < 20  # about 1 s here; before the fix, > 160 s
