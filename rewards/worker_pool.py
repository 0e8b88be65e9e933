"""Grade a batch on long-lived worker processes (pebble), each task under a hard deadline.

Why processes with a killable deadline: math-verify's own timeout uses ``signal.alarm``, which
only works on the main thread; TRL scores rewards on worker threads, where it silently turns
off, and one pathological expression could stall training. pebble's ``ProcessPool`` kills the
worker of a task that overruns, starts another and can be driven from any thread. This module
only adds what every caller would otherwise repeat:

- one result per task, ``None`` for a task that timed out, crashed or raised, so a reward batch
  always completes;
- a new pool when pebble gives up on one (it does when a worker dies between tasks), and the
  tasks that lost their pool run again once;
- ``spawn`` workers: a fork would copy the trainer, its memory and the locks its threads hold,
  from pebble's own thread; a spawned worker imports this package and the parent's main module;
- SIGTERM kills a worker at once: pebble's handler is Python code, which waits while a task is
  stuck in C code (a huge power), and pebble only sends SIGKILL 3 s later.

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
from concurrent.futures import Future
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
        futures = [self._schedule(item, timeout_s) for item in items]
        for index, future in enumerate(futures):
            if isinstance(future.exception(), BrokenProcessPool):
                futures[index] = self._schedule(items[index], timeout_s)  # on a new pool
        return [_result(future, timeout_s) for future in futures]

    def _schedule(self, item: Any, timeout_s: float) -> Future:
        from pebble import ProcessPool

        with self._lock:
            if self._pool is not None and not self._pool.active:
                log.warning("the worker pool broke (a worker died between tasks); restarting it")
                self._stop()
            if self._pool is None:
                self._pool = ProcessPool(self.size, initializer=_start_worker,
                                         initargs=(self.initializer,),
                                         context=multiprocessing.get_context("spawn"))
            return self._pool.schedule(self.function, (item,), timeout=timeout_s)

    def _stop(self) -> None:
        if self._pool is not None:
            self._pool.stop()
            self._pool.join()
            self._pool = None

    def close(self) -> None:
        """Stop every worker (a later ``map`` starts new ones)."""
        with self._lock:
            self._stop()


def _result(future: Future, timeout_s: float) -> Any:
    from pebble import ProcessExpired

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
