"""Observations: stored monitoring data read back out, for the web, the CLI and reports alike.

Queries (latest record per resolution, chart series, completeness, a keyset-paginated record
list) and ONE streamed export, used by ``qingshan data export`` and ``GET /api/v1/export``.
Every format carries every stored field of a record (value, Min, Max, Cou, the converted
values ZsRtd/ZsAvg, ZsMin, ZsMax, the flag, the derived marker and sample count) as the exact
decimal text the device sent: JSON strings, CSV text, and text cells in xlsx, so that
``9007199254740993`` and ``0.10`` survive a round trip. Nothing is built whole in memory but
the xlsx container (a zip, spooled to a temporary file).

Times are China Standard Time: stored naive, given out with ``+08:00``; a time without an
offset is taken as CST.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cache
from math import isfinite
from typing import Any

from sqlalchemy import Engine, String, func, select, tuple_, type_coerce
from sqlalchemy.orm import Session

from qingshan.clock import CST
from qingshan.protocol.hj212.codes import data_flags, map_2005_to_2017, pollutant_info
from qingshan.roles import CLI, Principal
from qingshan.services import intervals
from qingshan.services.errors import NotFound, ServiceError
from qingshan.services.permissions import record_scope, visible_devices
from qingshan.standards.display import decimals_for, display_text
from qingshan.storage.db import READONLY
from qingshan.storage.models import Device, DeviceFactor, Factor, Observation, Resolution, Site

# Longest time range one web request may cover, per resolution: bounds every response (one
# day of realtime data, a week of minute data, about a year of hours, ten years of days).
MAX_SPAN = {
    Resolution.REALTIME: timedelta(days=1),
    Resolution.MINUTE: timedelta(days=7),
    Resolution.HOUR: timedelta(days=400),
    Resolution.DAY: timedelta(days=3700),
}
PAGE_MAX = 20000
# Names of the resolutions in messages (HJ 212-2017 数据类型).
RESOLUTION_NAMES = {
    Resolution.REALTIME: "实时数据",
    Resolution.MINUTE: "分钟数据",
    Resolution.HOUR: "小时数据",
    Resolution.DAY: "日数据",
}
# Downsampling of chart series asked for with ``resolution=auto`` (docs/web.md): the finest
# stored resolution that keeps a chart readable and cheap. Up to 2 days: minute data (a day of
# 1-minute data is 1,440 points per factor); up to 60 days: the hourly roll-ups (or the
# device's own hourly values), at most 1,440 points; longer: the daily roll-ups. The bounds are
# inclusive. No averaging happens at request time: the roll-ups are computed once, by the
# rules of GB 3095-2012 (qingshan.services.rollups), and their validity flags reach the chart.
AUTO_RESOLUTION = (
    (timedelta(days=2), Resolution.MINUTE),
    (timedelta(days=60), Resolution.HOUR),
)
AUTO_RULE = "时段不超过2天用分钟数据，不超过60天用小时数据，更长用日数据"
SERIES_MAX_POINTS = PAGE_MAX * 5
XLSX_MAX_ROWS = 1_000_000  # Excel sheets stop at 1 048 576 rows


class QueryError(ServiceError):
    """A bad query (times, resolution, codes, cursor), with a message for the user."""


# ---------------------------------------------------------------------------- parameters


@dataclass(frozen=True, slots=True)
class TimeRange:
    resolution: Resolution
    start: datetime  # naive CST, inclusive
    end: datetime  # naive CST, inclusive


def parse_time(text: str, what: str) -> datetime:
    """ISO 8601 → naive China Standard Time (how ``data_time`` is stored).

    A time without offset is taken as China Standard Time; one with an offset is converted.
    """
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise QueryError(
            f"{what} “{text}” 不是 ISO 8601 时间（例如 2026-01-01T08:00 或 2026-01-01）"
        ) from None
    return _naive_cst(t)


def _naive_cst(t: datetime) -> datetime:
    try:
        return t.astimezone(CST).replace(tzinfo=None) if t.tzinfo else t
    except (OverflowError, ValueError):
        raise QueryError("开始或结束时间超出可表示的范围") from None


def auto_resolution(start: datetime, end: datetime) -> Resolution:
    """The resolution ``resolution=auto`` uses for the range [start, end] (see
    :data:`AUTO_RESOLUTION`)."""
    span = _naive_cst(end) - _naive_cst(start)
    for bound, res in AUTO_RESOLUTION:
        if span <= bound:
            return res
    return Resolution.DAY


_UNIT = {
    Resolution.MINUTE: timedelta(minutes=1),
    Resolution.HOUR: timedelta(hours=1),
    Resolution.DAY: timedelta(days=1),
}


def chart_range(rng: TimeRange) -> TimeRange:
    """The range a chart series covers: ``start`` rounded up and ``end`` rounded down to whole
    units of the resolution (minutes, hours, China days; realtime data as asked), so two
    requests a few seconds apart read the same records (and share one cached payload)."""
    unit = _UNIT.get(rng.resolution)
    if unit is None:
        return rng
    day0 = datetime(2000, 1, 1)  # any midnight: day units are China days (times are CST)
    lo = day0 + -((day0 - rng.start) // unit) * unit  # ceiling
    hi = day0 + ((rng.end - day0) // unit) * unit  # floor
    return TimeRange(rng.resolution, lo, hi)  # hi < lo: no whole unit inside, no records


def time_range(
    resolution: str | Resolution,
    start: datetime,
    end: datetime,
    *,
    bounded: bool = True,
    names: tuple[str, str] = ("开始时间", "结束时间"),
) -> TimeRange:
    """A checked range: ``end`` not before ``start`` and, when ``bounded`` (web requests),
    no longer than :data:`MAX_SPAN` of the resolution. ``names`` name the two parameters in
    messages (``--from``/``--to`` on the command line)."""
    if isinstance(resolution, Resolution):
        res = resolution
    elif resolution == "auto":
        res = auto_resolution(start, end)
    else:
        try:
            res = Resolution.parse(resolution)
        except ValueError:
            raise QueryError(
                f"数据类型 “{resolution}” 无效：可选 realtime（实时数据）、minute（分钟数据）、"
                "hour（小时数据）、day（日数据）"
            ) from None
    a, b = _naive_cst(start), _naive_cst(end)
    if b < a:
        raise QueryError(
            f"{names[1]} {b:%Y-%m-%d %H:%M} 早于 {names[0]} {a:%Y-%m-%d %H:%M}（北京时间）："
            "结束时间不能早于开始时间"
        )
    if bounded and b - a > MAX_SPAN[res]:
        raise QueryError(
            f"时间范围过长：{RESOLUTION_NAMES[res]}每次最多查询 {MAX_SPAN[res].days} 天，"
            "请缩短时间范围或改用更粗的数据类型"
        )
    return TimeRange(res, a, b)


def parse_codes(codes: str | None) -> list[str] | None:
    """Comma-separated factor codes; None for all."""
    if codes is None or not codes.strip():
        return None
    out = [c.strip() for c in codes.split(",") if c.strip()]
    if len(out) > 40 or any(len(c) > 16 for c in out):
        raise QueryError("因子编码：最多 40 个，每个不超过 16 个字符")
    return out


# ---------------------------------------------------------------------------- factor names

# Ambient-air stations report the AQI pollutants in μg/m³ (CO in mg/m³), GB 3095-2012 表1,
# where HJ 212-2017 附录B lists the emission units (mg/m³).
AMBIENT_UNITS = {
    "a21026": "μg/m³",
    "a21004": "μg/m³",
    "a05024": "μg/m³",
    "a34002": "μg/m³",
    "a34004": "μg/m³",
    "a21005": "mg/m³",
}
# HJ 212-2017 附录B codes missing from the packaged table (ambient O3, HJ 212-2017 表B.1).
AMBIENT_NAMES = {"a05024": "臭氧"}


class FactorNames(dict[str, tuple[str, str | None]]):
    """Factor code → (name, unit): the registry's factor table, else HJ 212-2017 附录B."""

    def __init__(self, registry: dict[str, tuple[str, str | None]], ambient: bool) -> None:
        super().__init__(registry)
        self.ambient = ambient

    def __missing__(self, code: str) -> tuple[str, str | None]:
        info = pollutant_info(code)
        value: tuple[str, str | None] = (info.name, info.unit or None) if info else (code, None)
        if info is None and code in AMBIENT_NAMES:
            value = (AMBIENT_NAMES[code], None)
        if self.ambient and code in AMBIENT_UNITS:
            value = (value[0], AMBIENT_UNITS[code])
        self[code] = value
        return value


def factor_names(s: Session, kind: str | None = None) -> FactorNames:
    """Names and units of factor codes, as a site of ``kind`` reports them."""
    reg: dict[str, tuple[str, str | None]] = {}
    for code, name, unit, edition in s.execute(
        select(Factor.code, Factor.name, Factor.unit, Factor.edition)
    ):
        if code not in reg or edition == "2017":
            reg[code] = (name, unit)
    if kind == "air_station":  # the registry may hold the emission units of these codes
        for code, unit in AMBIENT_UNITS.items():
            if code in reg:
                reg[code] = (reg[code][0], unit)
    return FactorNames(reg, kind == "air_station")


# ---------------------------------------------------------------------------- display


def _type_decimals(data_type: str) -> int | None:
    """Decimals of an HJ 212 data type: ``N4.2`` → 2, ``N4`` → 0; None for text (``C6``)."""
    if not data_type.startswith("N"):
        return None
    _, _, dec = data_type[1:].partition(".")
    return int(dec) if dec.isdigit() else 0


@cache
def display_decimals(kind: str | None, code: str) -> int | None:
    """Decimals a factor is shown with at a site of ``kind``: the standards' reporting precision
    (``standards/data/display-precision.toml``), else the decimals of the code's HJ 212-2017
    附录B data type; None (shown as stored) for a code in neither. An HJ/T 212-2005 code is
    read as the 2017 code it became."""
    code17 = code if pollutant_info(code) else map_2005_to_2017().get(code, code)
    d = decimals_for(kind, code17)
    if d is not None:
        return d
    info = pollutant_info(code17)
    return _type_decimals(info.data_type) if info else None


def display_value(kind: str | None, code: str, value: str | None) -> str | None:
    """The one way a stored value is shown to people (query table, site page, map popups):
    rounded once, GB/T 8170 half-even, to the factor's display precision
    (:func:`display_decimals`); a value that is not a number is shown as stored."""
    return display_text(value, display_decimals(kind, code))


def flag_labels() -> dict[str, str]:
    """HJ 212-2017 data flag → its short Chinese name (校准, 维护 …)."""
    return {k: v[0] for k, v in data_flags().items()}


# ---------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class Record:
    """One stored observation, every field as stored (values as exact decimal text)."""

    time: datetime  # naive CST
    mn: str
    code: str
    name: str | None
    unit: str | None
    value: str | None  # Rtd (realtime) or Avg
    vmin: str | None
    vmax: str | None
    cou: str | None
    zs: str | None  # ZsRtd / ZsAvg
    zs_min: str | None
    zs_max: str | None
    flag: str | None
    derived: bool  # computed by the platform (roll-up), not sent by the device
    samples: int | None  # valid inputs of a derived record

    @property
    def iso_time(self) -> str:
        return self.time.replace(tzinfo=CST).isoformat()


def _record_columns() -> tuple[Any, ...]:
    o = Observation
    return (
        o.data_time,
        o.device_id,
        o.code,
        o.value,
        o.vmin,
        o.vmax,
        o.cou,
        o.zs,
        o.zs_min,
        o.zs_max,
        o.flag,
        o.derived,
        o.samples,
    )


def _record(row: Sequence[Any], mns: dict[int, str], names: FactorNames | None) -> Record:
    t, dev, code, v, vmin, vmax, cou, zs, zs_min, zs_max, flag, derived, samples = row
    name, unit = names[code] if names is not None else (None, None)
    return Record(
        t,
        mns[dev],
        code,
        name,
        unit,
        v,
        vmin,
        vmax,
        cou,
        zs,
        zs_min,
        zs_max,
        flag,
        bool(derived),
        samples,
    )


def _in_range(q: Any, ids: Sequence[int], rng: TimeRange, codes: list[str] | None) -> Any:
    o = Observation
    q = q.where(
        o.device_id.in_(ids),
        o.resolution == int(rng.resolution),
        o.data_time >= rng.start,
        o.data_time <= rng.end,
    )
    return q.where(o.code.in_(codes)) if codes else q


# ---------------------------------------------------------------------------- site queries


@dataclass(frozen=True, slots=True)
class Latest:
    resolution: Resolution
    time: datetime  # naive CST
    records: list[Observation]


def latest(s: Session, device_ids: Sequence[int]) -> list[Latest]:
    """The latest record of the devices at each resolution that has data."""
    if not device_ids:
        return []
    o = Observation
    out = []
    for res in Resolution:
        t = s.scalar(
            select(func.max(o.data_time)).where(
                o.device_id.in_(device_ids), o.resolution == int(res)
            )
        )
        if t is None:
            continue
        rows = s.scalars(
            select(o)
            .where(o.device_id.in_(device_ids), o.resolution == int(res), o.data_time == t)
            .order_by(o.code)
        )
        out.append(Latest(res, t, list(rows)))
    return out


@dataclass(frozen=True, slots=True)
class SeriesData:
    code: str
    name: str | None
    unit: str | None
    times: list[str]  # ISO 8601 with +08:00
    values: list[float | None]
    flags: list[str | None]


def series(
    s: Session,
    device_ids: Sequence[int],
    rng: TimeRange,
    codes: list[str] | None,
    names: FactorNames,
) -> list[SeriesData]:
    """Chart data: one series per factor code, in code then time order, with flags.

    Values are floats here (a chart needs numbers); the exact text is in records/export.
    """
    o = Observation
    # The time column is read as the stored text (SQLite) so that thousands of points skip
    # datetime parsing; PostgreSQL still hands back datetimes. _iso_cst handles both.
    q = _in_range(
        select(o.code, type_coerce(o.data_time, String), o.value, o.flag), device_ids, rng, codes
    )
    q = q.order_by(o.code, o.data_time).limit(SERIES_MAX_POINTS + 1)
    by: dict[str, SeriesData] = {}
    rows = s.connection().execute(q).all()
    if len(rows) > SERIES_MAX_POINTS:
        raise QueryError("数据点过多：请缩短时间范围或减少因子")
    for code, t, v, f in rows:
        ser = by.get(code)
        if ser is None:
            nm, unit = names[code]
            ser = by[code] = SeriesData(code, nm, unit, [], [], [])
        ser.times.append(_iso_cst(t))
        ser.values.append(_float(v))
        ser.flags.append(f)
    return list(by.values())


def _iso_cst(t: str | datetime) -> str:
    """ISO 8601 with +08:00 from a stored CST time (SQLite text ``YYYY-MM-DD HH:MM:SS[.f]``
    or a datetime)."""
    if isinstance(t, datetime):
        return t.replace(tzinfo=CST).isoformat()
    return t[:10] + "T" + t[11:19] + "+08:00"


def _float(v: str | None) -> float | None:
    """A stored value as a chart number; None when it is none (text, or beyond a float: a
    value stored before values were bounded must not make the whole series fail)."""
    try:
        x = None if v is None else float(v)
    except ValueError:
        return None
    return x if x is None or isfinite(x) else None


@dataclass(frozen=True, slots=True)
class FactorCompleteness:
    code: str
    name: str | None
    received: int
    valid: int  # flag N or absent
    expected: int
    ratio: float  # received / expected, 4 decimals
    interval_minutes: int  # the reporting interval the expected count is based on


def completeness(
    s: Session, device_ids: Sequence[int], rng: TimeRange, now: datetime | None = None
) -> tuple[int, list[FactorCompleteness]]:
    """Records received per factor against the records due in the range: the largest expected
    count and one line per factor.

    Hour data: each device owes one record per reporting interval
    (:func:`qingshan.services.intervals.device_intervals`, as of the end of the range) — 24 a
    day from an hourly station, 6 from a water station sampling every 4 hours — counted on
    whole hours within [start, end] and only for periods that have closed by ``now`` (naive
    CST; default: the current time). Day data: one record per day."""
    if rng.resolution not in (Resolution.HOUR, Resolution.DAY):
        raise QueryError("数据完整率只按小时数据或日数据统计")
    o = Observation
    names = factor_names(s)
    valid_flag = (o.flag.is_(None)) | (o.flag == "N")
    rng = chart_range(rng)  # whole hours (days): the records that can fall in the range
    q = _in_range(
        select(
            o.code,
            o.device_id,
            func.count(func.distinct(o.data_time)),
            func.count(func.distinct(o.data_time)).filter(valid_flag),
        ),
        device_ids,
        rng,
        None,
    )
    rows = s.execute(q.group_by(o.code, o.device_id).order_by(o.code, o.device_id)).all()
    day = intervals.Interval(timedelta(days=1), None, "default")
    grid = (
        intervals.device_intervals(s, device_ids, rng.end)
        if rng.resolution == Resolution.HOUR
        else dict.fromkeys(device_ids, day)
    )
    current = now or datetime.now(CST).replace(tzinfo=None)

    def owed(x: intervals.Interval) -> int:
        # a period is due once it has closed (the hour 08:00 at 09:00, a day at midnight)
        return intervals.expected_slots(x, rng.start, min(rng.end, current - x.step))

    per_code: dict[str, list[tuple[int, int, int]]] = {}
    for code, did, n, v in rows:
        per_code.setdefault(code, []).append((did, n, v))
    out: list[FactorCompleteness] = []
    for code, devs in per_code.items():
        # several devices sending one factor: the most frequent one sets what is due
        x = min((grid.get(d, intervals.DEFAULT) for d, _n, _v in devs), key=lambda i: i.step)
        expected = owed(x)
        received = min(sum(n for _d, n, _v in devs), expected)
        valid = min(sum(v for _d, _n, v in devs), expected)
        ratio = round(received / expected, 4) if expected else 0.0
        out.append(
            FactorCompleteness(code, names[code][0], received, valid, expected, ratio, x.minutes)
        )
    fallback = grid.get(device_ids[0], intervals.DEFAULT) if device_ids else intervals.DEFAULT
    expected_all = max((f.expected for f in out), default=owed(fallback))
    return expected_all, out


# ---------------------------------------------------------------------------- record pages


def _cursor(t: datetime, code: str, device_id: int) -> str:
    return base64.urlsafe_b64encode(f"{t.isoformat()}|{code}|{device_id}".encode()).decode()


def _uncursor(c: str) -> tuple[datetime, str, int]:
    try:
        t, code, dev = base64.urlsafe_b64decode(c.encode()).decode().split("|")
        if not 0 < int(dev) < 2**31 or len(code) > 16:
            raise ValueError(dev)
        return datetime.fromisoformat(t), code, int(dev)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise QueryError("分页标记无效：请重新查询") from None


@dataclass(frozen=True, slots=True)
class RecordPage:
    records: list[Record]
    next_cursor: str | None  # None at the end


def record_page(
    s: Session,
    p: Principal,
    rng: TimeRange,
    *,
    site_id: int | None = None,
    mn: str | None = None,
    codes: list[str] | None = None,
    limit: int = 1000,
    cursor: str | None = None,
) -> RecordPage:
    """One page of the records of a site or a device (MN) within the principal's scope, in
    (time, code, device) order; pass ``next_cursor`` back for the next page."""
    mns = visible_devices(s, p, site_id=site_id, mn=mn)
    o = Observation
    q = _in_range(select(*_record_columns()), list(mns), rng, codes).where(record_scope(p))
    q = q.order_by(o.data_time, o.code, o.device_id).limit(limit + 1)
    if cursor:
        t, code, dev = _uncursor(cursor)
        q = q.where(tuple_(o.data_time, o.code, o.device_id) > tuple_(t, code, dev))
    rows = s.execute(q).all()
    nxt = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        nxt = _cursor(last[0], last[2], last[1])
    return RecordPage([_record(r, mns, None) for r in rows], nxt)


# ---------------------------------------------------------------------------- wide table


@dataclass(frozen=True, slots=True)
class SiteFactor:
    """A factor one device of a site measures, with its name and unit as the site reports it."""

    code: str
    mn: str
    name: str
    unit: str | None
    decimals: int | None


def site_factors(s: Session, p: Principal, site_id: int) -> tuple[str, list[SiteFactor]]:
    """The site's kind and the factors its devices measure (within the principal's scope): the
    registry's device factors and every code of the devices' latest records (a device that
    sends a factor the registry does not list still shows it), by code then MN."""
    mns = visible_devices(s, p, site_id=site_id)
    kind = s.scalar(select(Site.kind).where(Site.id == site_id)) or ""
    pairs = set(
        s.execute(
            select(DeviceFactor.device_id, DeviceFactor.code).where(
                DeviceFactor.device_id.in_(list(mns))
            )
        ).tuples()
    )
    for x in latest(s, list(mns)):
        pairs.update((r.device_id, r.code) for r in x.records)
    names = factor_names(s, kind)
    out = [
        SiteFactor(code, mns[dev], names[code][0], names[code][1], display_decimals(kind, code))
        for dev, code in pairs
    ]
    return kind, sorted(out, key=lambda f: (f.code, f.mn))


@dataclass(frozen=True, slots=True)
class WideColumn:
    """One column of the time × factor table: a factor (of one device, when several devices
    of the site measure it)."""

    key: str  # code, or code@MN when the code is measured by several devices
    code: str
    mn: str | None
    name: str
    unit: str | None
    header: str  # 名称 (单位)


@dataclass(frozen=True, slots=True)
class WideCell:
    value: str | None  # as stored (exact text)
    display: str | None  # rounded to the display precision (display_value)
    flag: str | None
    zs: str | None
    zs_display: str | None


@dataclass(frozen=True, slots=True)
class WideRow:
    time: datetime  # naive CST
    cells: list[WideCell | None]


@dataclass(frozen=True, slots=True)
class WidePage:
    kind: str
    columns: list[WideColumn]
    rows: list[WideRow]
    next_cursor: str | None
    flag_labels: dict[str, str] = field(default_factory=flag_labels)


def _time_cursor(t: datetime) -> str:
    return base64.urlsafe_b64encode(f"T|{t.isoformat()}".encode()).decode()


def _time_uncursor(c: str) -> datetime:
    try:
        tag, t = base64.urlsafe_b64decode(c.encode()).decode().split("|")
        if tag != "T":
            raise ValueError(tag)
        return datetime.fromisoformat(t)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise QueryError("分页标记无效：请重新查询") from None


def _header(name: str, unit: str | None) -> str:
    return f"{name} ({unit})" if unit else name


def wide_page(
    s: Session,
    p: Principal,
    rng: TimeRange,
    *,
    site_id: int,
    codes: list[str] | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> WidePage:
    """One page of a site's records as a time × factor table: ``limit`` times per page (each
    row one time, every factor of that time), columns the asked ``codes`` in their order (all
    the site's factors when None), headed "名称 (单位)"; each cell the stored value, its
    display text and flag. Pass ``next_cursor`` back for the next page."""
    kind, factors = site_factors(s, p, site_id)
    mns = visible_devices(s, p, site_id=site_id)
    by_code: dict[str, list[SiteFactor]] = {}
    for f in factors:
        by_code.setdefault(f.code, []).append(f)
    names = factor_names(s, kind)
    columns: list[WideColumn] = []

    def add(code: str, mn: str | None) -> None:
        name, unit = names[code]
        head = _header(name, unit) + (f" [{mn}]" if mn else "")
        columns.append(WideColumn(f"{code}@{mn}" if mn else code, code, mn, name, unit, head))

    for code in codes if codes is not None else list(by_code):
        measured = by_code.get(code, [])
        if len(measured) > 1:
            for f in measured:
                add(code, f.mn)
        else:
            add(code, None)
    o = Observation
    tq = _in_range(select(o.data_time), list(mns), rng, codes).where(record_scope(p))
    if cursor:
        tq = tq.where(o.data_time > _time_uncursor(cursor))
    times = list(s.scalars(tq.group_by(o.data_time).order_by(o.data_time).limit(limit + 1)))
    nxt = None
    if len(times) > limit:
        times = times[:limit]
        nxt = _time_cursor(times[-1])
    rows: list[WideRow] = []
    if times:
        page = TimeRange(rng.resolution, times[0], times[-1])
        q = _in_range(
            select(o.data_time, o.device_id, o.code, o.value, o.flag, o.zs),
            list(mns),
            page,
            codes,
        ).where(record_scope(p))
        index = {c.key: i for i, c in enumerate(columns)}
        grid: dict[datetime, list[WideCell | None]] = {}
        for t, dev, code, v, flag, zs in s.execute(q.order_by(o.data_time, o.code, o.device_id)):
            mn = mns[dev]
            key = f"{code}@{mn}" if f"{code}@{mn}" in index else code
            if key not in index:  # a factor the registry does not list, sent by a device
                add(code, None)
                index[code] = len(columns) - 1
            cells = grid.setdefault(t, [])
            cells.extend([None] * (len(columns) - len(cells)))
            cells[index[key]] = WideCell(
                v, display_value(kind, code, v), flag, zs, display_value(kind, code, zs)
            )
        for t in times:
            cells = grid.get(t, [])
            rows.append(WideRow(t, cells + [None] * (len(columns) - len(cells))))
    return WidePage(kind, columns, rows, nxt)


# ---------------------------------------------------------------------------- export

# Every stored field, in this order, in every format: JSON keys and CSV/xlsx headers.
EXPORT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("time", "时间"),
    ("mn", "设备MN"),
    ("code", "因子编码"),
    ("name", "因子名称"),
    ("unit", "单位"),
    ("value", "数值"),
    ("min", "最小值"),
    ("max", "最大值"),
    ("cou", "累计值"),
    ("zs", "折算值"),
    ("zs_min", "折算最小值"),
    ("zs_max", "折算最大值"),
    ("flag", "数据标记"),
    ("derived", "派生"),
    ("samples", "有效样本数"),
)
EXPORT_HEADER = [label for _, label in EXPORT_COLUMNS]
FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "json": ("application/json", "json"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
}


def record_json(r: Record) -> dict[str, Any]:
    """A record as a JSON object: values as strings (exact), ``derived`` a boolean."""
    return {
        "time": r.iso_time,
        "mn": r.mn,
        "code": r.code,
        "name": r.name,
        "unit": r.unit,
        "value": r.value,
        "min": r.vmin,
        "max": r.vmax,
        "cou": r.cou,
        "zs": r.zs,
        "zs_min": r.zs_min,
        "zs_max": r.zs_max,
        "flag": r.flag,
        "derived": r.derived,
        "samples": r.samples,
    }


def record_texts(r: Record) -> list[str | None]:
    """A record as the cells of a CSV or xlsx row (None: empty); ``derived`` is 1 or 0."""
    return [
        r.iso_time,
        r.mn,
        r.code,
        r.name,
        r.unit,
        r.value,
        r.vmin,
        r.vmax,
        r.cou,
        r.zs,
        r.zs_min,
        r.zs_max,
        r.flag,
        "1" if r.derived else "0",
        None if r.samples is None else str(r.samples),
    ]


@dataclass
class Export:
    """A checked export request; :meth:`records` streams from a connection of its own, so the
    caller's session may close before the first row is read (a streamed web response)."""

    label: str  # what the records are, for a file name
    reader: Engine
    query: Any
    mns: dict[int, str]
    names: FactorNames

    def bounded(self, max_rows: int) -> Export:
        """This export, refused with a clear message (before anything is streamed) when it
        holds more than ``max_rows`` records, and streaming at most that many (rows stored
        after the count do not lift the bound)."""
        counted = select(func.count()).select_from(
            self.query.order_by(None).limit(max_rows + 1).subquery()
        )
        with self.reader.connect() as conn:
            n = int(conn.execute(counted).scalar() or 0)
        if n > max_rows:
            raise QueryError(
                f"导出记录超过上限 {max_rows} 条：请缩小时间范围或只选部分因子后再导出"
            )
        return replace(self, query=self.query.limit(max_rows))

    def records(self) -> Iterator[Record]:
        with self.reader.connect() as conn:
            for row in conn.execute(self.query.execution_options(yield_per=5000)):
                yield _record(row, self.mns, self.names)

    def chunks(self, fmt: str, *, excel: bool = False) -> Iterator[bytes]:
        """The export as bytes of ``fmt`` (csv, json or xlsx); ``excel``: a CSV file for
        Excel (byte-order mark, CRLF lines) rather than for a pipe."""
        if fmt == "csv":
            return csv_chunks(self.records(), excel=excel)
        if fmt == "json":
            return json_chunks(self.records())
        if fmt == "xlsx":
            return xlsx_chunks(self.records())
        raise QueryError(f"导出格式 “{fmt}” 无效：可选 csv、json、xlsx")


def open_export(
    engine: Engine,
    p: Principal,
    rng: TimeRange,
    *,
    site_id: int | None = None,
    site_code: str | None = None,
    mn: str | None = None,
    codes: list[str] | None = None,
) -> Export:
    """Check an export of one site (by id or code) or one device (MN) within the principal's
    scope; errors come here, before anything is streamed."""
    reader = engine.execution_options(**READONLY)
    with Session(reader) as s:
        if site_code is not None:
            if site_id is not None or mn is not None:
                raise QueryError("点位和设备MN只能给出其中一个")
            site_id = s.scalar(select(Site.id).where(Site.code == site_code))
            if site_id is None:
                raise NotFound(f"没有编码为 “{site_code}” 的点位")
        mns = visible_devices(s, p, site_id=site_id, mn=mn)
        # Units as the site reports them (ambient air: μg/m³, not the emission units).
        kinds = set(
            s.scalars(
                select(Site.kind)
                .join(Device, Device.site_id == Site.id)
                .where(Device.id.in_(list(mns)))
            )
        )
        names = factor_names(s, kinds.pop() if len(kinds) == 1 else None)
    o = Observation
    q = _in_range(select(*_record_columns()), list(mns), rng, codes).where(record_scope(p))
    q = q.order_by(o.data_time, o.code, o.device_id)
    what = site_code or (str(site_id) if site_id is not None else mn)
    label = f"{what}_{rng.resolution.name.lower()}_{rng.start:%Y%m%d%H%M}-{rng.end:%Y%m%d%H%M}"
    return Export(label, reader, q, mns, names)


def resolve_target(engine: Engine, text: str) -> tuple[str | None, str | None]:
    """What ``qingshan data export TEXT`` names: ``(None, mn)`` for a device's MN, ``(code,
    None)`` for a site's code; refused when it names neither, or both (a site coded like a
    device's MN: say which with --mn or --site)."""
    with Session(engine) as s:
        is_device = s.scalar(select(Device.id).where(Device.mn == text)) is not None
        is_site = s.scalar(select(Site.id).where(Site.code == text)) is not None
    if is_device and is_site:
        raise QueryError(f"“{text}” 既是设备MN又是点位编码：请用 --mn 或 --site 指明")
    if is_device:
        return None, text
    if is_site:
        return text, None
    raise NotFound(f"没有 MN 或编码为 “{text}” 的设备或点位")


def device_of_site(engine: Engine, site_code: str, mn: str) -> str:
    """``mn`` when that device belongs to the site ``site_code``; else a message naming the
    site's devices."""
    with Session(engine) as s:
        site_id = s.scalar(select(Site.id).where(Site.code == site_code))
        if site_id is None:
            raise NotFound(f"没有编码为 “{site_code}” 的点位")
        mns = list(
            s.scalars(select(Device.mn).where(Device.site_id == site_id).order_by(Device.mn))
        )
    if mn not in mns:
        raise QueryError(
            f"设备 {mn} 不属于点位 {site_code}；该点位的设备：{'、'.join(mns) or '无'}"
        )
    return mn


def export_observations(
    engine: Engine, *, mn: str, resolution: Resolution, start: datetime, end: datetime
) -> Iterator[Record]:
    """Every record of device ``mn`` with ``start <= time <= end`` (naive CST), by time then
    code, unbounded (the operator's view)."""
    rng = time_range(resolution, start, end, bounded=False)
    return open_export(engine, CLI, rng, mn=mn).records()


def csv_chunks(records: Iterator[Record], *, excel: bool = False) -> Iterator[bytes]:
    """UTF-8 CSV with a header row of :data:`EXPORT_HEADER`; empty cells for absent fields."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n" if excel else "\n")
    w.writerow(EXPORT_HEADER)
    yield (("\ufeff" if excel else "") + buf.getvalue()).encode()
    buf.seek(0)
    buf.truncate()
    for i, r in enumerate(records, 1):
        w.writerow(["" if x is None else x for x in record_texts(r)])
        if i % 2000 == 0:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode()


def json_chunks(records: Iterator[Record]) -> Iterator[bytes]:
    """A JSON array, one object per line, written as the rows arrive."""
    parts: list[str] = []
    first = True
    for r in records:
        parts.append(("[\n" if first else ",\n") + json.dumps(record_json(r), ensure_ascii=False))
        first = False
        if len(parts) >= 2000:
            yield "".join(parts).encode()
            parts.clear()
    parts.append("[]\n" if first else "\n]\n")
    yield "".join(parts).encode()


def xlsx_chunks(records: Iterator[Record]) -> Iterator[bytes]:
    """A one-sheet workbook, every value a text cell (Excel would round a number to 15
    significant digits and drop trailing zeros)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("监测数据")
    ws.append(EXPORT_HEADER)

    def text_cell(x: str | None) -> Any:
        if x is None or not x.startswith("="):
            return x
        cell = WriteOnlyCell(ws, value=x)
        cell.data_type = "s"  # never a formula
        return cell

    for i, r in enumerate(records, 1):
        if i > XLSX_MAX_ROWS:
            ws.append([f"超过 {XLSX_MAX_ROWS} 行，已截断；请缩小时间范围或改用 CSV"])
            break
        ws.append([text_cell(x) for x in record_texts(r)])
    # The xlsx container is a zip written at save time; spool it, then stream it out.
    with tempfile.SpooledTemporaryFile(max_size=8 << 20) as fh:
        wb.save(fh)
        fh.seek(0)
        while chunk := fh.read(1 << 16):
            yield chunk
