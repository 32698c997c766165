"""Browser sessions, cookies, CSRF and the log-in rate limit: the web's own plumbing.

Accounts, passwords and API tokens are :mod:`qingshan.services.accounts`; roles and the
principal are :mod:`qingshan.roles`.

* Browser sessions: a random 256-bit id in an HttpOnly, SameSite=Lax cookie (Secure unless
  turned off for plain-HTTP testing); the database keeps only its SHA-256. Each session has a
  CSRF token; unsafe requests authenticated by the cookie must echo it in ``X-CSRF-Token``
  (the token is readable by the page's scripts through ``GET /api/v1/auth/me`` and a
  non-HttpOnly cookie, never by another origin).
* API tokens (``Authorization: Bearer``) carry no CSRF check: a browser never attaches them
  by itself.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from qingshan.clock import utcnow
from qingshan.roles import Principal
from qingshan.services.accounts import principal_of, sha256
from qingshan.storage.models_web import WebSession, WebUser

SESSION_COOKIE = "qs_session"
CSRF_COOKIE = "qs_csrf"
CSRF_HEADER = "X-CSRF-Token"


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


def end_session(session: Session, sid: str) -> None:
    session.execute(delete(WebSession).where(WebSession.id_hash == sha256(sid)))


def purge_expired_sessions(session: Session) -> None:
    session.execute(delete(WebSession).where(WebSession.expires_at <= utcnow()))


def session_principal(session: Session, sid: str) -> tuple[Principal, datetime] | None:
    """The session's user and the session's expiry (UTC), or None."""
    row = session.get(WebSession, sha256(sid))
    if row is None or row.expires_at <= utcnow():
        return None
    user = session.get(WebUser, row.user_id)
    if user is None or not user.active:
        return None
    return principal_of(user, "session", row.csrf_token), row.expires_at


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
