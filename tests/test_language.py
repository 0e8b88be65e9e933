import time

from rewards.language import detect, is_consistent, strip_latex_and_code

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
    french = ("Soit $\\frac{the}{value} + \\text{answer}$, alors "
              "```python\nprint('hello world')\n```")
    assert "print" not in strip_latex_and_code(french)
    assert detect(french + " nous obtenons la réponse suivante.") == "fr"
    assert detect("$x^2 + y^2 = z^2$ \\boxed{5}") is None
    assert detect("") is None and detect(None) is None


def test_consistency_over_problem_thinking_answer():
    problem = "Combien font deux plus deux ?"
    assert is_consistent(problem, "Deux plus deux font quatre.", "La réponse est $\\boxed{4}$.")
    assert not is_consistent(problem, "Two plus two is four.", "La réponse est $\\boxed{4}$.")
    assert is_consistent(problem, "Deux plus deux font quatre.", "$\\boxed{4}$")  # no words
    assert not is_consistent("$1+1$", "", "\\boxed{2}")  # nothing to judge at all
    assert is_consistent("$1+1$", "Adding one and one gives two.", "\\boxed{2}",
                         problem_language="en")


def test_speed_is_interactive():
    detect("warm up the model")
    texts = [t for group in SENTENCES.values() for t in group] * 20
    start = time.perf_counter()
    for text in texts:
        detect(text)
    assert len(texts) / (time.perf_counter() - start) > 200
