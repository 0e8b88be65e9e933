"""Where prose hides (`rewards.prose`): what the language judge reads, cut into pieces and runs
of one script, with invisible characters gone."""

from rewards.prose import judged_pieces, letters, prose_pieces, script_runs, visible


def test_invisible_characters_are_removed_first():
    assert visible("a\u200bb\u200cc\u200dd\u2060e\ufeff\u00adf\u3164g\ufe0f") == "abcdefg"
    assert visible("ｆｕｌｌ") == "full"


def test_prose_hides_in_code_math_and_text_commands_and_is_found():
    completion = ("Nous comptons. $\\text{puis on ajoute}$ `on garde tout` "
                  "```python\nx = 1  # le reste\ns = \"encore du texte\"\n```")
    assert prose_pieces(completion) == ["Nous comptons.", "puis on ajoute", "on garde tout",
                                        "le reste", "encore du texte"]


def test_pieces_join_until_they_carry_a_language_and_runs_split_at_scripts():
    assert judged_pieces(["So", "we add.", "Then we carry the one."]) == [
        "So we add. Then we carry the one."]
    assert script_runs("Итак, 54 минус 29 make 25, 好的") == ["Итак, 54 минус 29 ", "make 25, ",
                                                            "好的"]
    assert letters("make 好的") == 4 + 2 * 3


def test_a_line_comment_ends_at_its_line():
    """The code after a French comment is not prose: it once was, and its English identifiers
    made honest French code read as English."""
    code = "```python\ntotal = 0  # on compte les pommes\nfor apple in basket:\n    total += 1\n```"
    assert prose_pieces(code) == ["on compte les pommes"]
