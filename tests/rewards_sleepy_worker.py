"""A worker for tests/test_worker_pool.py: sleeps for the given seconds; a negative value exits."""

import os
import time

from rewards.worker_pool import serve


def _sleep(seconds: float) -> float:
    if seconds < 0:
        os._exit(3)
    time.sleep(seconds)
    return seconds


if __name__ == "__main__":
    serve(_sleep)
