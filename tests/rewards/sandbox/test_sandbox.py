"""Adversarial programs: each must end in a clean failure, never a pass, hang or damage.

These run on CI (root, Debian), where the strong sandbox path must be the one in use. Each
runs twice: on the warm path (forked by the fork server) and on the fresh-process path.
"""

import os
import time
from pathlib import Path

import pytest

from rewards import sandbox
from rewards.sandbox import Limits, capabilities

STRONG = os.geteuid() == 0
# Namespaces need root or a normal user's user namespace (capabilities().mode "user").
strong_only = pytest.mark.skipif(not capabilities().strong,
                                 reason="no namespaces here (neither root nor user namespaces)")


@pytest.fixture
def run_python(sandbox_path):
    """``sandbox.run_python`` pinned to one path, failing if a run took the other one."""
    def run(*args, **kwargs):
        outcome = sandbox.run_python(*args, **kwargs)
        assert outcome.via == sandbox_path, outcome
        return outcome
    return run


def _is_sandbox_process(entry: Path) -> bool:
    """As root: owned by a throwaway uid. As a normal user (runs under our own uid): one of our
    processes in another pid namespace than ours, i.e. inside a run."""
    if STRONG:
        return entry.stat().st_uid >= 100_000
    return (entry.stat().st_uid == os.getuid()
            and os.readlink(entry / "ns" / "pid") != os.readlink("/proc/self/ns/pid"))


def _live_sandbox_processes() -> int:
    """Running sandbox processes (zombies awaiting their reaper do not count)."""
    count = 0
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and _is_sandbox_process(entry):
                count += (entry / "stat").read_text().rpartition(")")[2].split()[0] != "Z"
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            pass
    return count


def _leftover_sandbox_processes() -> int:
    """Give SIGKILL a moment to land, then count what is still running."""
    deadline = time.monotonic() + 1.0
    while (count := _live_sandbox_processes()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return count


@pytest.mark.skipif(not STRONG, reason="root only")
def test_strong_path_is_used_when_root():
    assert capabilities().strong and capabilities().mode == "root", capabilities().notes


def test_passing_requires_the_test_to_run_to_completion(run_python):
    assert run_python("def f():\n    return 1", "assert f() == 1").status == "ok"
    assert run_python("def f():\n    return 2", "assert f() == 1").status == "wrong_answer"
    early_exits = ["import os\nos._exit(0)", "raise SystemExit(0)", "import sys\nsys.exit()",
                   "print('ok')\nimport os\nos._exit(0)"]
    for code in early_exits:
        assert run_python(code, "assert False").status == "exited_early", code


def test_patching_builtins_or_the_harness_does_not_fake_a_pass(run_python):
    patch_assert = "import builtins\nbuiltins.AssertionError = type('Nope', (Exception,), {})"
    assert run_python(patch_assert, "assert False").status == "wrong_answer"
    patch_exit = "import os, sys\nos._exit = lambda code: None\nsys.exit = lambda *a: None"
    assert run_python(patch_exit, "assert 1 == 2").status == "wrong_answer"
    forge = "import os\nfor fd in range(3, 64):\n    try: os.write(fd, b'0' * 32 + b' ok ')\n" \
            "    except OSError: pass\nos._exit(0)"
    assert run_python(forge, "assert False").status in {"exited_early", "crash", "not_plain_data"}


def test_infinite_loop_is_killed_at_the_deadline(run_python):
    start = time.perf_counter()
    outcome = run_python("while True:\n    pass", limits=Limits(timeout_s=1))
    assert outcome.status == "timeout"
    assert time.perf_counter() - start < 4


def test_memory_bomb(run_python):
    assert run_python("x = bytearray(2 << 30)").status == "memory"
    assert run_python("x = []\nwhile True:\n    x.append(' ' * 10**6)").status == "memory"


def test_hundred_megabytes_of_output_is_cut_off(run_python):
    outcome = run_python("import sys\nfor _ in range(100):\n    sys.stdout.write('x' * 2**20)")
    assert outcome.status == "output_limit"
    assert len(outcome.stdout) <= Limits().output_bytes


@strong_only
def test_fork_bomb_is_contained_and_cleaned_up(run_python):
    bomb = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
    start = time.perf_counter()
    outcome = run_python(bomb, limits=Limits(timeout_s=1))
    assert outcome.status in {"timeout", "crash"}
    assert time.perf_counter() - start < 5
    assert _leftover_sandbox_processes() == 0


@strong_only
def test_daemonized_child_is_killed_after_the_run(run_python):
    escape = "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(60)\n"
    # Without a memory cgroup (a user namespace, or root without cgroup v1) no run may fork.
    assert run_python(escape, "assert True").status == ("ok" if capabilities().cgroup
                                                         else "crash")
    assert _leftover_sandbox_processes() == 0


@strong_only
def test_no_network(run_python):
    code = "import socket\ns = socket.socket()\ns.settimeout(1)\ns.connect(('1.1.1.1', 53))"
    outcome = run_python(code)
    assert outcome.status == "crash" and b"unreachable" in outcome.stderr.lower()


@strong_only
def test_cannot_write_outside_its_directory_or_kill_the_parent(run_python, tmp_path):
    target = tmp_path / "pwned"
    write = f"open({str(target)!r}, 'w').write('x')"
    assert run_python(write).status == "crash"
    assert run_python("open('/tmp/rewards-pwned', 'w').write('x')").status == "ok"  # private /tmp
    assert not target.exists() and not Path("/tmp/rewards-pwned").exists()
    # As root the parent (the run's pid-namespace init) belongs to another uid: EPERM. In a
    # user namespace it is ours, and the kernel ignores SIGKILL sent to a namespace's init
    # from inside it: either way the run still ends normally and is reported.
    killed = run_python("import os\nos.kill(os.getppid(), 9)\nprint('alive')")
    assert killed.status == "crash" if STRONG else killed.stdout == b"alive\n", killed
    assert run_python("open('here.txt', 'w').write('fine')").status == "ok"


def test_environment_is_scrubbed(run_python, monkeypatch):
    monkeypatch.setenv("REWARDS_TEST_SECRET", "hunter2")
    assert run_python("import os\nassert 'REWARDS_TEST_SECRET' not in os.environ").status == "ok"
