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
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from math import isfinite
from typing import Any

from sqlalchemy import Engine, String, func, select, tuple_, type_coerce
from sqlalchemy.orm import Session

from qingshan.clock import CST
from qingshan.protocol.hj212.codes import pollutant_info
from qingshan.roles import CLI, Principal
from qingshan.services import intervals
from qingshan.services.errors import NotFound, ServiceError
from qingshan.services.permissions import record_scope, visible_devices
from qingshan.storage.db import READONLY
from qingshan.storage.models import Device, Factor, Observation, Resolution, Site

# Longest time range one web request may cover, per resolution: bounds every response (one
# day of realtime data, a week of minute data, about a year of hours, ten years of days).
MAX_SPAN = {
    Resolution.REALTIME: timedelta(days=1),
    Resolution.MINUTE: timedelta(days=7),
    Resolution.HOUR: timedelta(days=400),
    Resolution.DAY: timedelta(days=3700),
}
PAGE_MAX = 20000
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
            f"{what} {text!r} is not an ISO 8601 time (e.g. 2026-01-01T08:00 or 2026-01-01)"
        ) from None
    return _naive_cst(t)


def _naive_cst(t: datetime) -> datetime:
    try:
        return t.astimezone(CST).replace(tzinfo=None) if t.tzinfo else t
    except (OverflowError, ValueError):
        raise QueryError("start/end out of the representable time range") from None


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
    names: tuple[str, str] = ("start", "end"),
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
        except ValueError as exc:
            raise QueryError(str(exc)) from None
    a, b = _naive_cst(start), _naive_cst(end)
    if b < a:
        raise QueryError(f"{names[1]} {b.isoformat()} is before {names[0]} {a.isoformat()}")
    if bounded and b - a > MAX_SPAN[res]:
        raise QueryError(
            f"time range too long for {res.name.lower()} data: at most {MAX_SPAN[res].days} "
            "days per request; use a coarser resolution or several requests"
        )
    return TimeRange(res, a, b)


def parse_codes(codes: str | None) -> list[str] | None:
    """Comma-separated factor codes; None for all."""
    if codes is None or not codes.strip():
        return None
    out = [c.strip() for c in codes.split(",") if c.strip()]
    if len(out) > 40 or any(len(c) > 16 for c in out):
        raise QueryError("codes: at most 40 factor codes of up to 16 characters")
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
        raise QueryError("too many points: narrow the range or the factors")
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
        raise QueryError("completeness is counted for hour or day data")
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
        raise QueryError("cursor is not one this API gave out") from None


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
        raise QueryError(f"format {fmt!r}: use csv, json or xlsx")


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
                raise QueryError("give exactly one of site and mn")
            site_id = s.scalar(select(Site.id).where(Site.code == site_code))
            if site_id is None:
                raise NotFound(f"no site with code {site_code!r}")
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
