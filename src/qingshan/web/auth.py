"""Accounts, passwords, browser sessions, API tokens, roles and the log-in rate limit.

* Passwords: argon2id (argon2-cffi's defaults, RFC 9106 "second recommended" parameters);
  hashes are upgraded on log-in when the parameters change.
* Browser sessions: a random 256-bit id in an HttpOnly, SameSite=Lax cookie (Secure unless
  turned off for plain-HTTP testing); the database keeps only its SHA-256. Each session has a
  CSRF token; unsafe requests authenticated by the cookie must echo it in ``X-CSRF-Token``
  (the token is readable by the page's scripts through ``GET /api/v1/auth/me`` and a
  non-HttpOnly cookie, never by another origin).
* API tokens for machines: ``qst_`` + 256 random bits, sent as ``Authorization: Bearer``;
  stored as SHA-256; no CSRF check (a browser never attaches them by itself).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from qingshan.clock import utcnow
from qingshan.storage.models import Enterprise
from qingshan.storage.models_web import ROLES, ApiToken, WebSession, WebUser

SESSION_COOKIE = "qs_session"
CSRF_COOKIE = "qs_csrf"
CSRF_HEADER = "X-CSRF-Token"
TOKEN_PREFIX = "qst_"

ROLE_LABELS = {
    "admin": "系统管理员",
    "staff": "生态环境局工作人员",
    "unit": "部门（单位）用户",
    "grid": "网格员",
    "enterprise": "企业用户",
    "leader": "领导（只读）",
    "public": "公众",
}

# Roles that read monitoring data of the whole district (enterprise users are scoped).
DISTRICT_READERS = frozenset({"admin", "staff", "unit", "grid", "leader"})

_USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{3,64}$")
MIN_PASSWORD = 10

_hasher = PasswordHasher()
# Verifying against this keeps the time of "no such user" equal to "wrong password".
_DUMMY_HASH = _hasher.hash("qingshan-dummy-password")


class AccountError(ValueError):
    """A bad account operation, with a message for the user."""


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password must have at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a user (by session or token) or the anonymous public."""

    role: str
    user_id: int | None = None
    username: str | None = None
    unit: str | None = None
    enterprise_id: int | None = None
    via: str = "anonymous"  # session | token | anonymous
    csrf_token: str | None = None

    @property
    def is_public(self) -> bool:
        return self.role == "public"


PUBLIC = Principal(role="public")


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    unit: str | None = None,
    enterprise_id: int | None = None,
    display_name: str | None = None,
) -> WebUser:
    """Validate and add a user (flushes; the caller commits)."""
    if not _USERNAME.match(username):
        raise AccountError("username must be 3-64 letters, digits, '_', '.' or '-'")
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; use one of: {', '.join(ROLES)}")
    if role == "unit" and not (unit and unit.strip()):
        raise AccountError("a unit user needs --unit (the department it belongs to)")
    if role != "unit" and unit:
        raise AccountError("--unit applies only to the unit role")
    if role == "enterprise":
        if enterprise_id is None:
            raise AccountError("an enterprise user needs --enterprise (its id or credit code)")
        if session.get(Enterprise, enterprise_id) is None:
            raise AccountError(f"no enterprise with id {enterprise_id}")
    elif enterprise_id is not None:
        raise AccountError("--enterprise applies only to the enterprise role")
    if session.scalar(select(WebUser.id).where(WebUser.username == username)) is not None:
        raise AccountError(f"user {username!r} already exists")
    user = WebUser(
        username=username,
        password_hash=hash_password(password),
        role=role,
        unit=unit.strip() if unit else None,
        enterprise_id=enterprise_id,
        display_name=display_name,
        active=True,
        created_at=utcnow(),
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> WebUser | None:
    """The active user with this password, or None (same cost either way)."""
    user = session.scalar(select(WebUser).where(WebUser.username == username))
    if user is None or not user.active:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def principal_of(user: WebUser, via: str, csrf: str | None = None) -> Principal:
    return Principal(
        role=user.role,
        user_id=user.id,
        username=user.username,
        unit=user.unit,
        enterprise_id=user.enterprise_id,
        via=via,
        csrf_token=csrf,
    )


def new_session(session: Session, user: WebUser, hours: float) -> tuple[str, WebSession]:
    """A new browser session: returns the cookie value (never stored) and the row."""
    sid = secrets.token_urlsafe(32)
    now = utcnow()
    row = WebSession(
        id_hash=sha256(sid),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    session.add(row)
    return sid, row


def session_principal(session: Session, sid: str) -> tuple[Principal, datetime] | None:
    """The session's user and the session's expiry (UTC), or None."""
    row = session.get(WebSession, sha256(sid))
    if row is None or row.expires_at <= utcnow():
        return None
    user = session.get(WebUser, row.user_id)
    if user is None or not user.active:
        return None
    return principal_of(user, "session", row.csrf_token), row.expires_at


def new_token(session: Session, user: WebUser, name: str) -> tuple[str, ApiToken]:
    if not name.strip() or len(name) > 100:
        raise AccountError("token name must be 1-100 characters")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        name=name.strip(),
        token_hash=sha256(token),
        prefix=token[:10],
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return token, row


def token_principal(session: Session, token: str) -> tuple[Principal, ApiToken] | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == sha256(token)))
    if row is None or row.revoked_at is not None:
        return None
    user = session.get(WebUser, row.user_id)
    if user is None or not user.active:
        return None
    return principal_of(user, "token"), row


class LoginLimiter:
    """At most ``max_failures`` failed log-ins per user name, and four times as many per client
    address (an office behind one NAT address), within ``window`` seconds; a success clears
    the user name's count. In memory: one process serves the site (``qingshan serve``), and a
    restart forgetting counts is harmless."""

    def __init__(self, max_failures: int, window: float) -> None:
        self.max_failures = max_failures
        self.window = window
        self._fails: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._fails.setdefault(key, deque())
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def retry_after(self, *keys: str) -> int:
        """Seconds until a blocked key may try again; 0 when none is blocked."""
        now = time.monotonic()
        with self._lock:
            wait = 0.0
            for k in keys:
                q = self._recent(k, now)
                limit = self.max_failures * (4 if k.startswith("ip:") else 1)
                if len(q) >= limit:
                    wait = max(wait, q[0] + self.window - now)
            return int(wait) + 1 if wait > 0 else 0

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for k in keys:
                self._recent(k, now).append(now)
            if len(self._fails) > 10000:  # drop idle keys so memory stays bounded
                for k in [k for k, q in self._fails.items() if not q]:
                    del self._fails[k]

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._fails.pop(key, None)


def demo_account(factory: sessionmaker[Session]) -> str:
    """For ``qingshan demo``: when the database has no web account yet, create the
    administrator ``demo`` with a random password and say so (shown once, on the console that
    started the demo, never logged); otherwise say how to add accounts."""
    with factory() as s, s.begin():
        if s.scalar(select(WebUser.id).limit(1)) is not None:
            return "existing accounts (add one: qingshan user add --username … --role …)"
        password = secrets.token_urlsafe(12)
        create_user(s, username="demo", password=password, role="admin", display_name="演示管理员")
    return f"user demo, password {password} (administrator; shown only now)"
