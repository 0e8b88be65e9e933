import threading
import time

from rewards.worker_pool import HardTimeoutPool


def test_results_in_order_and_hung_task_is_killed_and_replaced():
    pool = HardTimeoutPool("tests.rewards_sleepy_worker", size=2)
    try:
        start = time.perf_counter()
        assert pool.map([0.0, 30.0, 0.0, 0.1], timeout_s=1.0) == [0.0, None, 0.0, 0.1]
        assert time.perf_counter() - start < 5
        assert pool.map([0.0, 0.0, 0.0], timeout_s=1.0) == [0.0, 0.0, 0.0]  # workers replaced
    finally:
        pool.close()


def test_crashing_task_gives_none_and_pool_survives():
    pool = HardTimeoutPool("tests.rewards_sleepy_worker", size=1)
    try:
        assert pool.map([-1.0, 0.0], timeout_s=2.0) == [None, 0.0]
    finally:
        pool.close()


def test_usable_from_several_threads_at_once():
    pool = HardTimeoutPool("tests.rewards_sleepy_worker", size=2)
    outputs = []
    threads = [threading.Thread(target=lambda: outputs.append(pool.map([0.0] * 5, 2.0)))
               for _ in range(3)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert outputs == [[0.0] * 5] * 3
    finally:
        pool.close()
