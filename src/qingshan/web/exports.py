"""A bound on concurrent web exports, so that downloads cannot take the whole host.

An export's rows are read and formatted in worker threads (Starlette iterates a synchronous
stream there). When the web app shared the gateway's process, eight year-long xlsx exports
at once took device acknowledgements from 15 ms to 15 s; it now runs in a process of its own
(:mod:`qingshan.gateway.web_process`), but its exports still share the host's cores with the
gateway and the web app's interpreter with its other users. So at most
``web_export_concurrency`` exports run at once; the next caller gets 503 with
``Retry-After`` at once (no thread waits for a slot).

Each export is also bounded in rows (``web_export_max_rows``): a larger one is refused before
anything is streamed with a message to narrow it (422), and the stream itself stops at the
bound, so one request cannot hold a slot and the database for an unbounded time.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from urllib.parse import quote


class ExportGate:
    """Export slots, and the most records one export may hold (``web_export_max_rows``)."""

    def __init__(self, concurrency: int, max_rows: int = 500_000) -> None:
        self._slots = threading.BoundedSemaphore(concurrency)
        self.max_rows = max_rows

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


def attachment_disposition(name: str) -> str:
    """``Content-Disposition`` of a download named ``name`` (Chinese too): an ASCII fallback
    for old clients and the real name in ``filename*`` (RFC 6266, RFC 5987)."""
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
