import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from pebble.common import CONSTS

from rewards.worker_pool import HardTimeoutPool
from tests.rewards_sleepy_worker import hash_for_minutes, pid, sleep


def test_results_in_order_and_hung_task_is_killed_and_replaced():
    pool = HardTimeoutPool(sleep, size=2)
    try:
        pool.map([0.0, 0.0], timeout_s=30.0)  # workers started: startup is not task time
        start = time.perf_counter()
        assert pool.map([0.0, 30.0, 0.0, 0.1], timeout_s=1.0) == [0.0, None, 0.0, 0.1]
        assert time.perf_counter() - start < 5
        assert pool.map([0.0, 0.0, 0.0], timeout_s=1.0) == [0.0, 0.0, 0.0]  # worker replaced
    finally:
        pool.close()


def test_task_stuck_in_c_code_is_killed_at_its_deadline(monkeypatch):
    # pebble's own SIGTERM handler waits for the C call; pebble sends SIGKILL after term_timeout
    # (3 s), made a minute here so that only a worker dying on SIGTERM itself passes
    monkeypatch.setattr(CONSTS, "term_timeout", 60.0)
    pool = HardTimeoutPool(hash_for_minutes, size=1)
    try:
        start = time.perf_counter()
        assert pool.map([None], timeout_s=1.0) == [None]
        assert time.perf_counter() - start < 30
    finally:
        pool.close()


def test_crashing_task_gives_none_and_pool_survives():
    pool = HardTimeoutPool(sleep, size=1)
    try:
        assert pool.map([-1.0, 0.0], timeout_s=30.0) == [None, 0.0]
    finally:
        pool.close()


def test_workers_are_reused_across_calls():
    pool = HardTimeoutPool(pid, size=1)
    try:
        first = pool.map([None], timeout_s=30.0)
        assert pool.map([None, None], timeout_s=30.0) == first * 2
    finally:
        pool.close()


def test_worker_killed_between_batches_gives_a_new_pool():
    # pebble gives up on a pool when a worker dies without a task, and tasks still queued in it
    # stay pending for ever; they run on a new pool
    pool = HardTimeoutPool(pid, size=1)
    results = []
    try:
        [worker] = pool.map([None], timeout_s=30.0)
        os.kill(worker, signal.SIGKILL)
        items = ["x" * 20_000] * 50  # more than a pipe holds: some stay queued in pebble
        batch = threading.Thread(target=lambda: results.extend(pool.map(items, 30.0)),
                                 daemon=True)
        batch.start()
        batch.join(60)
        assert len(results) == 50 and None not in results and worker not in results
    finally:
        pool.close()


def test_usable_from_several_threads_at_once():
    pool = HardTimeoutPool(sleep, size=2)
    outputs = []
    threads = [threading.Thread(target=lambda: outputs.append(pool.map([0.0] * 5, 2.0)))
               for _ in range(3)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert outputs == [[0.0] * 5] * 3
    finally:
        pool.close()


_PARENT = """
import multiprocessing, os, signal, sys
from rewards.worker_pool import HardTimeoutPool
from tests.rewards_sleepy_worker import pid
assert HardTimeoutPool(pid, size=2).map([None] * 8, timeout_s=30.0)[0]
print(" ".join(str(p.pid) for p in multiprocessing.active_children()), flush=True)
if sys.argv[1] == "killed":
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _running(process_id: int) -> bool:
    try:
        return Path(f"/proc/{process_id}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_no_worker_outlives_its_parent():
    root = Path(__file__).resolve().parents[2]
    for ending in ("exits", "killed"):  # pool never closed; then the parent dies by SIGKILL
        child = subprocess.run([sys.executable, "-c", _PARENT, ending], capture_output=True,
                               text=True, cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
                               timeout=120)
        workers = [int(p) for p in child.stdout.split()]
        assert workers, child.stderr
        deadline = time.monotonic() + 10
        while any(map(_running, workers)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(map(_running, workers)), ending


def test_code_only_batches_do_not_need_pebble():
    # math_answer is imported and called with no math rows where pebble is not installed
    code = ("import sys; sys.modules['pebble'] = None; from rewards import math_answer; "
            "print(math_answer.check_many([], []))")
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root,
                          env={**os.environ, "PYTHONPATH": str(root)}, timeout=120)
    assert done.stdout.strip() == "[]", done.stderr
