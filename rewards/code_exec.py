"""Code correctness: run a program against its task's tests inside the sandbox.

Magistral grades code by running the first fenced block of the answer on up to 20 tests,
sampled with one seed per problem so that every completion in a GRPO group faces the same
tests; each test gets 4 s and 300 MB; C++ is compiled as C++20 with ``g++``. A test is either
Python code (assertions, the MBPP/HumanEval style) or an input/output pair written as JSON
``{"input": "...", "output": "..."}`` (stdin to stdout, any language).

Every verdict is computed outside the sandbox (see ``rewards.sandbox``): outputs are compared
here, and Python assertion tests run in the sandbox's judge process, which calls into the
program with plain data only. A C++ test that is source code (a ``main`` with asserts) can only
be judged by the program's exit status, which the program controls (a static initialiser can
exit 0 before ``main``): such tests are *forgeable* and fail with ``forgeable_test`` unless the
caller passes ``allow_forgeable_tests=True``. One wall-clock budget covers a completion's
compile and all its tests, and ``run_tests`` never raises: any harness trouble is a failed test.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import random
import shutil
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

from rewards.format import fenced_blocks
from rewards.sandbox import Limits, RunOutcome, judge, launch

log = logging.getLogger(__name__)

MAX_TESTS = 20
TEST_TIMEOUT_S = 4.0
MEMORY_MB = 300
BUDGET_S = 20.0  # a completion's compile and all its tests, wall clock (grade_answers' default)
COMPILE_TIMEOUT_S = 10.0
COMPILE_MEMORY_MB = 1024
RETURN_GRACE_S = 2.0  # run_tests returns within its budget plus this
LANGUAGE_ALIASES = {"python": "python", "py": "python", "python3": "python",
                    "cpp": "cpp", "c++": "cpp", "cc": "cpp", "cxx": "cpp"}


@dataclass(frozen=True)
class TestResult:
    """Outcome of a test run: ``failure`` is None, or compile_error, timeout, memory,
    wrong_answer, crash, exited_early, output_limit, not_plain_data, forgeable_test,
    wrong_language, harness_error, no_tests, unsupported_language."""

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


def _failure_of(outcome: RunOutcome, expected: str) -> str | None:
    if outcome.status == "crash" and b"bad_alloc" in outcome.stderr:
        return "memory"
    if outcome.status != "ok":
        return outcome.status
    return None if _same_output(outcome.stdout, expected) else "wrong_answer"


class _Budget:
    """The wall clock left for one completion."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def limits(self, cap_s: float, memory_mb: int, processes: int = 16) -> Limits | None:
        """Limits for the next run, or None when too little time is left to start one."""
        left = min(cap_s, self.end - time.monotonic())
        return Limits(timeout_s=left, memory_mb=memory_mb, processes=processes) \
            if left > 0.05 else None


def _io_tests(run, pairs: list[tuple[bytes, str]], budget: _Budget, timeout_s: float,
              memory_mb: int, stop_at_first_failure: bool) -> list[tuple[str | None, str]]:
    """Run ``run(stdin, limits)`` per input/output pair; compare each output here."""
    results = []
    for stdin, expected in pairs:
        limits = budget.limits(timeout_s, memory_mb)
        if limits is None:
            results.append(("timeout", "the completion's time budget ran out"))
        else:
            outcome = run(stdin, limits)
            results.append((_failure_of(outcome, expected), outcome.detail))
        if results[-1][0] and stop_at_first_failure:
            break
    return results


def _python(code: str, tests: list[str], budget: _Budget, timeout_s: float, memory_mb: int,
            stop_at_first_failure: bool) -> list[tuple[str | None, str]]:
    pairs = [parse_io_test(test) for test in tests]
    if all(pairs):
        def run(stdin: bytes, limits: Limits) -> RunOutcome:
            return launch({"action": "python", "code": code}, limits, stdin)
        return _io_tests(run, pairs, budget, timeout_s, memory_mb, stop_at_first_failure)
    if any(pairs):
        return [("harness_error", "a task mixes input/output pairs and assertion tests")]
    limits = budget.limits(float("inf"), memory_mb)
    if limits is None:
        return [("timeout", "the completion's time budget ran out")]
    outcome = judge(code, tests, limits, timeout_s, stop_at_first_failure)
    if not outcome.verdicts:
        return [(outcome.status, outcome.detail)]
    return [(None if kind == "ok" else kind, detail) for kind, detail in outcome.verdicts]


def _cpp(code: str, tests: list[str], budget: _Budget, timeout_s: float, memory_mb: int,
         stop_at_first_failure: bool, allow_forgeable: bool) -> list[tuple[str | None, str]]:
    pairs = [parse_io_test(test) for test in tests]
    if all(pairs):  # compiled once, then run per test; outputs compared here
        binary, failure = _compile(code, budget)
        if failure:
            return [failure]

        def run(stdin: bytes, limits: Limits) -> RunOutcome:
            return launch({"action": "exec", "binary": binary}, limits, stdin)
        return _io_tests(run, pairs, budget, timeout_s, memory_mb, stop_at_first_failure)
    if any(_is_python(test) for test, pair in zip(tests, pairs, strict=True) if pair is None):
        return [("wrong_language", "the task's assertion tests are Python")]
    if not allow_forgeable:
        return [("forgeable_test", "C++ assertion tests are judged by exit status only")]
    results: list[tuple[str | None, str]] = []
    for test in tests:  # opted in: each test is its own program; exit status 0 passes
        results.append(_forgeable_test(f"{code}\n{test}\n", budget, timeout_s, memory_mb))
        if results[-1][0] and stop_at_first_failure:
            break
    return results


def _is_python(test: str) -> bool:
    """True if an assertion test is Python source (then a C++ answer cannot be judged by it)."""
    try:
        compile(test, "test.py", "exec")
    except (SyntaxError, ValueError):
        return False
    return True


def _forgeable_test(source: str, budget: _Budget, timeout_s: float, memory_mb: int
                    ) -> tuple[str | None, str]:
    binary, failure = _compile(source, budget)
    if failure:
        return failure
    limits = budget.limits(timeout_s, memory_mb)
    if limits is None:
        return "timeout", "the completion's time budget ran out"
    outcome = launch({"action": "exec", "binary": binary}, limits)
    if outcome.status == "ok":
        return None, ""
    return ("wrong_answer" if b"Assertion" in outcome.stderr else outcome.status), outcome.detail


def _compile(source: str, budget: _Budget) -> tuple[str, tuple[str, str] | None]:
    """Compile inside the sandbox; (base64 binary, None) or ("", (failure, detail))."""
    limits = budget.limits(COMPILE_TIMEOUT_S, COMPILE_MEMORY_MB, processes=16)
    if limits is None:
        return "", ("compile_timeout", "the completion's time budget ran out")
    orders = {"action": "compile", "output": "solution",
              "files": {"solution.cpp": base64.b64encode(source.encode()).decode()},
              "argv": ["/usr/bin/g++", "-std=c++20", "-O2", "-pipe", "-o", "solution",
                       "solution.cpp"]}
    build = launch(orders, Limits(limits.timeout_s, COMPILE_MEMORY_MB, 16, 64 << 20))
    if build.status != "ok":
        failure = "compile_error" if build.status == "crash" else "compile_" + build.status
        return "", (failure, build.stderr.decode("utf-8", "replace")[-500:])
    return base64.b64encode(build.stdout).decode(), None


def run_tests(code: str, tests: list[str], language: str = "python",
              timeout_s: float = TEST_TIMEOUT_S, memory_mb: int = MEMORY_MB,
              stop_at_first_failure: bool = True, budget_s: float | None = None,
              allow_forgeable_tests: bool = False) -> TestResult:
    """Run ``code`` against every test in the sandbox; never raises.

    ``timeout_s`` bounds each test; ``budget_s`` (default ``timeout_s``, plus the compile
    limit for C++) bounds the whole call, which returns within ``budget_s`` + 2 s.

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
    if budget_s is None:
        budget_s = timeout_s + (COMPILE_TIMEOUT_S if language == "cpp" else 0.0)
    budget = _Budget(budget_s)
    try:
        if language == "python":
            results = _python(code, list(tests), budget, timeout_s, memory_mb,
                              stop_at_first_failure)
        else:
            results = _cpp(code, list(tests), budget, timeout_s, memory_mb,
                           stop_at_first_failure, allow_forgeable_tests)
    except Exception as error:  # noqa: BLE001 - fail closed: a harness fault is a failed test
        log.warning("code_exec: harness error %r", error)
        results = [("harness_error", repr(error)[:300])]
    passed = min(sum(failure is None for failure, _ in results), len(tests))
    failure, detail = next(((f, d) for f, d in results if f is not None), (None, ""))
    return TestResult(failure is None and passed == len(tests), passed, len(tests), failure,
                      detail)


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
                  partial_credit: bool = False, budget_s: float = BUDGET_S,
                  allow_forgeable_tests: bool = False) -> list[float | None]:
    """Pass rate of each answer's first code block on its sampled tests; None: cannot score
    (no tests, or forgeable C++ assertion tests without ``allow_forgeable_tests``).

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
                           not partial_credit, budget_s, allow_forgeable_tests)
        return None if result.failure == "forgeable_test" else result.pass_rate

    return list(_executor().map(grade, answers, tests, seed_keys))
