"""Request dependencies: database sessions, the caller's identity, role checks, CSRF.

Every ``/api`` route either depends on :func:`require` with a grant of
:mod:`qingshan.services.permissions` or is listed in :data:`PUBLIC_ROUTES`;
``tests/web/test_permissions.py`` walks the app and fails otherwise.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session, sessionmaker

from qingshan.clock import utcnow
from qingshan.roles import PUBLIC, Principal, Role
from qingshan.services.accounts import sha256, token_principal, touch_token
from qingshan.services.permissions import DISTRICT, READERS
from qingshan.settings import Settings
from qingshan.web.auth import CSRF_HEADER, SESSION_COOKIE, LoginLimiter, session_principal
from qingshan.web.exports import ExportGate
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
    "client_of",
    "ctx",
    "principal",
    "read_db",
    "require",
    "write_db",
]

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
    status: Callable[[], dict[str, Any]] | None = None  # gateway health, when served beside it
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


class AuthCache:
    """Recently verified credentials (by their SHA-256) → principal, for AUTH_CACHE_SECONDS,
    so that polling pages and machine clients do not cost two queries per request. Cleared
    on every account change in this process (log-out, token revocation, user edits), so those
    take effect at once; a session's expiry is honoured to the second."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, tuple[float, Principal, datetime | None, str | None]] = {}

    def get(self, key: str) -> tuple[Principal, str | None] | None:
        """The principal and (for a token) its scope."""
        with self._lock:
            hit = self._data.get(key)
        if hit is None or time.monotonic() - hit[0] > AUTH_CACHE_SECONDS:
            return None
        if hit[2] is not None and hit[2] <= utcnow():
            return None
        return hit[1], hit[3]

    def put(
        self, key: str, p: Principal, expires: datetime | None = None, scope: str | None = None
    ) -> None:
        with self._lock:
            if len(self._data) > 10000:
                self._data.clear()
            self._data[key] = (time.monotonic(), p, expires, scope)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


def _token_lookup(c: WebContext, token: str) -> tuple[Principal, str, datetime | None]:
    with c.read() as s:
        found = token_principal(s, token)
    if found is None:
        raise HTTPException(401, "invalid, expired or revoked API token")
    p, row = found
    if row.last_used_at is None or utcnow() - row.last_used_at > timedelta(minutes=5):
        with c.write() as s, s.begin():  # coarse, so tokens do not cost a write per call
            touch_token(s, row.id)
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
        hit = c.auth_cache.get(key)
        scope: str | None
        if hit is None:
            p, scope, expires = await run_in_threadpool(_token_lookup, c, token)
            c.auth_cache.put(key, p, expires, scope)
        else:
            p, scope = hit
        if scope != "write" and request.method not in SAFE_METHODS:
            raise HTTPException(403, "只读 API 令牌不能修改数据（read-only token）")
    else:
        sid = request.cookies.get(SESSION_COOKIE)
        if sid:
            key = "s:" + sha256(sid)
            cached_s = c.auth_cache.get(key)
            found_p = cached_s[0] if cached_s is not None else None
            if found_p is None:
                found = await run_in_threadpool(_session_lookup, c, sid)
                if found is not None:
                    found_p = found[0]
                    c.auth_cache.put(key, found_p, found[1])
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
