import pytest

from rewards.format import (
    check_format,
    fenced_blocks,
    find_boxed_contents,
    is_blank_answer,
    last_boxed,
    normalize_task,
    split_thinking,
)


def test_math_gate_passes_and_splits_parts():
    check = check_format("<think>\nadd them</think>\nSo the answer is \\boxed{\\frac{1}{2}}.")
    assert check.passed
    assert check.thinking == "\nadd them"
    assert "\\boxed" in check.answer


def test_math_gate_needs_boxed_after_think():
    assert not check_format("<think>\\boxed{3}</think> 3").passed
    assert not check_format("<think>x</think> \\boxed{3").passed  # never closed


def test_gate_rejects_missing_or_misplaced_think_block():
    assert not check_format("\\boxed{3}").passed
    assert not check_format("hi <think>x</think> \\boxed{3}").passed
    assert not check_format("<think>a \\boxed{3}").passed  # never closed
    assert not check_format("</think> \\boxed{3}").passed
    assert check_format("  <think>a</think> \\boxed{3}").passed


def test_second_think_opener_in_the_thinking_fails():
    assert not check_format("<think>a<think>b</think> \\boxed{3}").passed
    assert not check_format("<think>a <think> b</think> c</think> \\boxed{3}").passed
    assert split_thinking("<think><think></think> x") is None


def test_first_close_ends_the_thinking_and_the_answer_may_hold_anything():
    # Exactly one think block, at the start: whatever follows the first </think> is the answer.
    check = check_format("<think>a</think> see </think> and <think> then \\boxed{3}")
    assert check.passed and check.thinking == "a"
    assert check.answer == " see </think> and <think> then \\boxed{3}"
    assert check_format("<think>a</think> \\boxed{3} </think>").passed


def test_code_answer_mentioning_think_tags_passes():
    code = ("<think>Strip the reasoning tags.</think>\n```python\ndef strip(text):\n"
            "    return text.split('</think>')[-1].replace('<think>', '')\n```")
    check = check_format(code, task="code")
    assert check.passed, check.reason
    assert check.thinking == "Strip the reasoning tags."
    assert "split('</think>')" in fenced_blocks(check.answer)[0][1]


@pytest.mark.parametrize("box", ["\\boxed{}", "\\boxed{ }", "\\boxed{\n\t}", "\\boxed{{}}",
                                 "\\boxed{\\text{ }}", "\\boxed{\\quad}", "\\boxed{\\,\\;}",
                                 "$\\boxed{\\displaystyle{}}$", "\\boxed{.}",
                                 "\\boxed{\\mathrm{}}"])
def test_empty_or_blank_box_fails_the_gate(box):
    check = check_format(f"<think>Two and two make four.</think> The answer is {box}")
    assert not check.passed and check.reason == "empty \\boxed{} after </think>"


def test_answer_is_the_last_box_so_a_blank_last_box_fails():
    assert not check_format("<think>x</think> \\boxed{4} or rather \\boxed{ }").passed
    assert check_format("<think>x</think> \\boxed{ } or rather \\boxed{4}").passed
    assert not check_format("<think></think>\\boxed{}").passed
    assert not is_blank_answer("0") and not is_blank_answer("\\text{Evelyn}")
    assert not is_blank_answer("\\emptyset") and not is_blank_answer("x")


@pytest.mark.parametrize("fence", ["```python\n```", "```python\n   \n\t\n```", "```py\n\n```"])
def test_empty_code_fence_fails_the_gate(fence):
    check = check_format(f"<think>plan</think>\n{fence}", task="code")
    assert not check.passed and check.reason == "empty code block after </think>"


def test_first_tagged_block_is_the_one_run_so_it_must_not_be_empty():
    both = "<think>p</think>\n```python\n\n```\n```python\nx = 1\n```"
    assert not check_format(both, task="code").passed
    assert check_format(both.replace("\n\n```\n```", "\ny = 2\n```\n```", 1), "code").passed


@pytest.mark.parametrize("task", ["math", "Math", "MATH", " math ", None, ""])
def test_math_task_names_in_any_case(task):
    assert normalize_task(task) == "math"
    assert check_format("<think>a</think> \\boxed{3}", task).passed


@pytest.mark.parametrize("task", ["code", "Code", "CODE"])
def test_code_task_names_in_any_case(task):
    assert check_format("<think>a</think>\n```python\nx = 1\n```", task).passed


@pytest.mark.parametrize("task", ["poetry", "maths", 3, "co de"])
def test_unknown_task_fails_the_gate_without_raising(task):
    check = check_format("<think>a</think> \\boxed{3}", task)
    assert not check.passed and check.reason.startswith("unknown task")


def test_code_gate_needs_tagged_fence_after_think():
    good = "<think>plan</think>\n```python\ndef f():\n    return 1\n```"
    assert check_format(good, task="code").passed
    assert not check_format("<think>plan</think>\n```\nx = 1\n```", task="code").passed
    assert not check_format("<think>```python\nx=1\n```</think> done", task="code").passed


def test_bad_inputs_fail_cleanly():
    for junk in ["", None, b"<think>".decode(), "<think>" * 10000, "\x00\ud800</think>"]:
        assert not check_format(junk).passed


def test_nested_and_escaped_braces():
    assert find_boxed_contents(r"\boxed{\frac{a}{b}} \boxed{\{1\}}") == [r"\frac{a}{b}", r"\{1\}"]
    assert last_boxed(r"\boxed{a \boxed{b}") == "b"
    assert last_boxed("no box") is None


def test_megabyte_of_tag_soup_is_fast():
    import time

    soup = ("<think>\\boxed{```py\n{" * 50000)[:1_000_000]
    start = time.perf_counter()
    assert not check_format(soup).passed
    assert not check_format(soup, task="code").passed
    find_boxed_contents(soup), fenced_blocks(soup), split_thinking(soup)
    assert time.perf_counter() - start < 2.0
