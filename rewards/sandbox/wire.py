"""Framed messages between the judge and the candidate process, with deadlines.

Each message is a 4-byte big-endian length and that many bytes of ``plaindata``. Both ends use
these functions; only the judge's reads carry a deadline and a size limit it trusts. Standard
library only: it runs inside the sandbox.
"""

import os
import select
import struct
import time

_HEADER = struct.Struct(">I")


class Stop(BaseException):  # a BaseException: a test's `except Exception` cannot swallow it
    """Ends a test with a failure kind (timeout, not_plain_data, crash, exited_early)."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(kind, detail)
        self.kind, self.detail = kind, detail


def send(fd: int, data: bytes, deadline: float | None = None) -> None:
    """Write one framed message; on a non-blocking ``fd``, Stop at ``deadline``."""
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([], [fd], [], remaining)[1]:
                raise Stop("timeout", "the program stopped reading its calls")
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            continue


def receive(fd: int, deadline: float | None, limit: int) -> bytes:
    """One framed message, or Stop on timeout, hang-up or an oversized frame."""
    data = bytearray()
    need = _HEADER.size
    while len(data) < need:
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and (
                remaining <= 0 or not select.select([fd], [], [], remaining)[0]):
            raise Stop("timeout", "the call did not return in time")
        chunk = os.read(fd, min(need - len(data), 1 << 20))
        if not chunk:
            raise Stop("crash", "the program ended during a call")
        data += chunk
        if need == _HEADER.size and len(data) == need:
            need += _HEADER.unpack(data)[0]
            if need > limit:
                raise Stop("not_plain_data", "reply too large")
    return bytes(data[_HEADER.size:])
