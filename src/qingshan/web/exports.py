"""A bound on concurrent web exports, so that downloads cannot starve the gateway that runs
in the same process.

An export's rows are read and formatted in worker threads (Starlette iterates a synchronous
stream there), but they share the interpreter with the gateway's event loop: eight
year-long xlsx exports at once took device acknowledgements from 15 ms to 15 s. So at most
``web_export_concurrency`` exports run at once; the next caller gets 503 with
``Retry-After`` at once (no thread waits for a slot).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator


class ExportGate:
    def __init__(self, concurrency: int) -> None:
        self._slots = threading.BoundedSemaphore(concurrency)

    def try_enter(self) -> bool:
        return self._slots.acquire(blocking=False)

    def leave(self) -> None:
        self._slots.release()


def gated(chunks: Iterator[bytes], gate: ExportGate) -> Iterator[bytes]:
    """``chunks``, giving the gate's slot (taken by the caller) back when the stream ends,
    fails, or is dropped by a client that went away (the generator is closed)."""
    try:
        yield from chunks
    finally:
        gate.leave()
