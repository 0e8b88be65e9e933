"""Code correctness: run a program against its task's tests inside the sandbox.

Magistral grades code by running the first fenced block of the answer on up to 20 tests,
sampled with one seed per problem so that every completion in a GRPO group faces the same
tests; each test gets 4 s and 300 MB; C++ is compiled as C++20 with ``g++`` under a 10 s limit.
A test is either Python code (assertions run after the program, the MBPP/HumanEval style) or an
input/output pair written as JSON ``{"input": "...", "output": "..."}`` (stdin to stdout, any
language). For C++ a non-JSON test is source appended to the program (e.g. a ``main`` with
asserts). Every test runs in its own sandboxed process (see ``sandbox``).
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

from rewards.format import fenced_blocks
from rewards.sandbox import Limits, RunOutcome, run_in_workdir

MAX_TESTS = 20
TEST_TIMEOUT_S = 4.0
MEMORY_MB = 300
COMPILE_TIMEOUT_S = 10.0
COMPILE_MEMORY_MB = 2048
LANGUAGE_ALIASES = {"python": "python", "py": "python", "python3": "python",
                    "cpp": "cpp", "c++": "cpp", "cc": "cpp", "cxx": "cpp"}


@dataclass(frozen=True)
class TestResult:
    """Outcome of a test run: ``failure`` is None, or compile_error, timeout, memory,
    wrong_answer, crash, exited_early, output_limit, no_tests, unsupported_language."""

    passed: bool
    passed_count: int
    total: int
    failure: str | None = None
    detail: str = ""

    @property
    def pass_rate(self) -> float:
        return self.passed_count / self.total if self.total else 0.0


def parse_io_test(test: str) -> tuple[bytes, str] | None:
    """Return (stdin, expected stdout) if ``test`` is a JSON input/output pair, else None.

    >>> parse_io_test('{"input": "2 3", "output": "5"}')
    (b'2 3', '5')
    """
    if not test.lstrip().startswith("{"):
        return None
    try:
        pair = json.loads(test)
    except ValueError:
        return None
    if not isinstance(pair, dict) or not {"input", "output"} <= pair.keys():
        return None
    return str(pair["input"]).encode(), str(pair["output"])


def _same_output(actual: bytes, expected: str) -> bool:
    """Compare line by line, ignoring trailing spaces and trailing blank lines."""
    def lines(text: str) -> list[str]:
        return [line.rstrip() for line in text.strip("\n").splitlines()]
    return lines(actual.decode("utf-8", "replace")) == lines(expected)


def _failure_of(outcome: RunOutcome, expected: str | None) -> str | None:
    if outcome.status == "crash" and b"bad_alloc" in outcome.stderr:
        return "memory"
    if outcome.status == "crash" and b"Assertion" in outcome.stderr:  # a C++ assert() failed
        return "wrong_answer"
    if outcome.status != "ok":
        return outcome.status
    if expected is not None and not _same_output(outcome.stdout, expected):
        return "wrong_answer"
    return None


def _compile_cpp(source: str, workdir: str) -> RunOutcome:
    orders = {"action": "exec", "argv": ["/usr/bin/g++", "-std=c++20", "-O2", "-pipe",
                                         "-o", "solution", "solution.cpp"]}
    limits = Limits(timeout_s=COMPILE_TIMEOUT_S, memory_mb=COMPILE_MEMORY_MB, processes=32)
    return run_in_workdir(orders, {"solution.cpp": source.encode()}, None, limits, workdir)


def _run_one(code: str, test: str, language: str, limits: Limits, workdir: str,
             compiled: dict[str, RunOutcome]) -> tuple[str | None, str]:
    """Run one test; return (failure or None, detail)."""
    io_pair = parse_io_test(test)
    stdin, expected = io_pair if io_pair else (None, None)
    if language == "python":
        orders = {"action": "python", "code": code, "test": None if io_pair else test}
        outcome = run_in_workdir(orders, {}, stdin, limits, workdir)
        return _failure_of(outcome, expected), outcome.detail
    source = code if io_pair else f"{code}\n{test}\n"
    if source not in compiled:
        compiled.clear()  # one binary at a time lives in the working directory
        compiled[source] = _compile_cpp(source, workdir)
    build = compiled[source]
    if build.status != "ok":
        detail = build.stderr.decode("utf-8", "replace")[-500:]
        return ("compile_error" if build.status == "crash" else "compile_" + build.status), detail
    outcome = run_in_workdir({"action": "exec", "argv": ["./solution"]}, {}, stdin, limits,
                             workdir)
    return _failure_of(outcome, expected), outcome.detail


def run_tests(code: str, tests: list[str], language: str = "python", timeout_s: float = 4,
              memory_mb: int = 300, stop_at_first_failure: bool = True) -> TestResult:
    """Run ``code`` against every test in the sandbox.

    >>> run_tests("def add(a, b):\\n    return a + b", ["assert add(2, 3) == 5"]).passed
    True
    >>> run_tests("print(sum(map(int, input().split())))", ['{"input": "2 3", "output": "6"}']
    ...           ).failure
    'wrong_answer'
    """
    language = LANGUAGE_ALIASES.get(str(language).lower(), "")
    if not language:
        return TestResult(False, 0, len(tests), "unsupported_language")
    if not tests:
        return TestResult(False, 0, 0, "no_tests")
    if language == "cpp" and not shutil.which("g++"):
        return TestResult(False, 0, len(tests), "unsupported_language", "g++ is not installed")
    limits = Limits(timeout_s=timeout_s, memory_mb=memory_mb)
    passed, first_failure, first_detail = 0, None, ""
    workdir = tempfile.mkdtemp(prefix="rewards-code-")
    try:
        compiled: dict[str, RunOutcome] = {}
        for test in tests:
            failure, detail = _run_one(code, test, language, limits, workdir, compiled)
            passed += failure is None
            if failure and first_failure is None:
                first_failure, first_detail = failure, detail
                if stop_at_first_failure:
                    break
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return TestResult(passed == len(tests), passed, len(tests), first_failure, first_detail)


def sample_tests(tests: Sequence[str], seed_key: str, k: int = MAX_TESTS) -> list[str]:
    """Pick up to ``k`` tests; the same ``seed_key`` (the problem) always picks the same ones.

    >>> sample_tests([f"t{i}" for i in range(50)], "problem 1") == sample_tests(
    ...     [f"t{i}" for i in range(50)], "problem 1")
    True
    """
    if len(tests) <= k:
        return list(tests)
    seed = int.from_bytes(hashlib.sha256(seed_key.encode("utf-8", "replace")).digest()[:8], "big")
    return random.Random(seed).sample(list(tests), k)


def extract_code(answer: str) -> tuple[str, str] | None:
    """Return (language, code) of the first fenced block that names its language, or None.

    >>> extract_code("Try:\\n```py\\nx = 1\\n```\\n```cpp\\nint x;\\n```")
    ('py', 'x = 1\\n')
    """
    blocks = fenced_blocks(answer) if isinstance(answer, str) else []
    return blocks[0] if blocks else None


@lru_cache(maxsize=1)
def _executor() -> ThreadPoolExecutor:
    from rewards.sandbox import capabilities

    capabilities()  # probe (and warn) once, before the threads race to do it
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="rewards-code")


def grade_answers(answers: Sequence[str], tests: Sequence[Sequence[str]],
                  seed_keys: Sequence[str], max_tests: int = MAX_TESTS,
                  timeout_s: float = TEST_TIMEOUT_S, memory_mb: int = MEMORY_MB,
                  partial_credit: bool = False) -> list[float | None]:
    """Pass rate of each answer's first code block on its sampled tests (None: no tests).

    Without partial credit a run stops at its first failing test, so failures are cheap.
    """
    def grade(answer: str, task_tests: Sequence[str], seed_key: str) -> float | None:
        if not task_tests:
            return None
        block = extract_code(answer)
        if block is None:
            return 0.0
        chosen = sample_tests(task_tests, seed_key, max_tests)
        result = run_tests(block[1], chosen, block[0], timeout_s, memory_mb,
                           stop_at_first_failure=not partial_credit)
        return result.pass_rate

    return list(_executor().map(grade, answers, tests, seed_keys))
