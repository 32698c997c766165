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

import math
import secrets
import threading
import time
from collections.abc import Callable
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
    """The log-in throttle: an exponential delay per (user name, address), per user name and
    per address, never a lockout.

    Each key may fail ``free`` times (counts are forgotten after ``window`` seconds without a
    failure); after that, each further
    attempt must wait ``base_delay · 2^(failures − free)`` seconds (at most ``max_delay``)
    after the key's last failure, else it is refused (429) without touching the password
    hash. The thresholds: ``max_failures`` for a user name from one address, 4× for a user
    name from all addresses (a guesser spread over many addresses), 4× for one address over
    all user names (an office behind one NAT address). So someone else's failures can slow
    an account down by at most ``user_max_delay`` a try for its owner at another address,
    never close it.

    :meth:`attempt` checks and reserves atomically: the attempt is counted as a failure
    *before* the caller verifies the password (the expensive argon2 hash), so 30 concurrent
    attempts see each other and only the free ones are evaluated; :meth:`succeeded` takes the
    reservation back. In memory: one process serves the site (``qingshan serve``); a restart
    forgetting counts only grants each key its free attempts again.
    """

    MAX_KEYS = 50_000

    def __init__(
        self,
        max_failures: int,
        window: float,
        *,
        base_delay: float = 1.0,
        max_delay: float = 300.0,
        user_max_delay: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.user_max_delay = user_max_delay
        self._clock = clock
        self._fails: dict[str, list[float]] = {}  # key → [failures, time of the last]
        self._lock = threading.Lock()

    @staticmethod
    def keys(username: str, address: str | None) -> tuple[str, str, str]:
        user = username.strip().lower()
        return (f"pair:{user}|{address}", f"user:{user}", f"ip:{address}")

    def _free(self, key: str) -> int:
        return self.max_failures * (1 if key.startswith("pair:") else 4)

    def _count(self, key: str, now: float) -> tuple[int, float]:
        """The key's failures and the time of its last one; a key quiet for ``window``
        seconds starts afresh (so a guesser trying once per delay never gets free tries)."""
        entry = self._fails.get(key)
        if entry is None:
            return 0, 0.0
        if entry[1] <= now - self.window:
            del self._fails[key]
            return 0, 0.0
        return int(entry[0]), entry[1]

    def delay(self, key: str, failures: int) -> float:
        """Seconds a key with ``failures`` recent failures must wait after the last one."""
        free = self._free(key)
        if failures < free:
            return 0.0
        # A user name's own key (failures from any address) has the lower cap: anyone can
        # fail against any user name, and its owner must still get in.
        cap = self.user_max_delay if key.startswith("user:") else self.max_delay
        return float(min(self.base_delay * 2.0 ** min(failures - free, 60), cap))

    def _wait(self, key: str, now: float) -> float:
        n, last = self._count(key, now)
        return max(0.0, last + self.delay(key, n) - now) if n else 0.0

    def _add(self, key: str, now: float) -> None:
        n, _ = self._count(key, now)
        self._fails[key] = [n + 1, now]

    def retry_after(self, *keys: str) -> int:
        """Whole seconds until every key may try again; 0 when none must wait."""
        with self._lock:
            now = self._clock()
            wait = max((self._wait(k, now) for k in keys), default=0.0)
        return math.ceil(wait) if wait > 0 else 0

    def attempt(self, *keys: str) -> int:
        """Check and reserve in one step: 0 when the attempt may go ahead (it is counted as a
        failure of every key until :meth:`succeeded`), else the seconds to wait (nothing
        counted: refused attempts do not lengthen the delay)."""
        with self._lock:
            now = self._clock()
            wait = max((self._wait(k, now) for k in keys), default=0.0)
            if wait > 0:
                return max(1, math.ceil(wait))
            for k in keys:
                self._add(k, now)
            if len(self._fails) > self.MAX_KEYS:  # bounded memory: drop quiet keys
                for k in list(self._fails):
                    self._count(k, now)
            return 0

    def failed(self, *keys: str) -> None:
        """Count a failure without a reservation (the reservation already is one)."""
        with self._lock:
            now = self._clock()
            for k in keys:
                self._add(k, now)

    def succeeded(self, *keys: str) -> None:
        """The password was right: the user name's counts are cleared (its pair and user
        keys); other keys (the address) get their reservation back."""
        with self._lock:
            for k in keys:
                if k.startswith(("pair:", "user:")):
                    self._fails.pop(k, None)
                elif (entry := self._fails.get(k)) is not None:
                    entry[0] = max(0.0, entry[0] - 1)
