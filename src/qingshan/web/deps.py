"""Request dependencies: database sessions, the caller's identity, role checks, CSRF.

Every ``/api`` route either depends on :func:`require` with a grant of
:mod:`qingshan.services.permissions` or is listed in :data:`PUBLIC_ROUTES`;
``tests/web/test_permissions.py`` walks the app and fails otherwise.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from qingshan.clock import utcnow
from qingshan.roles import PUBLIC, Principal, Role
from qingshan.services.accounts import sha256, token_principal, touch_token
from qingshan.services.permissions import DISTRICT, READERS
from qingshan.settings import Settings
from qingshan.web.auth import CSRF_HEADER, SESSION_COOKIE, LoginLimiter, session_principal
from qingshan.web.exports import ExportGate
from qingshan.web.gateway_status import GatewayStatusSource
from qingshan.web.tiles import TileProxy

# DISTRICT and READERS (the grants of qingshan.services.permissions) are importable from
# here too, for routers that take all their dependencies from this module.
__all__ = [
    "DISTRICT",
    "MAX_ID",
    "PUBLIC_ROUTES",
    "READERS",
    "PathId",
    "QueryId",
    "RoleRequirement",
    "WebContext",
    "cached_principal",
    "client_of",
    "ctx",
    "principal",
    "read_db",
    "require",
    "write_db",
]

log = logging.getLogger("qingshan.web.deps")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_ID = 2**31 - 1  # ids are 32-bit on both backends; larger numbers cannot name anything
# Row ids in paths and queries: bounded, so a huge number is a 422, not a driver overflow.
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


@dataclass
class WebContext:
    settings: Settings
    read: sessionmaker[Session]  # deferred transactions: never take SQLite's write lock
    write: sessionmaker[Session]
    limiter: LoginLimiter
    status: GatewayStatusSource | None = None  # the gateway's health, when served with one
    auth_cache: AuthCache = field(default_factory=lambda: AuthCache())
    tiles: TileProxy = field(default_factory=lambda: TileProxy())
    exports: ExportGate = field(default_factory=lambda: ExportGate(2))
    # Password hashing (argon2, ~50 ms of CPU each) runs here, two at a time at most.
    hash_pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(2, thread_name_prefix="qingshan-argon2")
    )


def ctx(request: Request) -> WebContext:
    c: WebContext = request.app.state.qingshan
    return c


def read_db(request: Request) -> Iterator[Session]:
    with ctx(request).read() as s:
        yield s


def write_db(request: Request) -> Iterator[Session]:
    """The write session of one request. Routes declare it ``Depends(write_db,
    scope="function")``: the commit happens before the response is sent, so a client that
    reads right after a write sees it (the default scope commits after sending)."""
    with ctx(request).write() as s, s.begin():
        yield s
    # After the commit: a credential cached meanwhile cannot outlive a revocation or edit.
    ctx(request).auth_cache.clear()


def client_of(request: Request) -> str | None:
    return request.client.host if request.client else None


AUTH_CACHE_SECONDS = 10.0


AUTH_REFRESH_SECONDS = 7.0  # an entry this old is revalidated in the background while used


class AuthCache:
    """Recently verified credentials (by their SHA-256) → principal, for AUTH_CACHE_SECONDS,
    so that polling pages and machine clients do not cost two queries per request. Cleared
    on every account change in this process (log-out, token revocation, user edits), so those
    take effect at once; a session's expiry is honoured to the second.

    An entry older than AUTH_REFRESH_SECONDS is revalidated against the database by one
    background thread while it is still used (:meth:`refresh`), so a busy client's credential
    never expires under it: before, every AUTH_CACHE_SECONDS all of a worker's concurrent
    requests missed at once and queued on the database (the cockpit's p99 under load). The
    bound is unchanged: a credential revoked by another process stops working within
    AUTH_CACHE_SECONDS.

    It also remembers, for the same time, which sites a principal may see and their devices
    (:meth:`site` / :meth:`put_site`, the chart series' visibility check), cleared with it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, tuple[float, Principal, datetime | None, str | None]] = {}
        self._sites: dict[tuple[Principal, int], tuple[float, str, tuple[int, ...]]] = {}
        self._refreshing: set[str] = set()
        self._loading: dict[str, threading.Lock] = {}  # one database read per missing key
        self._generation = 0  # moves on clear(): a revalidation read before it is dropped
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="qingshan-auth")

    def entry(self, key: str) -> tuple[Principal, str | None, float] | None:
        """The principal, (for a token) its scope, and the entry's age in seconds."""
        with self._lock:
            hit = self._data.get(key)
        if hit is None:
            return None
        age = time.monotonic() - hit[0]
        if age > AUTH_CACHE_SECONDS or (hit[2] is not None and hit[2] <= utcnow()):
            return None
        return hit[1], hit[3], age

    def get(self, key: str) -> tuple[Principal, str | None] | None:
        """The principal and (for a token) its scope."""
        hit = self.entry(key)
        return None if hit is None else (hit[0], hit[1])

    def put(
        self,
        key: str,
        p: Principal,
        expires: datetime | None = None,
        scope: str | None = None,
        *,
        generation: int | None = None,
    ) -> None:
        with self._lock:
            if generation is not None and generation != self._generation:
                return  # read before an account change in this process: not kept
            if len(self._data) > 10000:
                self._data.clear()
                self._loading.clear()
            self._data[key] = (time.monotonic(), p, expires, scope)

    def drop(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._sites.clear()
            self._generation += 1

    def refresh(self, c: WebContext, key: str, secret: str) -> None:
        """Revalidate ``key`` (``t:``/``s:`` + SHA-256 of ``secret``) in the background,
        once at a time per key; never blocks."""
        with self._lock:
            if key in self._refreshing:
                return
            self._refreshing.add(key)
            generation = self._generation
        self._pool.submit(self._revalidate, c, key, secret, generation)

    def _revalidate(self, c: WebContext, key: str, secret: str, generation: int) -> None:
        try:
            if key.startswith("t:"):
                p, scope, expires = _token_lookup(c, secret)
                self.put(key, p, expires, scope, generation=generation)
            else:
                found = _session_lookup(c, secret)
                if found is None:
                    self.drop(key)
                else:
                    self.put(key, found[0], found[1], generation=generation)
        except HTTPException:  # revoked, expired: gone at once
            self.drop(key)
        except Exception:  # the database busy: the entry runs out at its time
            log.warning("revalidating a credential failed", exc_info=True)
        finally:
            with self._lock:
                self._refreshing.discard(key)

    def load(self, c: WebContext, key: str, secret: str) -> tuple[Principal, str | None] | None:
        """A credential not in the cache, read from the database (in a worker thread) once
        for all concurrent callers of the same key: the others wait and take the result from
        the cache (at a worker's start, or after a revocation, a whole page of clients
        asks at once). A token refused raises its 401; a session not found is None."""
        with self._lock:
            gate = self._loading.setdefault(key, threading.Lock())
        with gate:
            hit = self.get(key)
            if hit is not None:
                return hit
            if key.startswith("t:"):
                p, scope, expires = _token_lookup(c, secret)
                self.put(key, p, expires, scope)
                return p, scope
            found = _session_lookup(c, secret)
            if found is None:
                return None
            self.put(key, found[0], found[1])
            return found[0], None

    def site(self, p: Principal, site_id: int) -> tuple[str, tuple[int, ...]] | None:
        """A site ``p`` was allowed to see within AUTH_CACHE_SECONDS: its kind, device ids."""
        with self._lock:
            hit = self._sites.get((p, site_id))
        if hit is None or time.monotonic() - hit[0] > AUTH_CACHE_SECONDS:
            return None
        return hit[1], hit[2]

    def put_site(self, p: Principal, site_id: int, kind: str, devices: tuple[int, ...]) -> None:
        with self._lock:
            if len(self._sites) > 10000:
                self._sites.clear()
            self._sites[(p, site_id)] = (time.monotonic(), kind, devices)


def cached_principal(c: WebContext, request: Request) -> Principal | None:
    """The caller of a GET request from the credential cache alone (no database, never
    blocks; starts a background revalidation of an ageing entry), or None: anonymous,
    malformed or not cached — the route's own dependencies then decide."""
    auth = request.headers.get("authorization")
    if auth is not None:
        scheme, _, secret = auth.partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret:
            return None
        key = "t:" + sha256(secret)
    else:
        secret = request.cookies.get(SESSION_COOKIE) or ""
        if not secret:
            return None
        key = "s:" + sha256(secret)
    hit = c.auth_cache.entry(key)
    if hit is None:
        return None
    if hit[2] > AUTH_REFRESH_SECONDS:
        c.auth_cache.refresh(c, key, secret)
    return hit[0]


def _token_lookup(c: WebContext, token: str) -> tuple[Principal, str, datetime | None]:
    with c.read() as s:
        found = token_principal(s, token)
    if found is None:
        raise HTTPException(401, "invalid, expired or revoked API token")
    p, row = found
    if row.last_used_at is None or utcnow() - row.last_used_at > timedelta(minutes=5):
        try:
            with c.write() as s, s.begin():  # coarse, so tokens do not cost a write per call
                touch_token(s, row.id)
        except OperationalError as exc:
            # Bookkeeping only: SQLite's write lock held past the busy timeout (the gateway's
            # commits, a roll-up) must not fail a read with 500; the next lookup tries again.
            log.warning("could not record the use of API token %s: %s", row.id, exc)
    return p, row.scope, row.expires_at


def _session_lookup(c: WebContext, sid: str) -> tuple[Principal, datetime] | None:
    with c.read() as s:
        return session_principal(s, sid)


async def principal(request: Request) -> Principal:
    """The caller, from a bearer token or the session cookie; anonymous = public."""
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    c = ctx(request)
    auth = request.headers.get("authorization")
    p: Principal = PUBLIC
    if auth is not None:
        scheme, _, token = auth.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise HTTPException(401, "Authorization header must be 'Bearer <token>'")
        key = "t:" + sha256(token)
        hit = c.auth_cache.entry(key)
        scope: str | None
        if hit is None:
            loaded = await run_in_threadpool(c.auth_cache.load, c, key, token)
            assert loaded is not None  # a refused token raised its 401
            p, scope = loaded
        else:
            p, scope, age = hit
            if age > AUTH_REFRESH_SECONDS:
                c.auth_cache.refresh(c, key, token)
        if scope != "write" and request.method not in SAFE_METHODS:
            raise HTTPException(403, "只读 API 令牌不能修改数据（read-only token）")
    else:
        sid = request.cookies.get(SESSION_COOKIE)
        if sid:
            key = "s:" + sha256(sid)
            cached_s = c.auth_cache.entry(key)
            found_p = cached_s[0] if cached_s is not None else None
            if cached_s is not None and cached_s[2] > AUTH_REFRESH_SECONDS:
                c.auth_cache.refresh(c, key, sid)
            if found_p is None:
                loaded = await run_in_threadpool(c.auth_cache.load, c, key, sid)
                found_p = None if loaded is None else loaded[0]
            if found_p is not None:
                p = found_p
                if request.method not in SAFE_METHODS:
                    sent = request.headers.get(CSRF_HEADER, "")
                    if not (p.csrf_token and hmac.compare_digest(sent, p.csrf_token)):
                        raise HTTPException(403, "CSRF token missing or wrong (X-CSRF-Token)")
    request.state.principal = p
    return p


class RoleRequirement:
    """The dependency :func:`require` makes: admits only ``roles`` (401 for the anonymous
    public, 403 for a logged-in role without the grant). A class, not a closure, so that the
    route walker of the tests can read which roles a route admits."""

    def __init__(self, roles: tuple[Role, ...]) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, p: Principal = Depends(principal)) -> Principal:
        if p.role in self.roles:
            return p
        if p.is_public:
            raise HTTPException(401, "log in first (需要登录)")
        raise HTTPException(403, f"role {p.role} may not do this (无权限)")


def require(*roles: Role) -> RoleRequirement:
    """A dependency admitting only ``roles``: pass a grant of
    :mod:`qingshan.services.permissions` (``require(*READERS)``)."""
    return RoleRequirement(roles)


# The /api routes anyone may call, without a role: log-in and identity, disclosure, the map's
# boundaries and tile settings, and the API description itself. Any other /api route must
# depend on require(...).
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", "/api/v1/auth/login"),
        ("GET", "/api/v1/auth/me"),
        ("GET", "/api/v1/map/boundaries"),
        ("GET", "/api/v1/map/config"),
        ("GET", "/api/v1/public/air"),
        ("GET", "/api/v1/public/water"),
        ("GET", "/api/v1/public/cases"),
        ("GET", "/api/v1/openapi.json"),
        ("GET", "/api/v1/docs"),
    }
)
