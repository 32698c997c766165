"""Screening hints of online-monitoring data (线索 for inspectors, never verdicts).

Our own rules (no standard defines them; thresholds in ``data/supervision.toml``, ``[hints]``):

- **constant**: one pollutant's judged hourly values (flag N/T with a value) identical and
  non-zero over at least ``min_hours`` consecutive judged hours — the 数据造假 pattern of a frozen
  analyser. Hours without a judged value (C, M, F, D, missing) are skipped: a calibration read
  neither extends nor breaks the run; a different judged value breaks it.
- **zeros**: the value 0 over as many judged hours.
- **pinned**: flag T (超测上限, the value pinned at the analyser's range limit) over as many
  consecutive hours.
- **offline**: no record for at least ``offline_hours`` after the last one (see
  :func:`offline_since`).

A run is reported with its first and last hour, the value and the number of hours.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from functools import cache
from typing import Any

from qingshan.standards._checks import InvalidValueError, load_toml
from qingshan.standards.supervision import Record, flag_rule

__all__ = ["Hint", "hint_settings", "offline_since", "screening_runs"]


@cache
def _raw() -> dict[str, Any]:
    return load_toml("supervision.toml")


def hint_settings() -> tuple[int, int]:
    """(min_hours, offline_hours) of ``[hints]``."""
    h = _raw()["hints"]
    return int(h["min_hours"]), int(h["offline_hours"])


@dataclass(frozen=True, slots=True)
class Hint:
    kind: str  # constant / zeros / pinned
    first: datetime
    last: datetime  # the last hour of the run (inclusive)
    value: Decimal | Fraction
    hours: int
    open_ended: bool  # no judged hour after the run: it may still be going on


def screening_runs(records: Iterable[Record], min_hours: int | None = None) -> list[Hint]:
    """Constant, zero and pinned runs of one pollutant's hourly records (module docstring).

    Parameters
    ----------
    records : iterable of Record
        One pollutant's hourly records, any order.
    min_hours : int, optional
        Default ``[hints] min_hours``.

    Returns
    -------
    list of Hint, by first hour
    """
    need = hint_settings()[0] if min_hours is None else min_hours
    if need < 2:
        raise InvalidValueError("min_hours must be at least 2")
    judged = [
        r
        for r in sorted(records, key=lambda r: r.when)
        if r.value is not None and flag_rule(r.flag).judged
    ]
    out: list[Hint] = []

    def runs(key: Any, kind: str) -> None:
        start = 0
        for i in range(1, len(judged) + 1):
            if (
                i < len(judged)
                and key(judged[i]) is not None
                and key(judged[i]) == key(judged[start])
            ):
                continue
            if key(judged[start]) is not None and i - start >= need:
                first, last = judged[start], judged[i - 1]
                assert last.value is not None
                out.append(
                    Hint(kind, first.when, last.when, last.value, i - start, i == len(judged))
                )
            start = i

    if judged:
        runs(lambda r: r.value if r.value != 0 else None, "constant")
        runs(lambda r: 0 if r.value == 0 else None, "zeros")
        runs(lambda r: True if flag_rule(r.flag).flag == "T" else None, "pinned")
    return sorted(out, key=lambda h: (h.first, h.kind))


def offline_since(
    last_record: datetime | None, cutoff: datetime, offline_hours: int | None = None
) -> datetime | None:
    """The hour from which a device counts as offline, or None when it is not.

    Parameters
    ----------
    last_record : datetime or None
        Label of the device's latest hourly record (None: nothing in the window looked at).
    cutoff : datetime
        The data cut-off (same clock).
    offline_hours : int, optional
        Default ``[hints] offline_hours``.

    Returns
    -------
    datetime or None
        ``last_record + 1 h`` when at least ``offline_hours`` whole hours after it have closed
        without a record.
    """
    hours = hint_settings()[1] if offline_hours is None else offline_hours
    if last_record is None:
        return None
    since = last_record + timedelta(hours=1)
    return since if since + timedelta(hours=hours) <= cutoff else None
