"""Caches kept on the application's state.

:class:`TTLCache`: a small time-to-live cache with single flight (parts of payloads, e.g. the
year-to-date air figures). :class:`VersionedCache`: the cockpit, map and public payloads,
computed once per data version (:mod:`qingshan.services.data_version`) and served with a strong
ETag, ``304 Not Modified`` to a client that already holds them; a slow recomputation never
stalls viewers (they get the previous payload meanwhile) nor piles them up on the database.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool

CACHE_SECONDS = 5.0
log = logging.getLogger("qingshan.web.cache")


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


# --------------------------------------------------------------------------- versioned payloads

VERSION_PROBE_SECONDS = 1.0  # how long one probe of the data version is trusted
MIN_RECOMPUTE_SECONDS = 5.0  # a payload is recomputed at most this often, whatever changes
MAX_AGE_SECONDS = 300.0  # ... and at least this often (edits the version does not count)
MAX_ENTRIES = 512  # payloads kept per process (chart series of many sites and ranges)


@dataclass(frozen=True, slots=True)
class Payload:
    """A serialised answer: the exact bytes, their strong ETag, the data version they show."""

    body: bytes
    etag: str
    version: str
    made: float  # the cache's clock when computed


def strong_etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


class VersionedCache:
    """Payloads computed once per data version and served with validators.

    ``probe`` returns the current data version (:func:`qingshan.services.data_version.
    data_version`); it runs at most once per ``probe_seconds`` per process. :meth:`lookup`
    probes in the background and judges by the last probe meanwhile (as :meth:`get` does
    while another thread probes); with no probe running and the last one older than twice
    ``probe_seconds``, requests go to :meth:`get`, which probes first.

    A payload whose version is current is served as it is. When the version has moved, the
    previous payload is still served at once while one background thread computes the new
    one (single flight per key; viewers never wait for a recomputation). Only the very first
    request of a key (after start-up) waits. A payload is recomputed at most every
    ``min_seconds`` (data arriving every second must not keep a core busy) and at least every
    ``max_seconds``.

    :meth:`lookup` never blocks and never touches the database: the ASGI fast path
    (:mod:`qingshan.web.fastpath`) answers from it in the event loop.

    The ETag is a digest of the bytes (strong: equal tags, equal bytes), so a client holding a
    payload that is still current gets ``304 Not Modified`` (:func:`cached_json`).
    """

    def __init__(
        self,
        probe: Callable[[], str],
        *,
        probe_seconds: float = VERSION_PROBE_SECONDS,
        min_seconds: float = MIN_RECOMPUTE_SECONDS,
        max_seconds: float = MAX_AGE_SECONDS,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.probe = probe
        self.max_entries = max_entries
        self.probe_seconds = probe_seconds
        self.min_seconds = min_seconds
        self.max_seconds = max_seconds
        self.clock = clock
        self.computations = 0  # how many payloads were computed (tests, health)
        self.probes = 0  # how many times the version was read (tests)
        self._lock = threading.Lock()
        self._version: tuple[float, str] | None = None
        self._probing = threading.Lock()
        self._data: dict[str, Payload] = {}
        self._makers: dict[str, Callable[[], bytes]] = {}
        self._busy: dict[str, threading.Lock] = {}
        self._pool = ThreadPoolExecutor(2, thread_name_prefix="qingshan-payloads")
        # Probes apart: two long recomputations must not hold the next probe back.
        self._prober = ThreadPoolExecutor(1, thread_name_prefix="qingshan-version")

    def _probe(self) -> str:
        fresh = self.probe()
        with self._lock:
            self._version = (self.clock(), fresh)
            self.probes += 1
        return fresh

    def _probe_in_background(self) -> None:
        try:
            self._probe()
        except Exception:  # the last version stays; the next request tries again
            log.exception("probing the data version failed")
        finally:
            self._probing.release()

    def version(self) -> str:
        """The current data version (a probe at most every ``probe_seconds``; while another
        thread probes, the last version)."""
        with self._lock:
            v = self._version
        if v is not None and self.clock() - v[0] < self.probe_seconds:
            return v[1]
        if v is not None and not self._probing.acquire(blocking=False):
            return v[1]  # another thread is probing: the last version will do
        if v is None:
            self._probing.acquire()
        try:
            return self._probe()
        finally:
            self._probing.release()

    def _current(self, hit: Payload, version: str) -> bool:
        age = self.clock() - hit.made
        return (hit.version == version and age < self.max_seconds) or age < self.min_seconds

    def lookup(self, key: str) -> Payload | None:
        """The payload to serve for ``key`` now, without blocking or touching the database:
        current, or the previous one while a background thread recomputes it (started here
        when needed). None when the caller must wait: no payload yet, or the last probe older
        than twice ``probe_seconds`` with none running."""
        with self._lock:
            hit = self._data.get(key)
            v = self._version
            make = self._makers.get(key)
        if hit is None or v is None or make is None:
            return None
        age = self.clock() - v[0]
        if age >= self.probe_seconds and self._probing.acquire(blocking=False):
            if age >= 2 * self.probe_seconds:
                # Too old to judge by and nobody probing (or probe_seconds = 0, as in tests:
                # every request probes): the caller goes to get(), which probes first.
                self._probing.release()
                return None
            self._prober.submit(self._probe_in_background)
        # (A probe already running: judged by the last version meanwhile, as get() would.)
        if not self._current(hit, v[1]):
            self._start_refresh(key, make, v[1])
        return hit

    def peek(self, key: str) -> Payload | None:
        """The payload of ``key`` if it is current by the last probe (never blocks, never
        starts anything)."""
        with self._lock:
            hit = self._data.get(key)
            v = self._version
        if hit is None or v is None or self.clock() - v[0] >= self.probe_seconds:
            return None
        return hit if self._current(hit, v[1]) else None

    def _start_refresh(self, key: str, make: Callable[[], bytes], version: str) -> None:
        with self._lock:
            busy = self._busy.setdefault(key, threading.Lock())
        if busy.acquire(blocking=False):  # this caller starts the recomputation
            self._pool.submit(self._refresh, key, make, version, busy)

    def get(self, key: str, make: Callable[[], bytes]) -> Payload:
        """The payload of ``key``: current, or the previous one while a new one computes."""
        version = self.version()
        with self._lock:
            hit = self._data.get(key)
            busy = self._busy.setdefault(key, threading.Lock())
            self._makers.setdefault(key, make)
        if hit is not None:
            if self._current(hit, version):
                return hit
            if busy.acquire(blocking=False):  # this caller starts the recomputation
                self._pool.submit(self._refresh, key, make, version, busy)
            return hit  # stale by one version at most: served while the new one computes
        with busy:  # the first request of a key waits (single flight)
            with self._lock:
                hit = self._data.get(key)
            if hit is not None:
                return hit
            return self._compute(key, make, version)

    def _compute(self, key: str, make: Callable[[], bytes], version: str) -> Payload:
        body = make()
        out = Payload(body, strong_etag(body), version, self.clock())
        with self._lock:
            self._data[key] = out
            self._makers[key] = make
            self.computations += 1
            if len(self._data) > self.max_entries:  # drop the oldest (never a busy key's lock)
                oldest = min(self._data, key=lambda k: self._data[k].made)
                del self._data[oldest]
                self._makers.pop(oldest, None)
        return out

    def _refresh(
        self, key: str, make: Callable[[], bytes], version: str, busy: threading.Lock
    ) -> None:
        try:
            self._compute(key, make, version)
        except Exception:  # the previous payload stays; the next request tries again
            log.exception("recomputing %s failed", key)
        finally:
            busy.release()

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Block until no recomputation or probe is running (tests)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            locks = [*self._busy.values(), self._probing]
        for lk in locks:
            if lk.acquire(timeout=max(0.0, deadline - time.monotonic())):
                lk.release()


def payloads(request: Request) -> VersionedCache:
    """The application's versioned payload cache (created on first use)."""
    st = request.app.state
    if not hasattr(st, "qingshan_payloads"):
        st.qingshan_payloads = payload_cache(st.qingshan)
    vc: VersionedCache = st.qingshan_payloads
    return vc


def payload_cache(c: Any, **options: Any) -> VersionedCache:
    """A :class:`VersionedCache` probing the data version of ``c``'s (a WebContext) database."""
    from qingshan.services.data_version import data_version

    def probe() -> str:
        with c.read() as s:
            return data_version(s)

    return VersionedCache(probe, **options)


def _matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    # If-None-Match uses the weak comparison (RFC 9110 §13.1.2): W/"x" matches "x".
    return any(t.strip().removeprefix("W/") == etag for t in header.split(","))


async def cached_json(
    request: Request, key: str, make: Callable[[], bytes], *, head: bytes = b""
) -> Response:
    """Answer with the payload of ``key`` (JSON bytes from ``make``, preceded by ``head``:
    the per-request part, e.g. the echo of the request's parameters) and its ETag;
    ``304 Not Modified`` when the request's ``If-None-Match`` names it. ``Cache-Control:
    no-cache``: browsers keep the payload but revalidate every time (cheap: no database work
    while the payload is current)."""
    vc = payloads(request)
    hit = vc.lookup(key)
    if hit is None:  # probing and computing touch the database: in a worker thread
        hit = await run_in_threadpool(vc.get, key, make)
    status, headers, body = answer(hit, head, request.headers.get("if-none-match"))
    if status == 304:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def answer(
    hit: Payload, head: bytes, if_none_match: str | None
) -> tuple[int, dict[str, str], bytes]:
    """Status, validator headers and body of a cached payload (the route and the ASGI fast
    path answer alike): ``head`` (the per-request part) goes in front of the payload and
    into its ETag; ``304`` when ``If-None-Match`` names the tag."""
    etag = strong_etag(head + hit.etag.encode()) if head else hit.etag
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if _matches(if_none_match, etag):
        return 304, headers, b""
    return 200, headers, head + hit.body if head else hit.body
