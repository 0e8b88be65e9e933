from rewards.format import (
    check_format,
    fenced_blocks,
    find_boxed_contents,
    last_boxed,
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


def test_gate_rejects_missing_extra_or_misplaced_tags():
    assert not check_format("\\boxed{3}").passed
    assert not check_format("hi <think>x</think> \\boxed{3}").passed
    assert not check_format("<think>a</think><think>b</think> \\boxed{3}").passed
    assert not check_format("<think>a</think> </think> \\boxed{3}").passed
    assert not check_format("<think>a \\boxed{3}").passed
    assert check_format("  <think>a</think> \\boxed{3}").passed


def test_code_gate_needs_tagged_fence_after_think():
    good = "<think>plan</think>\n```python\ndef f():\n    return 1\n```"
    assert check_format(good, task="code").passed
    assert not check_format("<think>plan</think>\n```\nx = 1\n```", task="code").passed
    assert not check_format("<think>```python\nx=1\n```</think> done", task="code").passed
    assert not check_format(good, task="poetry").passed


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
