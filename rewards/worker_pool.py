"""A small pool of long-lived worker processes whose every task has a hard, killable deadline.

Why not ``concurrent.futures``: a process pool there cannot stop a task that hangs, and
math-verify's own timeout uses ``signal.alarm``, which only works on the main thread; under a
trainer that scores rewards on a worker thread it silently turns off, and one pathological
expression can stall training or get every reward scored as 0. Here each worker is a plain
subprocess speaking JSON lines over pipes; a task that overruns its deadline gets its worker
killed (and replaced) and scores ``None``. Workers start once and are reused across calls, and
the pool can be driven from any thread (one batch at a time).
"""

from __future__ import annotations

import json
import logging
import os
import select
import selectors
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)


class _Worker:
    """One worker subprocess plus the bytes it has sent that do not yet form a full line."""

    def __init__(self, module: str) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_PACKAGE_PARENT, env.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            [sys.executable, "-m", module],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        self.buffer = b""
        self.task_index: int | None = None
        self.deadline = 0.0
        self._wait_until_ready()

    def _wait_until_ready(self, startup_s: float = 120.0) -> None:
        """Block until the worker has imported what it needs: startup is not a task's time."""
        ready, _, _ = select.select([self.process.stdout], [], [], startup_s)
        if ready:
            self.process.stdout.readline()

    def send(self, task_index: int, payload: Any, timeout_s: float) -> bool:
        """Send one task; False if the worker has died and cannot take it."""
        self.task_index, self.deadline = task_index, time.monotonic() + timeout_s
        try:
            self.process.stdin.write(json.dumps(payload).encode() + b"\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            return False
        return True

    def kill(self) -> None:
        try:
            os.killpg(self.process.pid, 9)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            stream.close()


class HardTimeoutPool:
    """Run JSON tasks on ``size`` worker processes started with ``python -m <module>``.

    The worker module must loop: read a JSON line from stdin, write one JSON line to stdout.

    >>> pool = HardTimeoutPool("rewards.math_answer", size=1)  # doctest: +SKIP
    >>> pool.map([{"answer": "1/2", "reference": "0.5"}], timeout_s=5)  # doctest: +SKIP
    [True]
    """

    def __init__(self, module: str, size: int | None = None) -> None:
        self.module = module
        self.size = size or max(1, min(os.cpu_count() or 1, 8))
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()

    def map(self, payloads: Sequence[Any], timeout_s: float) -> list[Any]:
        """Return each task's result in order; ``None`` for a task that timed out or crashed."""
        if not payloads:
            return []
        with self._lock:
            while len(self._workers) < min(self.size, len(payloads)):
                self._workers.append(_Worker(self.module))
            return self._run_batch(list(payloads), timeout_s)

    def _run_batch(self, payloads: list[Any], timeout_s: float) -> list[Any]:
        results: list[Any] = [None] * len(payloads)
        pending = iter(range(len(payloads)))
        busy: dict[int, _Worker] = {}
        selector = selectors.DefaultSelector()

        def assign(worker: _Worker) -> None:
            index = next(pending, None)
            if index is None:
                return  # nothing left: the worker stays idle
            if not worker.send(index, payloads[index], timeout_s):
                worker = self._replace(worker)  # it had died between batches; retry once
                worker.send(index, payloads[index], timeout_s)
            busy[worker.process.stdout.fileno()] = worker
            selector.register(worker.process.stdout, selectors.EVENT_READ, worker)

        for worker in list(self._workers):
            assign(worker)
        while busy:
            now = time.monotonic()
            wait_s = max(0.0, min(w.deadline for w in busy.values()) - now)
            for key, _ in selector.select(timeout=wait_s):
                worker: _Worker = key.data
                if self._read_result(worker, results):
                    self._release(worker, busy, selector)
                    assign(worker)
            for worker in [w for w in busy.values() if w.deadline <= time.monotonic()]:
                log.warning("reward worker task %s ran past %.1f s; killed", worker.task_index,
                            timeout_s)
                self._release(worker, busy, selector)
                assign(self._replace(worker))
        selector.close()
        return results

    def _read_result(self, worker: _Worker, results: list[Any]) -> bool:
        """Read what the worker sent; True once its answer (or its death) is in ``results``."""
        chunk = os.read(worker.process.stdout.fileno(), 1 << 16)
        if not chunk:  # the worker died mid-task: the task scores None
            worker.deadline = 0.0
            return False
        worker.buffer += chunk
        if b"\n" not in worker.buffer:
            return False
        line, _, worker.buffer = worker.buffer.partition(b"\n")
        try:
            results[worker.task_index] = json.loads(line)
        except ValueError:
            results[worker.task_index] = None
        return True

    @staticmethod
    def _release(worker: _Worker, busy: dict[int, _Worker], selector: selectors.BaseSelector
                 ) -> None:
        busy.pop(worker.process.stdout.fileno(), None)
        selector.unregister(worker.process.stdout)

    def _replace(self, worker: _Worker) -> _Worker:
        worker.kill()
        fresh = _Worker(self.module)
        self._workers[self._workers.index(worker)] = fresh
        return fresh

    def close(self) -> None:
        """Stop every worker."""
        with self._lock:
            for worker in self._workers:
                worker.kill()
            self._workers.clear()


def serve(handle: Callable[[Any], Any]) -> None:
    """Worker side: say ready, then answer each JSON line on stdin with one JSON line."""
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for line in sys.stdin.buffer:
        try:
            result = handle(json.loads(line))
        except Exception:  # noqa: BLE001 - a bad task must not take the worker down
            result = None
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()
