"""Shared pieces of the adversarial sandbox corpus (tests/test_sandbox_attacks*.py).

Only the public grading API is used (``rewards.code_exec.run_tests``), so the corpus outlives
any rewrite of the sandbox internals. Attack programs are source text: what a policy could write.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import threading
from functools import cache
from pathlib import Path

import rewards
from rewards.code_exec import TestResult, run_tests

CHECKOUT = Path(rewards.__file__).resolve().parents[1]
MBPP_FILE = CHECKOUT.parent / "shared" / "data" / "mbpp_sanitized.jsonl"
# Where a policy could look for the reference data or the project: every spelling of it.
SECRET_PATHS = sorted({str(MBPP_FILE), str(MBPP_FILE.resolve()), "/work/shared/data",
                       "/work/shared/data/mbpp_sanitized.jsonl", "/work/main", str(CHECKOUT),
                       str(CHECKOUT / "rewards"), "/root", str(Path.home())})
TIMEOUT_S = 2  # small, but far above what each attack needs


@cache
def mbpp(task_id: int) -> dict:
    """One real MBPP task (its ``code`` is the honest reference, ``test_list`` the tests)."""
    with open(MBPP_FILE, encoding="utf-8") as rows:
        for line in rows:
            row = json.loads(line)
            if row["task_id"] == task_id:
                return row
    raise KeyError(task_id)


def reference(task_id: int) -> str:
    """The honest solution (this copy of MBPP lacks ``test_imports``; a few tests need math)."""
    return "import math\n" + mbpp(task_id)["code"]


def io_test(stdin: str, stdout: str) -> str:
    return json.dumps({"input": stdin, "output": stdout})


def bounded_run(code: str, tests: list[str], bound_s: float, **kwargs) -> TestResult:
    """``run_tests`` under a watchdog: it must return (not raise, not hang) within ``bound_s``."""
    box: dict = {}

    def call() -> None:
        try:
            box["result"] = run_tests(code, tests, **kwargs)
        except BaseException as error:  # noqa: BLE001 - reported below as the test's failure
            box["error"] = error

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    worker.join(bound_s)
    if worker.is_alive():
        _unblock_fifos()  # let the stuck grader thread finish instead of leaking it
        raise AssertionError(f"run_tests hung: no result after {bound_s} s")
    assert "error" not in box, f"run_tests raised {box.get('error')!r}"
    assert isinstance(box["result"], TestResult), box["result"]
    return box["result"]


def _unblock_fifos() -> None:
    """Open every FIFO under the temp dir (both ends), so a grader blocked on one wakes up."""
    for root, _, names in os.walk(tempfile.gettempdir()):
        for name in names:
            path = os.path.join(root, name)
            try:
                if stat.S_ISFIFO(os.lstat(path).st_mode):
                    for flags in (os.O_RDONLY | os.O_NONBLOCK, os.O_RDWR | os.O_NONBLOCK):
                        os.close(os.open(path, flags))
            except OSError:
                pass


def attack(code: str, tests: list[str], language: str = "python", **kwargs) -> TestResult:
    """Grade an attack with the corpus's limits; it must come back within the deadline."""
    kwargs.setdefault("timeout_s", TIMEOUT_S)
    bound = len(tests) * (kwargs["timeout_s"] + 1) + 4
    return bounded_run(code, tests, bound, language=language, **kwargs)


@cache
def _reference_passes(code: str, tests: tuple[str, ...], language: str, path: str) -> bool:
    return run_tests(code, list(tests), language=language, timeout_s=TIMEOUT_S).passed


def assert_honest_passes(code: str, tests: list[str], path: str, language: str = "python"
                         ) -> None:
    """The control: an honest program passes the same tests on the same sandbox path."""
    assert _reference_passes(code, tuple(tests), language, path), "the honest control failed"


def leaks(program: str, secret: str, language: str = "python", **kwargs) -> bool:
    """True if ``program`` (which prints what it found) got ``secret`` out of the sandbox: the
    grader then gives full reward for the "task" of printing it."""
    return attack(program, [io_test("", secret)], language, **kwargs).passed


def python_literal(value) -> str:
    """``value`` as Python source, to bake host facts (paths, ports) into an attack program."""
    return repr(value)
