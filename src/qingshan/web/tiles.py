"""The map-tile proxy: the server fetches tiles from the configured tile service with its
key, so the key stays on the server (a key in the browser can be copied and its quota
spent by anyone).

Bounded on every side: zoom ≤ :data:`MAX_ZOOM`, tiles ≤ :data:`MAX_TILE_BYTES`, at most
:data:`FETCHES` fetches at a time (each in a worker thread with a timeout), an in-memory LRU
cache of :data:`CACHE_BYTES`. Only image answers are passed on.
"""

from __future__ import annotations

import asyncio
import threading
import urllib.error
import urllib.request
from collections import OrderedDict

MAX_ZOOM = 20
MAX_TILE_BYTES = 1 << 20
CACHE_BYTES = 64 << 20
FETCHES = 4
TIMEOUT = 5.0
SUBDOMAINS = tuple(f"t{i}" for i in range(8))  # 天地图's t0 … t7

Tile = tuple[bytes, str]
# 天地图's Web-Mercator ("_w") WMTS layers: vec = 矢量底图, cva = 矢量注记 (labels over it)
TIANDITU_LAYERS = ("vec", "cva")


def tianditu_template(base: str, layer: str) -> str:
    """The WMTS GetTile URL template of 天地图 layer ``layer`` (``vec`` or ``cva``) under
    ``base`` (``https://{s}.tianditu.gov.cn``), with ``{z} {x} {y} {key}`` left to fill."""
    if layer not in TIANDITU_LAYERS:
        raise ValueError(f"not a 天地图 layer: {layer!r}")
    return (
        f"{base.rstrip('/')}/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
        f"&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
        "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}"
    )


def tile_url(template: str, key: str, z: int, x: int, y: int) -> str:
    """The template with ``{z} {x} {y} {s} {key}`` filled in (subdomain spread by tile)."""
    return (
        template.replace("{s}", SUBDOMAINS[(x + y) % len(SUBDOMAINS)])
        .replace("{z}", str(z))
        .replace("{x}", str(x))
        .replace("{y}", str(y))
        .replace("{key}", key)
    )


def _fetch(url: str) -> Tile | None:
    req = urllib.request.Request(url, headers={"User-Agent": "qingshan-tile-proxy"})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            media = r.headers.get_content_type()
            body: bytes = r.read(MAX_TILE_BYTES + 1)
    except (urllib.error.URLError, OSError, ValueError):
        return None
    if not media.startswith("image/") or len(body) > MAX_TILE_BYTES:
        return None
    return body, media


class TileProxy:
    def __init__(self) -> None:
        self._cache: OrderedDict[str, Tile] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(FETCHES)

    def _cached(self, url: str) -> Tile | None:
        with self._lock:
            hit = self._cache.get(url)
            if hit is not None:
                self._cache.move_to_end(url)
            return hit

    def _store(self, url: str, tile: Tile) -> None:
        with self._lock:
            if url in self._cache:
                return
            self._cache[url] = tile
            self._bytes += len(tile[0])
            while self._bytes > CACHE_BYTES and self._cache:
                _, old = self._cache.popitem(last=False)
                self._bytes -= len(old[0])

    def _fetch_bounded(self, url: str) -> Tile | None:
        if not self._slots.acquire(timeout=TIMEOUT):
            return None  # too many fetches waiting: fail fast rather than pile up threads
        try:
            return _fetch(url)
        finally:
            self._slots.release()

    async def get(self, template: str, key: str, z: int, x: int, y: int) -> Tile | None:
        url = tile_url(template, key, z, x, y)
        hit = self._cached(url)
        if hit is not None:
            return hit
        tile = await asyncio.get_running_loop().run_in_executor(None, self._fetch_bounded, url)
        if tile is not None:
            self._store(url, tile)
        return tile
