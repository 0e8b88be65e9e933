"""Grade a batch on long-lived worker processes (pebble), each task under a hard deadline.

Why processes with a killable deadline: math-verify's own timeout uses ``signal.alarm``, which
only works on the main thread; TRL scores rewards on worker threads, where it silently turns
off, and one pathological expression could stall training. pebble's ``ProcessPool`` kills the
worker of a task that overruns, starts another and can be driven from any thread. This module
only adds what every caller would otherwise repeat:

- one result per task, ``None`` for a task that timed out, crashed or raised, so a reward batch
  always completes;
- a new pool when pebble gives up on one (it does when a worker dies between tasks); the tasks
  that lost it, those still queued there included (pebble leaves them pending for ever), run
  again once;
- ``spawn`` workers: a fork would copy the trainer, its memory and the locks its threads hold,
  from pebble's own thread. As multiprocessing does, a spawned worker imports the parent's main
  module (and what it imports at the top, torch included: docs/benchmarks.md has the cost), so
  a script that grades at import time needs an ``if __name__ == "__main__":`` guard;
- SIGTERM kills a worker at once: pebble's handler is Python code, which waits while a task is
  stuck in one long C call, and pebble only sends SIGKILL 3 s later.

pebble is imported when the first task is scheduled: code-only reward batches import this module
too, also where it is not installed (the sandbox suite run as another uid, .ci/sandbox_as_user.sh).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pebble import ProcessPool

log = logging.getLogger(__name__)


class HardTimeoutPool:
    """Run ``function`` on each item in ``size`` worker processes that live across calls.

    ``initializer`` runs once in each new worker, before its first task (imports belong there:
    a deadline counts task time only). ``function`` and ``initializer`` must be importable
    module-level functions.

    >>> import math
    >>> pool = HardTimeoutPool(math.sqrt, size=1)
    >>> pool.map([4.0, -1.0], timeout_s=30)  # math.sqrt(-1.0) raises: None
    [2.0, None]
    >>> pool.close()
    """

    def __init__(self, function: Callable[[Any], Any], size: int | None = None,
                 initializer: Callable[[], None] | None = None) -> None:
        self.function = function
        self.size = size or max(1, min(os.cpu_count() or 1, 8))
        self.initializer = initializer
        self._pool: ProcessPool | None = None
        self._lock = threading.Lock()

    def map(self, items: Sequence[Any], timeout_s: float) -> list[Any]:
        """Each item's result in order; ``None`` for a task that timed out, crashed or raised."""
        if not items:
            return []
        pool, futures = self._submit(items, timeout_s)
        lost = _lost(pool, futures)
        if lost:  # the pool broke under them: once more, on a new pool
            pool, retried = self._submit([items[i] for i in lost], timeout_s)
            _lost(pool, retried)
            for index, future in zip(lost, retried, strict=True):
                futures[index] = future
        return [_result(future, timeout_s) for future in futures]

    def _submit(self, items: Sequence[Any], timeout_s: float) -> tuple[ProcessPool, list[Future]]:
        from pebble import ProcessPool

        with self._lock:
            if self._pool is not None and not self._pool.active:
                log.warning("the worker pool broke (a worker died between tasks); restarting it")
                self._stop()
            if self._pool is None:
                self._pool = ProcessPool(self.size, initializer=_start_worker,
                                         initargs=(self.initializer,),
                                         context=multiprocessing.get_context("spawn"))
            return self._pool, [self._pool.schedule(self.function, (item,), timeout=timeout_s)
                                for item in items]

    def _stop(self) -> None:
        if self._pool is not None:
            self._pool.stop()
            self._pool.join()
            self._pool = None

    def close(self) -> None:
        """Stop every worker (a later ``map`` starts new ones)."""
        with self._lock:
            self._stop()


def _lost(pool: ProcessPool, futures: list[Future]) -> list[int]:
    """Wait for the futures; the indices of those the pool broke under (unfinished ones too:
    pebble leaves the tasks still queued in a broken pool pending for ever)."""
    pending = set(futures)
    while pending and pool.active:
        pending = wait(pending, timeout=1.0).not_done
    return [index for index, future in enumerate(futures)
            if not future.done() or isinstance(future.exception(), BrokenProcessPool)]


def _result(future: Future, timeout_s: float) -> Any:
    from pebble import ProcessExpired

    if not future.done():
        log.warning("a task was lost with its worker pool")
        return None
    error = future.exception()
    if error is None:
        return future.result()
    if isinstance(error, TimeoutError):
        log.warning("a worker task ran past %.1f s; its worker was killed", timeout_s)
    elif isinstance(error, ProcessExpired):
        log.warning("a worker died during its task (exit code %s)", error.exitcode)
    else:
        log.debug("a worker task failed: %r", error)
    return None


def _start_worker(initializer: Callable[[], None] | None) -> None:
    """Worker side: let SIGTERM kill at once, then run the caller's set-up."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if initializer is not None:
        initializer()
