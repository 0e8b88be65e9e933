"""The fork server (warm path): it survives hostile programs, forgets each one, and is shared
safely by threads. Root or a normal user's user namespace, like the strong path it serves."""

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from test_sandbox import _leftover_sandbox_processes

from rewards import sandbox
from rewards.sandbox import Limits

pytestmark = pytest.mark.skipif(not sandbox.capabilities().strong,
                                reason="the fork server needs root or user namespaces")


def _warm(code: str, test: str | None = None, **kwargs) -> sandbox.RunOutcome:
    outcome = sandbox.run_python(code, test, **kwargs)
    assert outcome.via == "warm", outcome
    return outcome


def _server_pid() -> int:
    _warm("pass")  # make sure it is running
    return sandbox.zygote().pid


def _is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_programs_cannot_kill_the_server_or_their_supervisor():
    pid = _server_pid()
    attacks = [f"import os\nos.kill({pid}, 9)", f"import os\nos.killpg({pid}, 9)"]
    if os.geteuid() == 0:  # in a user namespace the parent is the namespace's init, our uid:
        attacks.append("import os\nos.kill(os.getppid(), 9)")  # SIGKILL to it is ignored
    for attack in attacks:
        outcome = _warm(attack)
        assert outcome.status == "crash", attack
        # Not permitted (another uid), or not even visible (the run has its own pid namespace).
        assert b"PermissionError" in outcome.stderr or b"ProcessLookupError" in outcome.stderr
    assert _warm("import os\nos.kill(os.getppid(), 9)").status in ("ok", "crash")
    # Its own pid namespace holds nothing else it may signal: ESRCH, and nothing outside dies.
    assert b"ProcessLookupError" in _warm("import os\nos.kill(-1, 9)").stderr
    assert sandbox.zygote().pid == pid and _is_running(pid)
    assert _warm("x = 1", "assert x == 1").status == "ok"


def test_a_killed_server_is_replaced_transparently():
    pid = _server_pid()
    os.kill(pid, signal.SIGKILL)
    while _is_running(pid):
        time.sleep(0.01)
    assert _warm("x = 1", "assert x == 1").status == "ok"
    assert sandbox.zygote().pid not in {None, pid}


def test_a_run_in_flight_survives_the_server_dying():
    pid = _server_pid()
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(_warm, "import time\ntime.sleep(0.5)", "assert True")
        time.sleep(0.2)
        os.kill(pid, signal.SIGKILL)
        assert slow.result().status == "ok"
    assert _warm("pass").status == "ok"


def test_nothing_a_program_does_reaches_the_next_one():
    first = """
import builtins, json, math, os, subprocess, sys
builtins.len = lambda x: 0
json.LEAK = math.pi = 3
sys.modules['collections'] = None
open('left-here.txt', 'w').write('x')
open('/tmp/left-in-tmp', 'w').write('x')
if os.fork() == 0:
    os.setsid()
    os.execv('/bin/sleep', ['sleep', '60'])
"""
    _warm(first, "assert True")  # it breaks its own reply channel (len is patched): no matter
    second = """
import builtins, collections, json, math, os
assert len([1]) == 1 and not hasattr(json, 'LEAK') and math.pi > 3.14
assert os.listdir('.') == [] and not os.path.exists('/tmp/left-in-tmp')
"""
    assert _warm(second, "assert True").status == "ok"
    assert _leftover_sandbox_processes() == 0


def test_every_run_gets_its_own_uid_and_namespaces():
    probe = "import os, time\nprint(os.getuid(), os.stat('/tmp').st_dev)\ntime.sleep(0.3)"
    with ThreadPoolExecutor(3) as pool:  # alive together, so a device number is not reused
        seen = [outcome.stdout.split() for outcome in pool.map(_warm, [probe] * 3)]
    uids, temp_folders = {s[0] for s in seen}, {s[1] for s in seen}
    assert len(temp_folders) == 3  # each run has its own private /tmp
    assert len(uids) == (3 if os.geteuid() == 0 else 1)  # a user namespace: the user's own uid
    assert str(os.stat("/tmp").st_dev).encode() not in temp_folders


def test_concurrent_runs_from_several_threads():
    cases = [("def f():\n    return 1", "assert f() == 1", "ok"),
             ("def f():\n    return 2", "assert f() == 1", "wrong_answer"),
             ("import os\nos._exit(0)", "assert False", "exited_early"),
             ("import time\ntime.sleep(30)", "assert True", "timeout"),
             ("print('x' * 100)", None, "ok")] * 4
    barrier = threading.Barrier(8)

    def run(case):
        if barrier.n_waiting < 8 and not barrier.broken:
            try:
                barrier.wait(timeout=0.5)
            except threading.BrokenBarrierError:
                pass
        return _warm(case[0], case[1], limits=Limits(timeout_s=1)).status

    start = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(run, cases))
    assert statuses == [case[2] for case in cases]
    assert time.perf_counter() - start < 15  # four 1-s timeouts overlap, they do not queue
    assert _leftover_sandbox_processes() == 0
