"""The gateway's defences against hostile peers, as plain bookkeeping (no sockets, no clock).

Every class takes the time as an argument (``now``: seconds on a monotonic clock) so the
rules are tested without sleeping; :mod:`qingshan.gateway.server` applies the verdicts to
connections. Memory is bounded everywhere: per-address and per-MN state lives in LRU maps of
at most ``max_tracked`` entries, the least recently touched entry forgotten first.

* :class:`AuthThrottle`: wrong-PW and unknown-MN refusals counted per address and per MN in
  a sliding window. After ``free_failures`` each further refusal is answered after a delay
  that doubles (``base_delay_s`` · 2^(n − free − 1), at most ``max_delay_s``); at
  ``disconnect_after`` the connection is closed and the address blocked for ``block_s``.
  An MN with ``disconnect_after`` refusals in the window is *locked*: a packet for it from an
  address that itself failed in the window is refused even with the right PW, so guessing
  cannot succeed from a throttled address, while the real device (whose address has not
  failed) keeps working: nobody can lock a device out by guessing its password.
* :class:`TokenBuckets`: per-address rate of quarantine rows (beyond it, a counter).
* :class:`LookupLimiter`: how often an MN missing from the device cache may be looked up in
  the database (per MN and for all MNs together), so an unknown-MN flood cannot hammer it.
* :class:`RefusalLedger`: what was refused, why and from whom, aggregated per (kind,
  subject) between flushes into the ``gateway_refusal`` table, plus running totals for
  ``/healthz``.
* :class:`LogThrottle`: at most one log line per key and interval, with the number of lines
  suppressed since: a flood cannot fill the disk with log.
* :func:`connection_cap`: the connection cap under the process's open-file limit.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class _Lru(OrderedDict[K, V]):
    """An OrderedDict that forgets its least recently touched entries beyond ``limit``."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def touch(self, key: K, default: V) -> V:
        value = self.get(key)
        if value is None:
            value = default
            self[key] = value
            while len(self) > self.limit:
                self.popitem(last=False)
        else:
            self.move_to_end(key)
        return value


@dataclass
class _Window:
    count: int = 0
    first: float = 0.0
    blocked_until: float = 0.0


@dataclass(frozen=True)
class AuthPolicy:
    free_failures: int = 3
    window_s: float = 900.0
    base_delay_s: float = 1.0
    max_delay_s: float = 30.0
    disconnect_after: int = 10
    block_s: float = 900.0
    max_tracked: int = 100_000


@dataclass(frozen=True, slots=True)
class AuthVerdict:
    """What to do after a refusal: answer after ``delay`` s; close the connection; the
    address is blocked until ``blocked_until`` (monotonic s) when not None."""

    delay: float
    disconnect: bool
    blocked_until: float | None
    failures: int  # the larger of the address's and the MN's count in the window


class AuthThrottle:
    def __init__(self, policy: AuthPolicy | None = None) -> None:
        self.policy = policy or AuthPolicy()
        self._addr: _Lru[str, _Window] = _Lru(self.policy.max_tracked)
        self._mn: _Lru[str, _Window] = _Lru(self.policy.max_tracked)

    def _window(self, table: _Lru[str, _Window], key: str, now: float) -> _Window:
        w = table.touch(key, _Window(first=now))
        if now - w.first > self.policy.window_s:
            w.count, w.first = 0, now
        return w

    def failure(self, addr: str, mn: str | None, now: float) -> AuthVerdict:
        """Count one refusal (unknown MN, retired device, wrong PW: all alike)."""
        p = self.policy
        a = self._window(self._addr, addr, now)
        a.count += 1
        n = a.count
        if mn is not None:
            m = self._window(self._mn, mn, now)
            m.count += 1
            n = max(n, m.count)
        delay = 0.0 if n <= p.free_failures else p.base_delay_s * 2.0 ** (n - p.free_failures - 1)
        disconnect = n >= p.disconnect_after
        blocked = None
        if disconnect:
            a.blocked_until = max(a.blocked_until, now + p.block_s)
            blocked = a.blocked_until
        return AuthVerdict(min(delay, p.max_delay_s), disconnect, blocked, n)

    def blocked(self, addr: str, now: float) -> bool:
        w = self._addr.get(addr)
        return w is not None and w.blocked_until > now

    def suspect(self, addr: str, mn: str, now: float) -> bool:
        """True when ``mn`` is locked and ``addr`` failed within the window: refuse."""
        m, a = self._mn.get(mn), self._addr.get(addr)
        if m is None or a is None or a.count == 0:
            return False
        window = self.policy.window_s
        return (
            m.count >= self.policy.disconnect_after
            and now - m.first <= window
            and now - a.first <= window
        )

    def blocked_addresses(self, now: float) -> int:
        return sum(1 for w in self._addr.values() if w.blocked_until > now)


class TokenBuckets:
    """Per-key token buckets: ``rate`` tokens a second, at most ``burst`` saved up."""

    def __init__(self, rate: float, burst: float, max_tracked: int = 100_000) -> None:
        self.rate, self.burst = rate, burst
        self._b: _Lru[str, list[float]] = _Lru(max_tracked)  # key → [tokens, last time]

    def allow(self, key: str, now: float) -> bool:
        b = self._b.touch(key, [self.burst, now])
        b[0] = min(self.burst, b[0] + (now - b[1]) * self.rate)
        b[1] = now
        if b[0] >= 1.0:
            b[0] -= 1.0
            return True
        return False


class LookupLimiter:
    """Database look-ups of MNs missing from the device cache: each MN at most once every
    ``per_mn_s`` seconds, all MNs together ``rate`` a second (burst ``rate``). A look-up
    refused here leaves the packet refused like any unknown MN's."""

    def __init__(self, rate: float, per_mn_s: float, max_tracked: int = 100_000) -> None:
        self.per_mn_s = per_mn_s
        self._global = TokenBuckets(rate, max(1.0, rate))
        self._last: _Lru[str, list[float]] = _Lru(max_tracked)  # MN → [last look-up]
        self.done = 0
        self.refused = 0

    def allow(self, mn: str, now: float) -> bool:
        last = self._last.get(mn)
        if last is not None and now - last[0] < self.per_mn_s:
            self.refused += 1
            return False
        if not self._global.allow("*", now):
            self.refused += 1
            return False
        self._last.touch(mn, [now])[0] = now
        self.done += 1
        return True


@dataclass
class _Entry:
    count: int
    first: datetime
    last: datetime
    detail: str | None = None
    blocked_until: datetime | None = None


@dataclass
class RefusalLedger:
    """Refusals aggregated per (kind, subject) until :meth:`flush`; totals per kind kept.

    ``max_rows``: at most this many rows per flush; the remainder is summed into one row per
    kind with subject ``*`` (so a flood from many addresses writes a bounded number of rows).
    """

    max_rows: int = 200
    totals: dict[str, int] = field(default_factory=dict)
    _pending: dict[tuple[str, str], _Entry] = field(default_factory=dict)

    def record(
        self,
        kind: str,
        subject: str,
        at: datetime,
        n: int = 1,
        detail: str | None = None,
        blocked_until: datetime | None = None,
    ) -> None:
        self.totals[kind] = self.totals.get(kind, 0) + n
        key = (kind, subject)
        e = self._pending.get(key)
        if e is None and len(self._pending) >= 4 * self.max_rows:
            key = (kind, "*")  # bounded memory between flushes too
            e = self._pending.get(key)
        if e is None:
            self._pending[key] = _Entry(n, at, at, detail, blocked_until)
            return
        e.count += n
        e.last = at
        if detail is not None:
            e.detail = detail
        if blocked_until is not None:
            e.blocked_until = max(blocked_until, e.blocked_until or blocked_until)

    def flush(self) -> list[dict[str, Any]]:
        """The rows to store (``gateway_refusal`` columns), largest counts first."""
        items = sorted(self._pending.items(), key=lambda kv: -kv[1].count)
        self._pending = {}
        rows: dict[tuple[str, str], _Entry] = dict(items[: self.max_rows])
        for (kind, _subject), e in items[self.max_rows :]:
            other = rows.get((kind, "*"))
            if other is None:
                rows[(kind, "*")] = _Entry(e.count, e.first, e.last, "several subjects")
            else:
                other.count += e.count
                other.first, other.last = min(other.first, e.first), max(other.last, e.last)
        return [
            {
                "kind": kind,
                "subject": subject[:64],
                "count": e.count,
                "first_at": e.first,
                "last_at": e.last,
                "blocked_until": e.blocked_until,
                "detail": None if e.detail is None else e.detail[:500],
            }
            for (kind, subject), e in rows.items()
        ]


class LogThrottle:
    """At most one record per key every ``interval`` s; the next one says how many were
    suppressed. Keys are kinds of event (never addresses), so the map stays small."""

    def __init__(self, logger: logging.Logger, interval: float = 10.0) -> None:
        self.logger, self.interval = logger, interval
        self._last: dict[str, tuple[float, int]] = {}

    def log(self, level: int, key: str, now: float, msg: str, *args: object) -> bool:
        last, suppressed = self._last.get(key, (float("-inf"), 0))
        if now - last < self.interval:
            self._last[key] = (last, suppressed + 1)
            return False
        self._last[key] = (now, 0)
        if suppressed:
            msg += " (%d similar messages suppressed)"
            args = (*args, suppressed)
        self.logger.log(level, msg, *args)
        return True


def connection_cap(configured: int, nofile_soft: int, reserve: int) -> int:
    """The HJ 212 connection cap: ``configured`` (0 = as many as the limit allows), never more
    than the open-file limit less ``reserve`` descriptors kept for the web app, the database
    pool, log and data files; at least 1.

    ``connection_cap(0, 20000, 1024) == 18976``; ``connection_cap(500, 20000, 1024) == 500``.
    """
    room = max(1, nofile_soft - reserve)
    return room if configured <= 0 else min(configured, room)
