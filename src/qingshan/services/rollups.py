"""Roll-ups computed by the platform: minute → hour → day, marked ``derived``.

Rules (numbers in ``data/rollup.toml``, source GB 3095-2012 §8 表4):

* Only records whose flag is valid (``N``; a missing flag counts as ``N``) and that carry a
  value are averaged. Maintenance (M), calibration (C), fault (D), stopped (F), over range (T),
  communication fault (B) and manual (S) records never enter a valid value.
* **Hour** from minute records: valid when the valid records cover at least 45 minutes.
  Coverage = number of valid records × the device's minute interval (``device.minute_interval``;
  if unset, the smallest gap between record times in that hour; if there is no gap to see,
  ``fallback_minute_interval``).
* **Day** from hour values (sent by the device or derived): valid when the valid values cover
  at least 20 hours, each value covering the device's reporting interval
  (:func:`qingshan.services.intervals.device_intervals`: one hour for an hourly device, so 20
  valid hours as before; 4 hours for a water station sampling every 4 hours, so 5 of its 6
  samples) — GB 3095 表4's "20个小时平均浓度值或采样时间" read as sampling time, see
  :func:`day_coverage`.
* Value = arithmetic mean x̄ = Σxᵢ / n of the valid values, computed in exact decimal
  arithmetic and rounded half-to-even (GB/T 8170 "四舍六入五成双") to the largest number of
  decimals among the inputs. Min/Max = extremes of the valid records' Min/Max (or values).
  Cou (cumulative amount, e.g. discharged volume) = Σ Cou of the valid records. ZsAvg is
  averaged like the value.
* An invalid bucket is still written, with an empty value, ``samples`` = valid count and the
  flag of the invalid records (most frequent; ties by ``invalid_flag_order``), or ``B`` when
  every record was valid but there were too few (data missing, i.e. not received).
* A bucket whose resolution the device sends itself (a non-derived row exists for that code)
  is never overwritten; devices' own values win.

Buckets are labelled by their start (the hour 08:00 covers [08:00, 09:00) in China Standard
Time; the day covers [00:00, 24:00)). Ingestion marks the hour of every stored minute record and
the day of every hour record as *dirty*; :func:`run_rollups` recomputes dirty buckets, so late
or corrected data is rolled up again automatically.
"""

from __future__ import annotations

import itertools
import tomllib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache
from importlib import resources
from typing import Any

from sqlalchemy import Engine, Row, select

from qingshan.clock import to_cst, utcnow
from qingshan.services import intervals
from qingshan.storage import partitions, writes
from qingshan.storage.models import Device, Observation, Resolution

HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class RollupRules:
    valid_flags: frozenset[str]
    hour_min_minutes: int
    day_min_hours: int
    fallback_minute_interval: int
    invalid_flag_order: tuple[str, ...]


@cache
def default_rules() -> RollupRules:
    raw = resources.files("qingshan.services").joinpath("data/rollup.toml").read_bytes()
    d = tomllib.loads(raw.decode("utf-8"))
    return RollupRules(
        valid_flags=frozenset(d["valid_flags"]),
        hour_min_minutes=int(d["hour_min_minutes"]),
        day_min_hours=int(d["day_min_hours"]),
        fallback_minute_interval=int(d["fallback_minute_interval"]),
        invalid_flag_order=tuple(d["invalid_flag_order"]),
    )


@dataclass(frozen=True, slots=True)
class Record:
    """One input record of a bucket (text values as stored)."""

    data_time: datetime
    value: str | None
    vmin: str | None
    vmax: str | None
    cou: str | None
    zs: str | None
    flag: str | None


def _scale(texts: Sequence[str]) -> int:
    return max(max(0, -int(Decimal(t).as_tuple().exponent)) for t in texts)


def _quant(x: Decimal, scale: int) -> str:
    return str(x.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_EVEN))


def _mean(texts: Sequence[str]) -> str:
    total = sum((Decimal(t) for t in texts), Decimal(0))
    return _quant(total / len(texts), _scale(texts))


def aggregate(
    records: Sequence[Record], *, needed: int, unit: int, rules: RollupRules
) -> dict[str, Any]:
    """Aggregate one code's records of one bucket.

    ``unit`` is how much of the requirement each valid record satisfies (minutes per minute
    record; 1 per hour value) and ``needed`` the requirement (45 minutes; 20 hours).
    """
    valid = [r for r in records if (r.flag or "N") in rules.valid_flags and r.value is not None]
    out: dict[str, Any] = {
        "value": None,
        "vmin": None,
        "vmax": None,
        "cou": None,
        "zs": None,
        "samples": len(valid),
        "derived": True,
    }
    if valid and len(valid) * unit >= needed:
        values = [r.value for r in valid if r.value is not None]
        out["value"] = _mean(values)
        mins = [m for m in (r.vmin or r.value for r in valid) if m is not None]
        maxs = [m for m in (r.vmax or r.value for r in valid) if m is not None]
        out["vmin"] = min(mins, key=Decimal) if mins else None
        out["vmax"] = max(maxs, key=Decimal) if maxs else None
        cous = [r.cou for r in valid if r.cou is not None]
        if cous:
            out["cou"] = _quant(sum((Decimal(c) for c in cous), Decimal(0)), _scale(cous))
        zss = [r.zs for r in valid if r.zs is not None]
        if zss:
            out["zs"] = _mean(zss)
        out["flag"] = "N"
        return out
    bad = Counter(r.flag for r in records if (r.flag or "N") not in rules.valid_flags)
    if bad:
        order = {f: i for i, f in enumerate(rules.invalid_flag_order)}
        out["flag"] = min(bad, key=lambda f: (-bad[f], order.get(f or "", 99), f or ""))
    else:
        out["flag"] = "B"
    return out


def infer_interval(times: Sequence[datetime], configured: int | None, fallback: int) -> int:
    """Minutes covered by one minute record (see the module docstring)."""
    if configured:
        return configured
    ts = sorted(set(times))
    gaps = [int((b - a).total_seconds() // 60) for a, b in itertools.pairwise(ts)]
    gaps = [g for g in gaps if g > 0]
    return min(min(gaps), 60) if gaps else fallback


def day_coverage(rules: RollupRules, interval: timedelta) -> tuple[int, int]:
    """(unit, needed) of a day roll-up, in minutes: each valid record covers the device's
    reporting interval, and the day needs ``day_min_hours`` of cover (an hourly device: 20
    records; a 4-hourly one: ⌈20 / 4⌉ = 5 of 6)."""
    return max(1, int(interval.total_seconds() // 60)), rules.day_min_hours * 60


def _rows(conn: Any, device_id: int, res: Resolution, lo: datetime, hi: datetime) -> list[Row[Any]]:
    o = Observation.__table__.c
    q = select(o.code, o.data_time, o.value, o.vmin, o.vmax, o.cou, o.zs, o.flag, o.derived).where(
        o.device_id == device_id,
        o.resolution == int(res),
        o.data_time >= lo,
        o.data_time < hi,
    )
    return list(conn.execute(q))


def recompute_bucket(
    conn: Any,
    device_id: int,
    target: Resolution,
    bucket: datetime,
    *,
    minute_interval: int | None,
    rules: RollupRules,
    interval: timedelta = HOUR,
) -> int:
    """Recompute one derived bucket; returns the number of rows written. ``interval``: the
    device's reporting interval of hourly records (day buckets, :func:`day_coverage`)."""
    if target == Resolution.HOUR:
        source, span = Resolution.MINUTE, timedelta(hours=1)
    elif target == Resolution.DAY:
        source, span = Resolution.HOUR, timedelta(days=1)
    else:
        raise ValueError(f"no roll-up produces {target.name.lower()} data")
    inputs = _rows(conn, device_id, source, bucket, bucket + span)
    existing = {
        r.code: r.derived
        for r in _rows(conn, device_id, target, bucket, bucket + span)
        if r.data_time == bucket
    }
    by_code: dict[str, list[Record]] = {}
    for r in inputs:
        by_code.setdefault(r.code, []).append(
            Record(r.data_time, r.value, r.vmin, r.vmax, r.cou, r.zs, r.flag)
        )
    if target == Resolution.HOUR:
        unit = infer_interval(
            [r.data_time for r in inputs], minute_interval, rules.fallback_minute_interval
        )
        needed = rules.hour_min_minutes
    else:
        unit, needed = day_coverage(rules, interval)
    rows = []
    for code, records in by_code.items():
        if existing.get(code) is False:  # the device sends this resolution itself
            continue
        agg = aggregate(records, needed=needed, unit=unit, rules=rules)
        rows.append(
            {
                "device_id": device_id,
                "resolution": int(target),
                "data_time": bucket,
                "code": code,
                **agg,
            }
        )
    stale = [c for c, derived in existing.items() if derived and c not in by_code]
    if stale:
        writes.delete_derived(conn, device_id, target, bucket, stale)
    writes.upsert_observations(conn, rows, derived=True)
    if target == Resolution.HOUR and (rows or stale):
        writes.mark_dirty(conn, [(device_id, int(Resolution.DAY), writes.day_floor(bucket))])
    return len(rows)


def _day_intervals(conn: Any, marks: Sequence[Any]) -> dict[int, timedelta]:
    """Reporting interval of each device with a day mark, as of the end of its latest marked
    day (so a backfilled year is judged by the interval it had then)."""
    ends: dict[int, datetime] = {}
    for m in marks:
        if Resolution(m.resolution) == Resolution.DAY:
            end = m.bucket + timedelta(days=1)
            ends[m.device_id] = max(end, ends.get(m.device_id, end))
    out: dict[int, timedelta] = {}
    for did, end in ends.items():
        out.update(intervals.reporting_intervals(conn, [did], end))
    return out


def run_rollups(
    engine: Engine,
    *,
    rules: RollupRules | None = None,
    batch: int = 50,
    max_batches: int = 0,
    grace: timedelta | None = None,
    settle: timedelta = timedelta(0),
    now: datetime | None = None,
) -> int:
    """Process dirty buckets (hours before days) until none is left; returns rows written.

    Each batch is one short transaction, so a running gateway's group commits interleave.
    ``max_batches`` > 0 bounds the work of one call (the gateway's periodic worker).

    With ``grace``, a bucket is rolled up only once it has ended ``grace`` ago (China time), so
    a live hour is computed once after it closes instead of after every minute record; with
    ``settle``, only marks untouched for that long are taken, so a burst of late records for
    one bucket is rolled up once. ``now`` is UTC (tests pin it). Without ``grace``, every
    dirty bucket is processed (``qingshan`` commands and tests).
    """
    rules = rules or default_rules()
    written = 0
    done = 0
    while max_batches <= 0 or done < max_batches:
        t = now or utcnow()  # fresh each batch: marks made by earlier batches qualify
        hours_until = days_until = None
        if grace is not None:  # a bucket is due once it has ended ``grace`` ago (China time)
            cst = to_cst(t)
            hours_until = cst - timedelta(hours=1) - grace
            days_until = cst - timedelta(days=1) - grace
        with engine.connect() as conn:
            marks = writes.dirty_buckets(
                conn,
                limit=batch,
                marked_by=t - settle,
                hours_until=hours_until,
                days_until=days_until,
            )
            conn.rollback()
        if not marks:
            break
        months = {partitions.month_of(m.bucket) for m in marks}
        partitions.ensure_months(engine, months)
        with engine.begin() as conn:
            minutes = dict(
                conn.execute(
                    select(Device.id, Device.minute_interval).where(
                        Device.id.in_({m.device_id for m in marks})
                    )
                ).all()
            )
            steps = _day_intervals(conn, marks)
            for m in marks:
                written += recompute_bucket(
                    conn,
                    m.device_id,
                    Resolution(m.resolution),
                    m.bucket,
                    minute_interval=minutes.get(m.device_id),
                    rules=rules,
                    interval=steps.get(m.device_id, HOUR),
                )
                writes.clear_dirty(conn, m)
        done += 1
    return written
