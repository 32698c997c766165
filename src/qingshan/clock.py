"""The platform's one clock: UTC for storage, China Standard Time for people and for the standards.

* Storage keeps naive UTC ``datetime`` values (the database columns carry no zone); :func:`utcnow`
  is the only way production code reads the current time, so tests and jobs agree on it.
* China Standard Time (UTC+8, no daylight saving since 1991) is what devices send in HJ 212
  ``DataTime`` and what every published figure's day, month and year are cut by.
* Hour labels: a stored hour (and the minute → hour roll-up) is labelled by its **start** — the
  hour ``08:00`` CST holds [08:00, 09:00). The national publication platform labels by the hour's
  **end**; the standards engine takes ``hour_label="end" | "start"`` and the figures pass
  ``"start"`` (see ``docs/storage.md`` and ``docs/standards/hj663.md``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

CST = timezone(timedelta(hours=8), "CST")
CST_OFFSET = timedelta(hours=8)

# Stored hours are labelled by their start (module docstring).
HOUR_LABEL = "start"


def utcnow() -> datetime:
    """The current time as naive UTC, the form every timestamp column stores."""
    return datetime.now(UTC).replace(tzinfo=None)


def to_cst(t: datetime) -> datetime:
    """Naive UTC (or any aware time) → naive China Standard Time."""
    if t.tzinfo is None:
        return t + CST_OFFSET
    return t.astimezone(CST).replace(tzinfo=None)


def from_cst(t: datetime) -> datetime:
    """Naive China Standard Time → naive UTC."""
    return t - CST_OFFSET


def cst_today() -> date:
    """Today's date in China Standard Time."""
    return to_cst(utcnow()).date()
