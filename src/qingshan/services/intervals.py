"""A device's reporting interval, what it implies, and its last report: one place for the
cockpit, the map, the devices and site pages, data completeness and the daily roll-ups.

* **Interval** (:func:`device_intervals`): how often a device's hourly-or-coarser records
  (HJ 212 2061 data, or the hour a water analyser's sample is stamped with) come. The
  registry's ``device.report_interval`` (minutes, 60–1440; 240 for a water station sampling
  every 4 hours) when recorded; else a device with a ``minute_interval`` sends minute data,
  rolled up every hour, so its interval is one hour. Otherwise the interval is
  inferred from the stored data: the median gap between its latest 10 distinct hourly records
  up to the reference time (however old: a device silent for a month keeps its interval), at
  least one hour; fewer than two such records: one hour. An automatic water station sampling
  every 4 hours is thus expected every 4 hours, not every hour. The inferred interval also
  has a *phase* (a record time on the device's grid), so the records due in a range are
  counted exactly (:func:`expected_slots`).
* **Last report** (:func:`last_reports`): the latest stored data time of a device (any
  resolution), Beijing time — from the data, not from the connection log, so a device whose
  history was loaded from a file or whose packets stopped 9 days ago says when, and only a
  device without any stored data has never reported.
* **Offline** (:func:`silent_devices`): silent longer than ``offline_after`` or, for a device
  slower than hourly, than its interval plus ``offline_after``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any, Literal

from sqlalchemy import func, select

from qingshan.clock import to_cst
from qingshan.storage.models import Device, Observation, Resolution

__all__ = [
    "HOUR",
    "Interval",
    "device_intervals",
    "expected_slots",
    "last_reports",
    "reporting_intervals",
    "silent_devices",
]

HOUR = timedelta(hours=1)
SAMPLES = 10  # the latest distinct hourly-or-coarser record times looked at


@dataclass(frozen=True, slots=True)
class Interval:
    """How often a device reports its hourly-or-coarser records."""

    step: timedelta
    phase: datetime | None  # a record time on the device's grid (naive CST); None: whole hours
    source: Literal["registry", "data", "default"]

    @property
    def minutes(self) -> int:
        return int(self.step.total_seconds() // 60)


DEFAULT = Interval(HOUR, None, "default")


def device_intervals(s: Any, device_ids: Iterable[int], at_cst: datetime) -> dict[int, Interval]:
    """Each device's reporting interval as of ``at_cst`` (naive Beijing time; see the module
    docstring). ``s`` is a Session or a Connection."""
    ids = sorted(set(device_ids))
    out = dict.fromkeys(ids, DEFAULT)
    if not ids:
        return out
    recorded: dict[int, timedelta] = {}
    for did, minute, report in s.execute(
        select(Device.id, Device.minute_interval, Device.report_interval).where(Device.id.in_(ids))
    ):
        if report:
            recorded[did] = timedelta(minutes=report)
        elif minute:  # minute data, rolled up every hour
            recorded[did] = HOUR
    o = Observation
    for did in ids:
        step = recorded.get(did)
        if step == HOUR:
            out[did] = Interval(HOUR, None, "registry")
            continue
        # the latest distinct record times: a short backward walk of the primary key
        # (device, resolution, time, code) per device, whatever the history's length
        latest = sorted(
            s.scalars(
                select(o.data_time)
                .where(
                    o.device_id == did,
                    o.resolution == int(Resolution.HOUR),
                    o.data_time <= at_cst,
                )
                .distinct()
                .order_by(o.data_time.desc())
                .limit(SAMPLES if step is None else 1)
            )
        )
        if step is not None:  # the registry's interval, on the grid of the latest record
            out[did] = Interval(step, latest[-1] if latest else None, "registry")
            continue
        gaps = sorted(b - a for a, b in pairwise(latest))
        if gaps:
            step = max(HOUR, gaps[len(gaps) // 2])
            # an hourly device keeps the hour grid; a slower one is counted on its own grid
            out[did] = Interval(step, None if step == HOUR else latest[-1], "data")
    return out


def reporting_intervals(
    s: Any, device_ids: Iterable[int], now_cst: datetime
) -> dict[int, timedelta]:
    """Each device's reporting interval (:func:`device_intervals`), as a step."""
    return {d: x.step for d, x in device_intervals(s, device_ids, now_cst).items()}


def expected_slots(interval: Interval, start: datetime, end: datetime) -> int:
    """How many records a device reporting at ``interval`` owes in [start, end] (inclusive,
    naive CST): the times on its grid (``phase`` + k × step; without a phase, ``start`` +
    k × step) that fall in the range. A 4-hourly section owes 6 a day."""
    if end < start:
        return 0
    step = interval.step
    phase = start if interval.phase is None else interval.phase
    first = phase - ((phase - start) // step) * step  # the first grid time ≥ start
    return 0 if first > end else (end - first) // step + 1


def last_reports(s: Any, device_ids: Iterable[int]) -> dict[int, datetime]:
    """The latest stored data time (naive Beijing time) of each device that has stored data;
    devices without any are absent. One indexed look-up per device and resolution."""
    ids = sorted(set(device_ids))
    if not ids:
        return {}
    o = Observation
    cols = [
        select(func.max(o.data_time))
        .where(o.device_id == Device.id, o.resolution == int(r))
        .scalar_subquery()
        for r in Resolution
    ]
    out: dict[int, datetime] = {}
    for did, *ts in s.execute(select(Device.id, *cols).where(Device.id.in_(ids))):
        seen = [t for t in ts if t is not None]
        if seen:
            out[did] = max(seen)
    return out


Intervals = Callable[[Any, list[int], datetime], dict[int, timedelta]]


def silent_devices(
    s: Any,
    offline_after: timedelta,
    now: datetime,
    device_ids: Iterable[int] | None = None,
    *,
    intervals: Intervals = reporting_intervals,
) -> set[int]:
    """Active devices (of ``device_ids``, default all) that are offline (``now`` UTC, naive):
    silent for longer than ``offline_after``, or, for a device reporting less often than
    hourly (:func:`device_intervals`), than its interval plus ``offline_after``. A device
    never seen is offline. ``intervals``: :func:`reporting_intervals` or a cached form of it
    (the cockpit's; the intervals move only with new hourly records)."""
    q = select(Device.id, Device.last_seen_at).where(Device.active.is_(True))
    if device_ids is not None:
        q = q.where(Device.id.in_(sorted(set(device_ids))))
    late = {did: seen for did, seen in s.execute(q) if seen is None or now - seen > offline_after}
    gaps = intervals(s, [d for d, seen in late.items() if seen is not None], to_cst(now))
    return {
        did
        for did, seen in late.items()
        if seen is None or now - seen > _allowed(offline_after, gaps.get(did, HOUR))
    }


def _allowed(offline_after: timedelta, interval: timedelta) -> timedelta:
    """How long a device may be silent: ``offline_after`` for a device reporting hourly or
    more often, its interval plus ``offline_after`` for a slower one."""
    return offline_after if interval <= HOUR else interval + offline_after
