"""Worker functions for tests/rewards/test_worker_pool.py (spawned workers import them by name)."""

import hashlib
import os
import time


def sleep(seconds: float) -> float:
    """Sleep for ``seconds``; a negative value makes the worker exit mid-task."""
    if seconds < 0:
        os._exit(3)
    time.sleep(seconds)
    return seconds


def pid(_: object) -> int:
    return os.getpid()


def hash_for_minutes(_: object) -> bytes:
    """Stay in one C call for minutes: Python signal handlers cannot run until it returns."""
    return hashlib.pbkdf2_hmac("sha256", b"password", b"salt", 2**31 - 1)
