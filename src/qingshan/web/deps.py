"""Request dependencies: database sessions, the caller's identity, role checks, CSRF."""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Query, Request
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from qingshan.settings import Settings
from qingshan.storage.models_web import ApiToken, AuditEntry
from qingshan.web.auth import (
    CSRF_HEADER,
    PUBLIC,
    SESSION_COOKIE,
    LoginLimiter,
    Principal,
    session_principal,
    token_principal,
    utcnow,
)

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


def ctx(request: Request) -> WebContext:
    c: WebContext = request.app.state.qingshan
    return c


def read_db(request: Request) -> Iterator[Session]:
    with ctx(request).read() as s:
        yield s


def write_db(request: Request) -> Iterator[Session]:
    with ctx(request).write() as s, s.begin():
        yield s


def client_of(request: Request) -> str | None:
    return request.client.host if request.client else None


def principal(request: Request) -> Principal:
    """The caller, from a bearer token or the session cookie; anonymous = public."""
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    c = ctx(request)
    auth = request.headers.get("authorization")
    p: Principal = PUBLIC
    if auth is not None:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HTTPException(401, "Authorization header must be 'Bearer <token>'")
        with c.read() as s:
            found = token_principal(s, token.strip())
        if found is None:
            raise HTTPException(401, "invalid or revoked API token")
        p, row = found
        if row.last_used_at is None or utcnow() - row.last_used_at > timedelta(minutes=5):
            with c.write() as s, s.begin():  # coarse, so tokens do not cost a write per call
                s.execute(
                    update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=utcnow())
                )
    else:
        sid = request.cookies.get(SESSION_COOKIE)
        if sid:
            with c.read() as s:
                found_p = session_principal(s, sid)
            if found_p is not None:
                p = found_p
                if request.method not in SAFE_METHODS:
                    sent = request.headers.get(CSRF_HEADER, "")
                    if not (p.csrf_token and hmac.compare_digest(sent, p.csrf_token)):
                        raise HTTPException(403, "CSRF token missing or wrong (X-CSRF-Token)")
    request.state.principal = p
    return p


def require(*roles: str) -> Callable[[Principal], Principal]:
    """A dependency admitting only ``roles`` (401 for the anonymous public, 403 otherwise)."""
    allowed = frozenset(roles)

    def check(p: Principal = Depends(principal)) -> Principal:
        if p.role in allowed:
            return p
        if p.is_public:
            raise HTTPException(401, "log in first (需要登录)")
        raise HTTPException(403, f"role {p.role} may not do this (无权限)")

    return check


READERS = ("admin", "staff", "unit", "grid", "leader", "enterprise")
DISTRICT = ("admin", "staff", "unit", "grid", "leader")


def _plain(value: Any) -> Any:
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)


def snapshot(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {f: _plain(getattr(obj, f)) for f in fields}


def audit(
    s: Session,
    p: Principal,
    request: Request | None,
    *,
    action: str,
    entity: str,
    entity_id: str | int | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """Record one change in the same transaction as the change itself."""
    s.add(
        AuditEntry(
            at=utcnow(),
            user_id=p.user_id,
            username=p.username,
            unit=p.unit,
            action=action,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            before=None if before is None else json.dumps(before, ensure_ascii=False),
            after=None if after is None else json.dumps(after, ensure_ascii=False),
            client=client_of(request) if request is not None else None,
        )
    )
