import pytest

from rewards.total import RewardBreakdown, Sample, score, score_many

GOOD = "<think>Two plus two makes four.</think> The answer is $\\boxed{4}$."


def test_full_marks_is_one_point_one():
    result = score("What is two plus two?", GOOD, task="math", answer="4")
    assert result == RewardBreakdown(0.1, 0.9, 0.0, 0.1)
    assert result.total == 1.1
    assert result.as_log_dict() == {"rewards/format": 0.1, "rewards/correct": 0.9,
                                    "rewards/length": 0.0, "rewards/language": 0.1}


def test_failed_gate_zeroes_everything():
    result = score("What is two plus two?", "The answer is $\\boxed{4}$.", task="math",
                   answer="4", length_tokens=10_000, l_max=100, l_cache=10)
    assert result.total == 0.0 and result.length == 0.0


def test_length_penalty_applies_only_past_the_free_zone():
    long = score("What is two plus two?", GOOD, task="math", answer="4", length_tokens=200,
                 l_max=100, l_cache=10)
    assert long.length == -0.1 and abs(long.total - 1.0) < 1e-12


def test_unparseable_reference_is_flagged_not_raised():
    result = score("What?", GOOD, task="math", answer="\\frac{")
    assert not result.scorable and result.correct == 0.0 and result.format == 0.1


def test_bad_inputs_score_zero():
    weird = ["", "<think>" * 1000, "\udcff\x00</think>", "<think></think>" + "\\boxed{" * 5000,
             "x" * 1_000_000, b"\xff\xfe".decode("utf-8", "replace")]
    results = score_many([Sample("q", text, "math", "1") for text in weird])
    assert [r.total for r in results] == [0.0] * len(weird)


PROBLEM = "What is two plus two? Explain your reasoning."


def test_no_answer_earns_nothing():
    for completion in ["<think></think>\\boxed{}", "<think>Two plus two.</think> \\boxed{ }",
                       "<think>Two plus two.</think> It is \\boxed{\\text{ }}."]:
        result = score(PROBLEM, completion, task="math", answer="4")
        assert result.total == 0.0 and result.reason.startswith("empty"), completion
    empty_fence = score("Write add.", "<think>Add them.</think>\n```python\n\n```", task="code",
                        tests=["assert add(1, 2) == 3"])
    assert empty_fence.total == 0.0 and empty_fence.reason == "empty code block after </think>"


def test_language_bonus_needs_words_in_thinking_and_answer():
    assert score(PROBLEM, "<think>$2+2=4$</think> The answer is $\\boxed{4}$.", task="math",
                 answer="4") == RewardBreakdown(0.1, 0.9, 0.0, 0.0)
    assert score(PROBLEM, "<think>Two plus two makes four.</think> $\\boxed{4}$", task="math",
                 answer="4").language == 0.0


def test_foreign_thinking_hidden_in_text_math_or_code_earns_no_bonus():
    french = "Deux plus deux font quatre, évidemment."
    for thinking in [f"$\\text{{{french}}}$", f"$ {french} $", f"```\n{french}\n```",
                     f"```python\n# {french}\n```", "$$二加二等于四，这很简单。$$"]:
        result = score(PROBLEM, f"<think>{thinking}</think> The answer is $\\boxed{{4}}$.",
                       task="math", answer="4")
        assert result == RewardBreakdown(0.1, 0.9, 0.0, 0.0), thinking


@pytest.mark.parametrize("task", ["math", "Math", "MATH", " math"])
def test_math_task_names_are_case_insensitive(task):
    assert score(PROBLEM, GOOD, task=task, answer="4").total == 1.1


@pytest.mark.parametrize("task", ["Code", "CODE"])
def test_code_task_names_are_case_insensitive_and_think_tags_in_code_are_fine(task):
    completion = ("<think>Return the text after the reasoning.</think>\n```python\n"
                  "def answer(text):\n    return text.split('</think>')[-1]\n```")
    result = score("Write answer(text).", completion, task=task,
                   tests=["assert answer('<think>a</think>b') == 'b'"])
    assert (result.format, result.correct, result.scorable) == (0.1, 0.9, True)


def test_unknown_task_is_unscorable_not_an_exception():
    results = score_many([Sample(PROBLEM, GOOD, task, "4") for task in ["poetry", "maths", 7]])
    assert [(r.total, r.scorable) for r in results] == [(0.0, False)] * 3
    assert all(r.reason.startswith("unknown task") for r in results)
