"""The language judge (`rewards.language.judge`): every language is a candidate, prose is judged
wherever it hides, a part passes at >= 0.8 of its letters in the problem's language, and a part
without words is its own verdict."""

import time

import pytest

from rewards import language, trl_functions
from rewards.language import (
    CONSISTENCY_THRESHOLD,
    FOREIGN_WORD_RATIO,
    FOREIGN_ZIPF_GAP,
    FREQUENCY_LANGUAGES,
    JUDGED_CHARS,
    SHORT_LETTERS,
    SHORT_ZIPF_GAP,
    Verdict,
    belongs,
    foreign_letters,
    frequency_languages,
    judge,
    language_share,
)
from rewards.language_id import candidates_for, confidences, detect, reads_as, run_languages
from rewards.prose import letters, prose_pieces, strip_latex_and_code

ENGLISH_PROBLEM = "How many apples are left in the basket? Explain your reasoning."
FRENCH = ("D'abord, nous comptons combien de pommes restent dans le panier, puis nous retirons "
          "celles que Marie a mangées.")
ENGLISH_ANSWER = "The answer is $\\boxed{3}$."
NO_SHARED_WORDS = "Compute 7 - 2."  # a problem whose words the edge cases below never use


def verdict(thinking: str, answer: str = ENGLISH_ANSWER, problem: str = ENGLISH_PROBLEM,
            lang: str | None = None) -> Verdict:
    return judge(problem, thinking, answer, lang).verdict


def test_an_untagged_problem_may_read_as_several_languages():
    problem = "Let us find the sum of all the roots of this polynomial."  # read as Latin first
    assert detect(problem) == "la" and reads_as(problem, "en")
    assert verdict("The roots add up to five.", "So the sum is \\boxed{5}.",
                   problem) is Verdict.CONSISTENT
    assert verdict("Die Summe der Nullstellen ist fünf.", "So the sum is \\boxed{5}.",
                   problem) is Verdict.INCONSISTENT


def test_consistency_over_problem_thinking_answer():
    problem = "Combien font deux plus deux ?"
    french = "Deux plus deux font quatre."
    assert verdict(french, "La réponse est $\\boxed{4}$.", problem) is Verdict.CONSISTENT
    assert verdict("Two plus two makes four.", "La réponse est $\\boxed{4}$.",
                   problem) is Verdict.INCONSISTENT
    assert verdict(french, "The answer is $\\boxed{4}$.", problem) is Verdict.INCONSISTENT
    adding = ("Adding one and one gives two.", "So it is \\boxed{2}.", "$1+1$")
    assert verdict(*adding, lang="en") is Verdict.CONSISTENT
    assert verdict(*adding, lang="fr") is Verdict.INCONSISTENT
    assert verdict(*adding) is Verdict.CONSISTENT  # no words in the problem: the thinking's


def test_german_example_summary_gets_no_bonus_on_any_other_language():
    # The multilingual recipe's worked example is German; copying it must never pay.
    german = "Die Antwort ist \\boxed{42}."
    own = {"en": ("What is 23 plus 19?", "23 plus 19 makes 42.", "The answer is \\boxed{42}."),
           "fr": ("Combien font 23 plus 19 ?", "Donc 23 plus 19 font 42.",
                  "La réponse est \\boxed{42}."),
           "es": ("¿Cuánto es 23 más 19?", "23 más 19 son 42.", "La respuesta es \\boxed{42}."),
           "ru": ("Сколько будет 23 плюс 19?", "Итак, 23 плюс 19 будет 42.", "Ответ: \\boxed{42}."),
           "zh": ("23 加 19 等于多少？", "所以 23 加 19 等于 42。", "答案是 \\boxed{42}。")}
    for lang, (problem, thinking, answer) in own.items():
        assert verdict(thinking, answer, problem, lang) is Verdict.CONSISTENT, lang
        assert verdict(thinking, german, problem, lang) is Verdict.INCONSISTENT, lang
        assert verdict("23 plus 19 ergibt 42.", answer, problem, lang) is Verdict.INCONSISTENT
        completion = f"<think>{thinking}</think>\n{german}"
        assert trl_functions.language_reward(prompts=[problem], completions=[completion],
                                             lang=[lang]) == [0.0], lang
        assert trl_functions.language_reward(prompts=[problem], lang=[lang], completions=[
            f"<think>{thinking}</think>\n{answer}"]) == [0.1], lang


HIDDEN_FRENCH = {  # the hidden-prose classes, each carrying the French thinking
    "inline backticks": f"`{FRENCH}`",
    "docstring": f'```python\ndef f():\n    """{FRENCH}"""\n    return 3\n```',
    "string literal": f"```python\nprint('{FRENCH}')\n```",
    "C++ block comment": f"```cpp\nint main() {{ /* {FRENCH} */ return 3; }}\n```",
    "line comment": f"```python\n# {FRENCH}\nx = 1\n```",
    "plain lines in a tagged fence": f"```python\n{FRENCH}\n```",
    "after an unclosed fence": f"Let me write code.\n```python\n{FRENCH}",
    "untagged fence": f"```\n{FRENCH}\n```",
    "text command": f"$\\text{{{FRENCH}}}$",
    "nested text command": f"$\\text{{Nous \\textbf{{{FRENCH}}}}}$",
    "ASCII prose typeset as math": "$" + FRENCH.replace("'", " ") + "$",
    "zero-width characters between letters": "\u200b".join(FRENCH),
    "zero-width spaces between words": FRENCH.replace(" ", "\u200b"),
    "word joiners and BOMs": FRENCH.replace("o", "o\u2060").replace("e", "\ufeffe"),
    "full-width letters": "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c
                                  for c in FRENCH),
    "a short English phrase before": f"Let me think step by step. {FRENCH}",
    "English phrases around": f"Let me think. {FRENCH} So the answer is three.",
}


@pytest.mark.parametrize("name", list(HIDDEN_FRENCH))
def test_hidden_foreign_prose_earns_no_bonus(name):
    thinking = HIDDEN_FRENCH[name]
    assert language_share(thinking, "en") < CONSISTENCY_THRESHOLD, name
    assert verdict(thinking) is Verdict.INCONSISTENT, name
    completion = f"<think>{thinking}</think> {ENGLISH_ANSWER}"
    assert trl_functions.language_reward(prompts=[ENGLISH_PROBLEM], completions=[completion],
                                         lang=["en"]) == [0.0], name


def test_chinese_problem_with_english_reasoning_in_backticks():
    problem = "篮子里还剩下多少个苹果？请解释你的推理。"
    thinking = ("`First we count the apples in the basket, then we subtract the ones Mary ate, "
                "which leaves three.` 所以答案")
    assert verdict(thinking, "答案是 \\boxed{3}。", problem) is Verdict.INCONSISTENT
    assert verdict("我们先数篮子里的苹果，再减去吃掉的，剩下三个。", "答案是 \\boxed{3}。",
                   problem) is Verdict.CONSISTENT


def test_foreign_answer_hidden_in_the_box_is_judged():
    answer = "$\\boxed{\\text{Трое яблок остались в корзине}}$"
    assert verdict("We count the apples that are left.", answer) is Verdict.INCONSISTENT


def test_homoglyph_words_count_as_no_language():
    cyrillic_inside = "Tһе аррlеs аrе соuntеd in the basket now."  # Cyrillic а, е, о, р, һ
    assert language_share(cyrillic_inside, "en") < CONSISTENCY_THRESHOLD
    assert verdict(cyrillic_inside) is Verdict.INCONSISTENT


def test_threshold_edges():
    english = ["We count the apples that are left in the basket.",
               "Then we take away the ones that Mary ate this morning."]
    french = "Nous comptons les pommes du panier."
    at_edge = " ".join([*english, "So three apples are left over for the lunch.", french])
    below = " ".join([*english, "So two apples are left over for the lunch.", french])
    assert [letters(s) for s in english] == [38, 43] and letters(french) == 29
    assert language_share(at_edge, "en") == CONSISTENCY_THRESHOLD == 0.8  # 116 / 145
    assert verdict(at_edge, problem=NO_SHARED_WORDS) is Verdict.CONSISTENT
    assert language_share(below, "en") == pytest.approx(114 / 143)  # 0.797
    assert verdict(below, problem=NO_SHARED_WORDS) is Verdict.INCONSISTENT


def test_no_words_is_its_own_verdict_and_never_the_bonus():
    problem = "Combien font deux plus deux ?"
    assert verdict("$2+2=4$", "La réponse est $\\boxed{4}$.", problem) is Verdict.NO_WORDS
    assert verdict("2 + 2 = 4", "\\boxed{4}", problem) is Verdict.NO_WORDS
    assert verdict("Deux plus deux font quatre.", "$\\boxed{4}$", problem) is Verdict.NO_WORDS
    assert verdict("", "", problem) is Verdict.NO_WORDS
    assert verdict("  \n ", "  ", "$1+1$") is Verdict.NO_WORDS  # nothing to judge at all
    # A foreign part is foreign even when the other has no words.
    assert verdict("Two plus two makes four.", "\\boxed{4}", problem) is Verdict.INCONSISTENT
    judged = judge(problem, "2+2=4", "\\boxed{4}")
    assert judged.ok is None and judged.thinking_share is None and judged.language == "fr"
    for thinking, answer in [("2+2=4", "La réponse est \\boxed{4}."),
                             ("Deux plus deux font quatre.", "\\boxed{4}")]:
        assert trl_functions.language_reward(
            prompts=[problem], completions=[f"<think>{thinking}</think> {answer}"]) == [0.0]


def test_short_pieces_may_be_ambiguous_but_not_foreign():
    # "four" is French for oven: this short English piece reads as French too (0.82 of the
    # top confidence), the price of not failing short pieces of the right language.
    assert reads_as("Two plus two is four.", "fr") and reads_as("Two plus two is four.", "en")
    # Among all languages lingua's top pick for "It is four." is not English; English is close
    # behind, so it reads as English. A clearly other language stays far below the ratio.
    assert detect("It is four.") != "en" and reads_as("It is four.", "en")
    assert verdict("Two plus two makes four.", "It is four.",
                   "What is two plus two?") is Verdict.CONSISTENT
    assert not reads_as("Deux et deux font quatre.", "en")
    assert not reads_as("Итак, ответ четыре.", "en")


def test_latex_and_code_are_ignored():
    french = "Soit $\\frac{x}{y} + z$, alors ```python\nprint(total)\n```"
    stripped = strip_latex_and_code(french)
    assert "print" not in stripped and "total" not in stripped
    assert detect(french + " nous obtenons la réponse suivante.") == "fr"
    assert detect("$x^2 + y^2 = z^2$ \\boxed{5}") is None
    assert detect("") is None and detect(None) is None


def test_code_and_formulas_alone_stay_out_of_the_judgement():
    thinking = ("First we count the apples that are left in the basket. "
                "$\\frac{a}{b} + x_1^2 = \\sqrt{y}$ ```python\nresult = count(basket)\n"
                "for apple in basket:\n    total += 1\n```")
    assert prose_pieces(thinking) == ["First we count the apples that are left in the basket."]
    assert verdict(thinking, "So the answer is $\\boxed{3}$.") is Verdict.CONSISTENT
    chinese = "我们先数篮子里的苹果。```python\nfor apple in basket:\n    total += 1\n```"
    assert verdict(chinese, "答案是 \\boxed{3}。", lang="zh") is Verdict.CONSISTENT


def test_hostile_megabyte_of_delimiters_is_judged_in_linear_time():
    # Lazy regexes took minutes here (every unclosed opener rescanned to the end).
    soups = ["\\begin{a}" * 100_000, "\\[" * 300_000, "$$" * 300_000 + "x", "```py\n" * 100_000,
             "`\n" * 300_000, "\\end{a}\\begin{a}" * 50_000, "/*" * 300_000, "\"" * 600_001,
             "\u200b" * 1_000_000,
             # 225k chars of words alternating three scripts, each its own script run (0.3 s alone)
             " ".join(("abc", "где", "的一是")[i % 3] + chr(0x61 + i % 26) * (i % 2)
                      for i in range(50_000))]
    start = time.perf_counter()
    for soup in soups:
        assert judge("What is it?", soup, soup).verdict is not Verdict.CONSISTENT
    assert time.perf_counter() - start < 60  # 25 s measured at load 10 on 2 cores


def test_prose_past_the_judged_budget_counts_as_foreign():
    sentence = "We count the apples in the basket. "  # 35 characters, 27 letters
    assert language_share(sentence * 2000, "en") == 1.0  # 70k characters, all judged
    share = language_share(sentence * 4000, "en")  # 140k: the last 40k are past the budget
    assert JUDGED_CHARS / (4000 * len(sentence)) < share < CONSISTENCY_THRESHOLD  # 0.74
    assert verdict(sentence * 4000) is Verdict.INCONSISTENT


def test_a_run_language_outside_the_common_set_is_a_candidate():
    # Afrikaans reads as Dutch unless it is a candidate: the run's languages must be.
    problem, answer = "Hoeveel is 23 plus 19?", "Het antwoord is \\boxed{42}."
    afrikaans = "Ons tel die appels in die mandjie en trek dan die wat Marie geëet het af."
    dutch = "We tellen de appels in de mand en trekken dan af wat Marie heeft gegeten."
    assert judge(problem, afrikaans, answer, "nl").verdict is Verdict.CONSISTENT
    assert judge(problem, afrikaans, answer, "nl", ["af"]).verdict is Verdict.INCONSISTENT
    assert judge(problem, dutch, answer, "nl", ["af"]).verdict is Verdict.CONSISTENT
    assert run_languages(["nl"], [afrikaans]) == ("af", "nl")
    completion = f"<think>{afrikaans}</think> {answer}"
    assert trl_functions.language_reward(prompts=[problem], completions=[completion],
                                         lang=["nl"], candidates=["af"]) == [0.0]


@pytest.mark.parametrize("name", ["at edge", "below", *HIDDEN_FRENCH])
def test_stopping_early_keeps_the_verdict_of_the_full_share(name):
    english = ("We count the apples that are left in the basket. Then we take away the ones "
               "that Mary ate this morning.")
    french = "Nous comptons les pommes du panier."
    thinking = {"at edge": f"{english} So three apples are left over for the lunch. {french}",
                "below": f"{english} So two apples are left over for the lunch. {french}",
                **HIDDEN_FRENCH}[name]
    for problem in (NO_SHARED_WORDS, ENGLISH_PROBLEM):  # the second's words leave the share
        full = language_share(thinking, "en", problem=problem)
        early = judge(problem, thinking, ENGLISH_ANSWER, "en").thinking_share
        assert (early >= CONSISTENCY_THRESHOLD) == (full >= CONSISTENCY_THRESHOLD), name


@pytest.mark.parametrize("problem, part, lang", [
    ("Сколько будет 54 минус 29?", "54 минус 29 make 42.", "ru"),  # what the smoke's policy wrote
    ("64 减 27 等于多少？", "64 减 27 等于37make40 makes.", "zh"),  # glued to the Han, no space
    ("Combien font 2 et 2 ?", "Deux et deux font сколько будет.", "fr"),
])
def test_words_of_another_script_in_one_sentence_are_judged_apart(problem, part, lang):
    """lingua reads a mixed sentence by its majority; each run of one script is judged alone."""
    candidates = ("en", "es", "fr", "ru", "zh")
    verdict = judge(problem, part, part, lang, candidates).verdict
    assert verdict is Verdict.INCONSISTENT


@pytest.mark.parametrize("problem, part, lang", [
    ("Janet 的鸭子每天下 16 个蛋。", "Janet 的鸭子每天下 16 个蛋，她早餐吃 3 个。", "zh"),
    ("カイラーはグラスを買います。",
     "カイラーは新しいアパート用にグラスを16個買おうとしています。", "ja"),
    ("Сколько будет 54 минус 29?", "Считаем: 54 минус 29 будет 25, x = 25.", "ru"),
])
def test_a_name_or_variable_in_another_script_keeps_honest_prose_consistent(problem, part, lang):
    verdict = judge(problem, part, part, lang).verdict
    assert verdict is Verdict.CONSISTENT

@pytest.mark.parametrize("problem, part, lang", [
    ("Combien font 74 moins 12 ?", "74 moins 12 make 42.", "fr"),
    ("¿Cuánto es 38 menos 37?", "38 menos 37 make 42.", "es"),
    ("Combien font 74 moins 12 ?", "74 moins 12 make 42. 74 moins 12 make 42.", "fr"),  # repeated
    ("Combien font 74 moins 12 ?", "74 moins 12 equals 62.", "fr"),
    ("¿Cuánto es 38 menos 37?", "38 menos 37 then 1.", "es"),
    ("¿Cuánto es 38 menos 37?", "38 menos 37 son 1, then the total es 1.", "es"),
    # the next policy's answer (docs/multilingual.md, try 6): "are" reads as French and Spanish
    # to lingua
    ("Combien font 74 moins 12 ?", "74 moins 12 are 42.", "fr"),
    ("¿Cuánto es 38 menos 37?", "38 más 37 are 42.", "es"),
    ("¿Cuánto es 38 menos 37?", "38 menos 37 is 1.", "es"),
    # and the one after it (try 6b): "made" is only 100x more frequent in English
    ("Combien font 74 moins 12 ?", "74 moins 12 made 40.", "fr"),
    ("¿Cuánto es 38 menos 37?", "38 más 37 made 40.", "es"),
    ("Combien font 74 moins 12 ?", "74 moins 12 blorp 40.", "fr"),  # no language's word
    # padded with the problem's own words, which once diluted the foreign one in a long part
    ("Combien font 74 moins 12 ?", "Combien font 74 moins 12 ? make", "fr"),
    ("Combien font 74 moins 12 ?", "Combien font 74 moins 12 ? " * 5 + "make it 62.", "fr"),
    ("Сколько будет 54 минус 29?", "Сколько будет 54 минус 29? " * 3 + "So it is 25.", "ru"),
])
def test_an_english_word_in_a_short_latin_answer_earns_no_bonus(problem, part, lang):
    """The hole the try 5 policy found: two words are too few for lingua to tell French or
    Spanish from English, so "moins make" read as French; a clearly foreign word now counts."""
    candidates = ("en", "es", "fr", "ru", "zh")
    verdict = judge(problem, part, part.replace("42.", "\\boxed{42}."), lang, candidates).verdict
    assert verdict is Verdict.INCONSISTENT


@pytest.mark.parametrize("problem, part, lang", [
    ("Combien font 74 moins 12 ?", "74 moins 12 donnent 62.", "fr"),
    ("¿Cuánto es 38 menos 37?", "38 menos 37 son 1.", "es"),
    ("What is 38 minus 37?", "38 minus 37 makes 1.", "en"),
    # a name and a loanword from the problem, in words lingua gives to other languages
    ("Janet verkauft jeden Tag 16 Eier auf dem Markt.", "Janet verkauft also 16 Eier.", "de"),
    ("Los patos de Janet ponen 16 huevos. ¿Cuánto gana en dólares?",
     "Janet gana 18 dólares cada día.", "es"),
    ("Tommy compró un iPhone en Facebook.", "Tommy pagó por un iPhone en Facebook.", "es"),
    # the question restated, then words of its own
    ("Combien font 74 moins 12 ?", "Combien font 74 moins 12 ? " * 3 + "Cela fait 62.", "fr"),
])
def test_honest_short_answers_and_the_problems_own_words_stay_consistent(problem, part, lang):
    candidates = ("en", "es", "fr", "ru", "zh", "de")
    verdict = judge(problem, part, part, lang, candidates).verdict
    assert verdict is Verdict.CONSISTENT


def test_foreign_word_ratio_edge():
    """A word is foreign below FOREIGN_WORD_RATIO of lingua's top choice, not at or above it:
    "make" gives French 0.06 of English's confidence; "gana" gives Spanish 0.42 of Swahili's."""
    candidates = candidates_for(["en", "es", "fr", "ru", "zh"])
    assert foreign_letters("make", "fr", candidates) == 4
    assert foreign_letters("gana", "es", candidates) == 0
    assert foreign_letters("make", "fr", candidates, problem="Make 74 moins 12.") == 0
    assert foreign_letters("the", "fr", candidates) == 3 and foreign_letters("on", "fr") == 0
    assert foreign_letters("苹果", "fr", candidates) == 0  # Han characters are judged by script
    ratio = {w: _ratio(w, "fr", candidates) for w in ("make", "font", "the")}
    assert ratio["make"] < FOREIGN_WORD_RATIO <= ratio["font"], ratio


def test_foreign_zipf_gap_edge():
    """wordfreq: "are" is 10**2.69 times more frequent in English than in French, foreign;
    "come" 10**2.18 times more in Italian than in Spanish (where it means "eats"), not."""
    from wordfreq import zipf_frequency

    gap = {w: zipf_frequency(w, other) - zipf_frequency(w, own)
           for w, own, other in (("are", "fr", "en"), ("come", "es", "it"))}
    assert gap["come"] < FOREIGN_ZIPF_GAP <= gap["are"], gap
    assert foreign_letters("are", "fr") == 3 and foreign_letters("come", "es") == 0
    assert foreign_letters("is", "fr") == 2  # two letters: wordfreq judges it, lingua cannot
    assert foreign_letters("are", "fr", problem="Are 74 moins 12 ?") == 0


def test_frequency_languages_are_wordfreqs_alphabetic_ones():
    from wordfreq import available_languages

    segmented = {"zh", "ja", "ko", "fil", "sh"}  # need segmenters, or are not ISO 639-1 codes
    assert FREQUENCY_LANGUAGES == set(available_languages()) - segmented
    assert frequency_languages(["fr"]) == ("de", "en", "es", "it", "ru")
    assert "sw" not in frequency_languages(["fr"], ["sw"])  # wordfreq has no Swahili list


@pytest.mark.parametrize("problem, part, lang", [
    ("Combien font 74 moins 12 ?", "74 moins 12", "fr"),  # the try 6c policy's whole thinking
    ("What is 69 minus 50?", "69 minus 50 is 19.", "en"),  # "is" is the problem's word too
    ("48 减 46 等于多少？", "48 减 46 等于 2。", "zh"),
    ("Combien font 74 moins 12 ? Expliquez votre calcul.",
     "Combien font 74 moins 12 ? Expliquez votre calcul.", "fr"),  # the whole problem, copied
])
def test_a_part_made_of_the_problems_words_has_no_words_of_its_own(problem, part, lang):
    """Restating the problem shows nothing of the policy's language: no words, no bonus."""
    result = judge(problem, part, part + " \\boxed{2}", lang, ("en", "es", "fr", "ru", "zh"))
    assert result.verdict is Verdict.NO_WORDS
    assert trl_functions.language_reward(
        prompts=[problem], completions=[f"<think>{part}</think> {part} \\boxed{{2}}"],
        lang=[lang]) == [0.0]
    longer = judge(problem, part + " Donc on trouve ça.", part + " Voilà.", lang)
    assert longer.verdict is not Verdict.NO_WORDS


def test_short_zipf_gap_edge():
    """In a short part a word belongs unless SHORT_ZIPF_GAP more frequent elsewhere: "made" is
    10**2.01 times more frequent in English than in French, out; "plus" 10**1.94 times more in
    French than in German, in."""
    assert _gap("made", "fr", "en") >= SHORT_ZIPF_GAP > _gap("plus", "de", "fr")
    assert judge("Wie viel ist 23 und 19?", "23 plus 19 ergibt 42.", "Also \\boxed{42}.",
                 "de").verdict is Verdict.CONSISTENT
    assert not belongs("made", "fr", ["en"]) and belongs("plus", "en", ["fr"])
    assert judge("What is 23 plus 19?", "23 plus 19 makes 42.", "23 plus 19 makes \\boxed{42}.",
                 "en", ("en", "fr")).verdict is Verdict.CONSISTENT
    short = "Deux et deux font quatre"  # 21 letters: read by lingua, not by frequencies
    assert letters(short) >= SHORT_LETTERS > letters("moins font")


def _gap(word, own, other):
    from wordfreq import zipf_frequency

    return zipf_frequency(word, other) - zipf_frequency(word, own)


def _ratio(word, language, candidates):
    found = confidences(word, candidates)
    return found.get(language, 0.0) / max(found.values())


def test_an_honest_two_word_english_answer_with_is_reads_as_english():
    """lingua reads "minus is" as German or Tagalog; a short part is judged by word frequencies
    (the base Gemma's held-out form, which lost the bonus before)."""
    verdict = judge("Compute 69 minus 50.", "69 minus 50 is 19.", "69 minus 50 is \\boxed{19}.",
                    "en", ("en", "es", "fr", "ru", "zh")).verdict
    assert verdict is Verdict.CONSISTENT


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
    before, pieces = language._cached_share.cache_info(), language._judged_text.cache_info()
    assert judge(problem, long, answer, "fr").verdict.value == "inconsistent"
    after = language._cached_share.cache_info()
    assert (after.hits, after.misses) == (before.hits + 1, before.misses)  # the answer only
    assert language._judged_text.cache_info().currsize == pieces.currsize  # nor its pieces
