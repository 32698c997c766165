"""A small time-to-live cache with single flight, kept on the application's state.

The cockpit and the map poll; every viewer within a few seconds shares one computation, and a
slow recomputation never piles viewers up on the database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from fastapi import Request

CACHE_SECONDS = 5.0


class TTLCache:
    """Results younger than ``ttl`` are served as they are; an older one is still served
    while one thread recomputes it (single flight: concurrent viewers never pile up on the
    database). Only the very first request of a key waits for the computation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, tuple[float, Any]] = {}
        self._busy: dict[str, threading.Lock] = {}

    def fresh(self, key: str, ttl: float = CACHE_SECONDS) -> Any | None:
        """The cached value if younger than ``ttl`` (never blocks)."""
        with self._lock:
            hit = self._data.get(key)
        return hit[1] if hit is not None and time.monotonic() - hit[0] < ttl else None

    def get(self, key: str, make: Callable[[], Any], ttl: float = CACHE_SECONDS) -> Any:
        with self._lock:
            hit = self._data.get(key)
            busy = self._busy.setdefault(key, threading.Lock())
        if hit is not None and time.monotonic() - hit[0] < ttl:
            return hit[1]
        if hit is not None and not busy.acquire(blocking=False):
            return hit[1]  # someone is refreshing it: the slightly old value will do
        if hit is None:
            busy.acquire()
            with self._lock:
                hit = self._data.get(key)
            if hit is not None and time.monotonic() - hit[0] < ttl:
                busy.release()
                return hit[1]
        try:
            value = make()
            with self._lock:
                self._data[key] = (time.monotonic(), value)
            return value
        finally:
            busy.release()


def app_cache(request: Request) -> TTLCache:
    """The application's cache (created on first use)."""
    st = request.app.state
    if not hasattr(st, "qingshan_cache"):
        st.qingshan_cache = TTLCache()
    c: TTLCache = st.qingshan_cache
    return c
