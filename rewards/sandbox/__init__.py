"""Run untrusted programs so that no policy output can hurt the machine or forge a verdict.

Threat model: during RL every completion is written by an adversary that is paid for passing
tests. It may rebind built-ins, walk frames, return objects that equal everything, read any file
it can see, plant links and FIFOs for the grader, fork, allocate, loop, print megabytes, exit
early from a static initialiser, or attack the training host. The design rule that answers all
of the forgery classes at once: **expected answers never enter the sandbox, and verdicts are
computed outside it from plain data.**

- Input/output tests: the program gets stdin and hands back stdout; the launcher compares.
- Assertion tests (MBPP, HumanEval ``check``): the test code runs in a separate judge process;
  every call into the program crosses as plain data (``plaindata.py``), objects of the program
  stay in its process behind handles (``candidate.py``, ``remote.py``), so the program never
  sees a test or an expected value and never decides an equality the verdict rests on
  (``judge.py``).
- Native code: compiled once per completion inside the sandbox, then run per test. Assertion
  style C++ tests can only be judged by exit status, so they are *forgeable* and refused unless
  the caller opts in (``rewards.code_exec``).

Containment of every run (``harness.py``, ``launcher.py``, ``lockdown.py``), by mode
(``capabilities().mode``, printed by ``reasoning-rl doctor``):

- ``root``: fresh network, mount, IPC, UTS and pid namespaces; a new root holding only
  read-only system folders, the interpreter's prefix, a few device nodes and a private tmpfs
  ``/tmp`` (no checkout, data, home folders, ``/proc``, ``/run`` or host temp folders); a
  throwaway uid per process role; rlimits; one memory cgroup for all processes of the run
  (where cgroup v1 is writable); every process of the run's uids killed at the end.
- ``user`` (a normal user): the same namespaces and new root inside an unprivileged user
  namespace that maps only the user's own uid, with every capability dropped before the
  program runs; rlimits instead of the throwaway uids and the cgroup (no forking, per-process
  memory limit); the judge is not dumpable, so the program cannot trace it.
- both: a seccomp filter refuses tracing, namespace, mount, module, bpf and keyring calls.
- ``weak``: rlimits, a process group, a temp folder, a clean environment and the seccomp
  filter only; training with code rewards refuses to start there unless the recipe sets
  ``run.unsafe_weak_code_sandbox`` (``isolation.py``).

The grader never writes into a run's folders: sources, binaries and stdin arrive in the orders
or as descriptors, and the program's process holds no inherited descriptor but 0-2 (and, in a
judged run, its two pipes to the judge).

Python runs are forked by a warm fork server (``zygote.py`` here, ``forkserver.py`` inside):
cheaper than a fresh interpreter, with every guarantee above applied afresh per run; runs the
server cannot take fall back to a fresh interpreter, counted in ``stats()`` and logged.
Residual risks are listed in docs/sandbox.md.
"""

from __future__ import annotations

import json

from rewards.sandbox.launcher import (
    Capabilities,
    Limits,
    RunOutcome,
    capabilities,
    launch,
    stats,
    zygote,
)

__all__ = ["Capabilities", "Limits", "RunOutcome", "capabilities", "judge",
           "launch", "run_python", "stats", "zygote"]


_DEFAULT_LIMITS = Limits()


def run_python(code: str, test: str | None = None, stdin: bytes | None = None,
               limits: Limits = _DEFAULT_LIMITS) -> RunOutcome:
    """Run Python ``code`` with ``stdin``; with ``test``, judge that assertion test against it.

    >>> run_python("print(int(input()) * 2)", stdin=b"21").stdout
    b'42\\n'
    >>> run_python("def f(x):\\n    return 2 * x", "assert f(2) == 4").status
    'ok'
    """
    if test is not None:
        return judge(code, [test], limits)
    return launch({"action": "python", "code": code}, limits, stdin)


def judge(code: str, tests: list[str], limits: Limits = _DEFAULT_LIMITS,
          test_timeout_s: float = 4.0, stop_at_first_failure: bool = True) -> RunOutcome:
    """Run assertion ``tests`` against ``code`` (see ``judge.py``); ``limits.timeout_s`` is the
    budget of the whole run, each test also stops after ``test_timeout_s``.

    >>> [kind for kind, _ in judge("def f():\\n    return 1", ["assert f() == 1",
    ...                             "assert f() == 2"], stop_at_first_failure=False).verdicts]
    ['ok', 'wrong_answer']
    """
    orders = {"action": "judge", "code": code, "test_timeout_s": test_timeout_s,
              "stop_at_first_failure": stop_at_first_failure}
    # The tests travel as the run's stdin (a memfd) that only the judge reads, after the
    # program's process was forked without it: they are never in the program's memory.
    return launch(orders, limits, json.dumps([str(test) for test in tests]).encode())
