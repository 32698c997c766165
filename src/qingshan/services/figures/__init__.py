"""Environmental-quality figures: computed from stored observations, stored, kept current.

Contract (notes/FIGURES_API.md): :func:`recompute_all`, :func:`update_dirty`,
:func:`station_aqi_now`, :func:`air_quality`, :func:`water_quality`.

Incremental model
-----------------
:func:`qingshan.services.ingest.mark_dirty` marks, besides the roll-up buckets, every
device-day whose hourly data changed (``figure_dirty``): device data, roll-ups of minute data,
late and corrected records alike. :func:`update_dirty` takes the marks and recomputes only what
they touch: the day and hour figures of those days, the month and year figures of the sites,
and those of every region the sites count in; water months and noise days likewise. A mark is
deleted only if it was not renewed meanwhile (``marked_at``), so data arriving during the work
is picked up by the next call.

Figures are derived data: :func:`recompute_all` rebuilds any range from the observations.
See docs/figures.md.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from functools import partial
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import Table, and_, delete, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker

from qingshan.clock import utcnow
from qingshan.services.figures import air as _air
from qingshan.services.figures import water as _water
from qingshan.services.figures._common import (
    FiguresError,
    Regions,
    SiteInfo,
    check_region,
    loads,
    month_bounds,
    months_between,
    parse_month,
    regions,
    sites,
)
from qingshan.standards import water as water_std
from qingshan.standards.air.tables import POLLUTANTS, aqi_table
from qingshan.standards.drinking_water import SourceCompliance, SourceType, compliance_rate
from qingshan.standards.noise import compliance_rates, energy_mean
from qingshan.standards.rounding import round_half_even, round_units, to_fraction
from qingshan.standards.versions import AUTO, resolve
from qingshan.storage import bulk
from qingshan.storage.models import Device, Observation, Resolution, SiteKind
from qingshan.storage.models_figures import (
    AirDayFigure,
    AirHourFigure,
    AirPeriodFigure,
    FigureDirty,
    NoiseDayFigure,
    WaterMonthFigure,
    WaterSampleFigure,
)
from qingshan.storage.writes import dialect_insert

__all__ = [
    "AirQuality",
    "FiguresError",
    "RecomputeStats",
    "StationAqi",
    "WaterQuality",
    "air_quality",
    "recompute_all",
    "station_aqi_now",
    "update_dirty",
    "water_quality",
]

WATER_KINDS = (SiteKind.SURFACE_WATER, SiteKind.DRINKING_WATER, SiteKind.GROUNDWATER)
Progress = Callable[[int, int], None]
SessionFactory = sessionmaker[Session] | Callable[[], Session]


@dataclass(slots=True)
class RecomputeStats:
    """What a recompute wrote."""

    air_days: int = 0
    air_hours: int = 0
    air_periods: int = 0
    water_samples: int = 0
    water_months: int = 0
    noise_days: int = 0
    marks: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ------------------------------------------------------------------------------ writing


def _upsert(conn: Connection, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    table = model.__table__
    assert isinstance(table, Table)
    keys = [c.name for c in table.primary_key.columns]
    stmt = dialect_insert(conn, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=keys,
        set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys},
    )
    # executemany requires rows without repeated keys and with the same columns.
    cols = [c.name for c in table.columns]
    unique = {tuple(r[k] for k in keys): {c: r.get(c) for c in cols} for r in rows}
    bulk.executemany(conn, f"figures-upsert-{table.name}", stmt, list(unique.values()))


# Rows per write transaction. SQLite has one writer lock: the gateway's group commits wait for
# every figure transaction, so each one stays small (a few tens of milliseconds), and no
# transaction is ever open while figures are being computed or their inputs read.
WRITE_BATCH = 2000
_T = TypeVar("_T")


class _Io:
    """Short transactions for figure work: each read and each write batch commits at once."""

    def __init__(self, engine: Any) -> None:
        self.writer = engine.execution_options(qingshan_readonly=False)
        self.reader = engine.execution_options(qingshan_readonly=True)

    def read(self, fn: Callable[[Connection], _T]) -> _T:
        # A deferred (reader) transaction: never takes SQLite's write lock.
        with self.reader.connect() as conn:
            try:
                return fn(conn)
            finally:
                conn.rollback()

    def write(self, fn: Callable[[Connection], _T]) -> _T:
        with self.writer.begin() as conn:
            return fn(conn)

    def upsert(self, model: Any, rows: Sequence[dict[str, Any]]) -> None:
        for i in range(0, len(rows), WRITE_BATCH):
            self.write(partial(_upsert, model=model, rows=rows[i : i + WRITE_BATCH]))


def _year_grid(
    io: _Io, air_sites: Sequence[SiteInfo], year: int, months: dict[tuple[int, int], _air.Grid]
) -> _air.Grid:
    """The year's grid, from already loaded month grids when all twelve are at hand."""
    if all((year, m) in months for m in range(1, 13)):
        parts = [months[(year, m)] for m in range(1, 13)]
        return _air.Grid(
            date(year, 1, 1),
            sum(g.n_days for g in parts),
            list(air_sites),
            {p: np.concatenate([g.values[p] for g in parts], axis=1) for p in POLLUTANTS},
            sum(g.rejected for g in parts),
        )
    return io.read(
        lambda conn: _air.load_grid(conn, air_sites, date(year, 1, 1), date(year, 12, 31))
    )


def _air_work(
    io: _Io,
    air_sites: Sequence[SiteInfo],
    reg: Regions,
    months: Iterable[tuple[int, int]],
    touched_days: set[date] | None,
    touched_sites: set[int] | None,
    stats: RecomputeStats,
    now: datetime,
    progress: Callable[[], None] | None = None,
    keep_months: bool = False,
) -> None:
    """Recompute air figures of ``months`` (day, hour, month; then their years).

    ``touched_days``/``touched_sites`` None = everything; else only the scopes containing a
    touched site, hour figures only on touched days.
    """
    grids: dict[tuple[int, int], _air.Grid] = {}
    years: set[int] = set()
    scs_all: list[_air.Scope] | None = None
    for y, m in sorted(set(months)):
        first, last = month_bounds(y, m)
        grid = io.read(partial(_air.load_grid, air_sites=air_sites, first=first, last=last))
        if scs_all is None:
            scs_all = _air.scopes(grid, reg)
        scs = (
            scs_all if touched_sites is None else _air.affected_scopes(scs_all, grid, touched_sites)
        )
        if keep_months or touched_sites is None:
            grids[(y, m)] = grid
        day_rows = _air.day_rows(grid, scs, now=now)
        if touched_days is not None:
            day_rows = [r for r in day_rows if r["day"] in touched_days]
        io.upsert(AirDayFigure, day_rows)
        stats.air_days += len(day_rows)
        hours = _air.hour_rows(grid, scs, only_days=touched_days)
        io.upsert(AirHourFigure, hours)
        stats.air_hours += len(hours)
        per = _air.period_rows(grid, scs, f"{y:04d}-{m:02d}", now=now)
        io.upsert(AirPeriodFigure, per)
        stats.air_periods += len(per)
        years.add(y)
        if progress is not None:
            progress()
    for y in sorted(years):
        grid = _year_grid(io, air_sites, y, grids)
        assert scs_all is not None
        scs = (
            scs_all if touched_sites is None else _air.affected_scopes(scs_all, grid, touched_sites)
        )
        per = _air.period_rows(grid, scs, f"{y:04d}", now=now)
        io.upsert(AirPeriodFigure, per)
        stats.air_periods += len(per)


def _water_work(
    io: _Io, site: SiteInfo, y: int, m: int, stats: RecomputeStats, now: datetime
) -> None:
    first, last = month_bounds(y, m)
    samples = io.read(lambda conn: _water.load_samples(conn, site, first, last))
    lo = datetime.combine(first, datetime.min.time())
    hi = datetime.combine(last + timedelta(days=1), datetime.min.time())
    rows = _water.sample_rows(site, samples)
    month = [_water.month_row(site, f"{y:04d}-{m:02d}", samples, now=now)] if samples else []

    # One site-month (a few hundred rows at most) replaced in one short transaction, so no
    # reader sees it emptied.
    def store(conn: Connection) -> None:
        w = WaterSampleFigure.__table__.c
        conn.execute(
            delete(WaterSampleFigure).where(
                w.site_id == site.id, w.data_time >= lo, w.data_time < hi
            )
        )
        _upsert(conn, WaterSampleFigure, rows)
        if month:
            _upsert(conn, WaterMonthFigure, month)
        else:
            wm = WaterMonthFigure.__table__.c
            conn.execute(
                delete(WaterMonthFigure).where(
                    wm.site_id == site.id, wm.month == f"{y:04d}-{m:02d}"
                )
            )

    io.write(store)
    stats.water_samples += len(rows)
    stats.water_months += len(month)


def _noise_work(
    io: _Io, site: SiteInfo, first: date, last: date, stats: RecomputeStats, now: datetime
) -> None:
    rows: list[dict[str, Any]] = io.read(
        lambda conn: _water.noise_rows(conn, site, first, last, now=now)
    )

    # One row per day: even a year of one site is a short transaction.
    def store(conn: Connection) -> None:
        n = NoiseDayFigure.__table__.c
        conn.execute(
            delete(NoiseDayFigure).where(n.site_id == site.id, n.day >= first, n.day <= last)
        )
        _upsert(conn, NoiseDayFigure, rows)

    io.write(store)
    stats.noise_days += len(rows)


def _data_range(conn: Connection) -> tuple[date, date] | None:
    o = Observation.__table__.c
    lo, hi = conn.execute(
        select(func.min(o.data_time), func.max(o.data_time)).where(
            o.resolution == int(Resolution.HOUR)
        )
    ).one()
    if lo is None or hi is None:
        return None
    return lo.date(), hi.date()


def _engine_of(session_factory: SessionFactory) -> Any:
    """The factory's engine, as a writer (SQLite: BEGIN IMMEDIATE even if the factory reads)."""
    with session_factory() as s:
        return s.get_bind().execution_options(qingshan_readonly=False)


def recompute_all(
    session_factory: SessionFactory,
    *,
    start: date | None = None,
    end: date | None = None,
    progress: Progress | None = None,
) -> RecomputeStats:
    """Recompute every figure of the months overlapping [start, end] (default: all data).

    Month and year figures are always whole calendar periods; ``progress(done, total)`` is
    called after each month of air figures and each water/noise site.
    """
    t0 = _time.perf_counter()
    stats = RecomputeStats()
    now = utcnow()
    io = _Io(_engine_of(session_factory))
    with session_factory() as s:
        infos = sites(s)
        reg = regions(s)
    rng = io.read(_data_range)
    if rng is None and (start is None or end is None):
        if progress is not None:
            progress(0, 0)
        return stats
    first = start or (rng[0] if rng else date.today())
    last = end or (rng[1] if rng else date.today())
    if last < first:
        raise FiguresError(f"--to {last} is before --from {first}")
    months = months_between(first, last)
    air_sites = [x for x in infos if x.kind == SiteKind.AIR_STATION]
    others = [x for x in infos if x.kind in WATER_KINDS or x.kind == SiteKind.NOISE]
    total = len(months) + len(others)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    if air_sites:
        _air_work(io, air_sites, reg, months, None, None, stats, now, tick)
    else:
        for _ in months:
            tick()
    for site in others:
        if site.kind == SiteKind.NOISE:
            _noise_work(
                io, site, month_bounds(*months[0])[0], month_bounds(*months[-1])[1], stats, now
            )
        else:
            for y, m in months:
                _water_work(io, site, y, m, stats, now)
        tick()
    f = FigureDirty.__table__.c
    lo = datetime.combine(month_bounds(*months[0])[0], datetime.min.time())
    hi = datetime.combine(month_bounds(*months[-1])[1], datetime.min.time())
    # Marks made after ``now`` (data that arrived during the work) stay for update_dirty.
    res = io.write(
        lambda conn: conn.execute(
            delete(FigureDirty).where(f.day >= lo, f.day <= hi, f.marked_at <= now)
        )
    )
    stats.marks = int(res.rowcount or 0)
    stats.seconds = _time.perf_counter() - t0
    return stats


def update_dirty(session_factory: SessionFactory) -> RecomputeStats:
    """Recompute only the figures that new, late or corrected data touched (see module doc)."""
    t0 = _time.perf_counter()
    stats = RecomputeStats()
    now = utcnow()
    io = _Io(_engine_of(session_factory))
    f = FigureDirty.__table__.c
    marks = io.read(lambda conn: list(conn.execute(select(f.device_id, f.day, f.marked_at))))
    if not marks:
        return stats
    with session_factory() as s:
        infos = sites(s)
        reg = regions(s)
        dev_site = dict(s.execute(select(Device.id, Device.site_id)).all())
    by_id = {x.id: x for x in infos}
    touched: dict[int, set[date]] = {}
    for m in marks:
        sid = dev_site.get(m.device_id)
        if sid is not None and sid in by_id:
            touched.setdefault(sid, set()).add(m.day.date())
    air_sites = [x for x in infos if x.kind == SiteKind.AIR_STATION]
    air_touched = {sid for sid in touched if by_id[sid].kind == SiteKind.AIR_STATION}
    if air_touched:
        tdays = set().union(*(touched[sid] for sid in air_touched))
        months = {(d.year, d.month) for d in tdays}
        _air_work(io, air_sites, reg, months, tdays, air_touched, stats, now)
    for sid, ds in touched.items():
        site = by_id[sid]
        if site.kind in WATER_KINDS:
            for y, mo in sorted({(d.year, d.month) for d in ds}):
                _water_work(io, site, y, mo, stats, now)
        elif site.kind == SiteKind.NOISE:
            # An hour before 06:00 of D belongs to the night of D − 1 (GB 3096).
            for d in sorted(ds | {x - timedelta(days=1) for x in ds}):
                _noise_work(io, site, d, d, stats, now)

    # A mark re-made during the work (newer marked_at) stays for the next run.
    def clear(conn: Connection) -> None:
        for m in marks:
            conn.execute(
                delete(FigureDirty).where(
                    and_(f.device_id == m.device_id, f.day == m.day, f.marked_at <= m.marked_at)
                )
            )

    io.write(clear)
    stats.marks = len(marks)
    stats.seconds = _time.perf_counter() - t0
    return stats


# ------------------------------------------------------------------------------ reading: air


@dataclass(frozen=True, slots=True)
class StationAqi:
    site_id: int
    site_code: str
    name: str
    kind: str  # national | provincial | city | background | micro
    time: datetime | None
    aqi: int | None
    level: str | None
    category: str | None
    colour: str | None
    primary_pollutants: list[str]
    iaqi: dict[str, int]
    standard: str | None
    region_code: str | None = None
    official: bool = True

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["time"] = None if self.time is None else self.time.isoformat()
        return d


def _colour(standard: str | None, aqi: int | None) -> str | None:
    if standard is None or aqi is None:
        return None
    r, g, b = aqi_table(standard).category_of(aqi).rgb
    return f"#{r:02X}{g:02X}{b:02X}"


def station_aqi_now(
    session: Session, *, region_code: str | None = None, include_micro: bool = True
) -> list[StationAqi]:
    """The latest stored hourly AQI of every air station (optionally of one region)."""
    reg = regions(session)
    if region_code is not None:
        check_region(reg, region_code)
    infos = [
        x
        for x in sites(session, [SiteKind.AIR_STATION])
        if (region_code is None or reg.contains(region_code, x.region_code))
        and (include_micro or x.air_kind != "micro")
    ]
    h = AirHourFigure.__table__.c
    latest = dict(
        session.execute(
            select(h.scope_code, func.max(h.data_time))
            .where(h.scope == "site", h.standard == AUTO, h.scope_code.in_([x.code for x in infos]))
            .group_by(h.scope_code)
        ).all()
    )
    rows: dict[str, Any] = {}
    for code, t in latest.items():
        rows[code] = session.execute(
            select(AirHourFigure).where(
                h.scope == "site", h.scope_code == code, h.data_time == t, h.standard == AUTO
            )
        ).scalar_one()
    out: list[StationAqi] = []
    for x in infos:
        r: Any = rows.get(x.code)
        std = loads(r.provenance)["HJ633"] if r is not None else None
        out.append(
            StationAqi(
                site_id=x.id,
                site_code=x.code,
                name=x.name,
                kind=x.air_kind,
                time=r.data_time if r else None,
                aqi=r.aqi if r else None,
                level=r.level if r else None,
                category=r.category if r else None,
                colour=_colour(std, r.aqi if r else None),
                primary_pollutants=(
                    r.primary_pollutants.split(",") if r and r.primary_pollutants else []
                ),
                iaqi=loads(r.iaqi) if r else {},
                standard=std,
                region_code=x.region_code,
                official=x.evaluation,
            )
        )
    return out


@dataclass(slots=True)
class AirQuality:
    """Air figures of a region over [start, end]; ``to_dict`` gives plainly named JSON."""

    region_code: str
    region_name: str
    start: date
    end: date
    standard: str
    source: str  # "stored" (figure tables) or "computed" (on request, not stored)
    valid_days: int
    good_days: int
    good_day_ratio: float | None
    heavy_days: int
    composite_index: float | None
    attained: bool | None
    primary_pollutants: list[str]
    primary_pollutant_days: dict[str, int]
    pollutants: dict[str, Any]
    stations: list[dict[str, Any]]
    townships: list[dict[str, Any]]
    daily: list[dict[str, Any]]
    complete: bool | None
    incomplete_reasons: dict[str, list[str]]
    provenance: dict[str, Any]
    category_days: dict[str, int] = field(default_factory=dict)
    # 数据不足 …: why ``attained`` is None (GB 3095 表4), in words; None when it is a verdict.
    verdict_reason: str | None = None
    # 超标天数 and 达标率 per daily indicator (SO2 … PM2_5, O3_8H, O3_1H).
    exceedance_days: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["start"], d["end"] = self.start.isoformat(), self.end.isoformat()
        d["region"] = {"code": self.region_code, "name": self.region_name}
        return d


def _period_of(start: date, end: date) -> str | None:
    if start.month == 1 and start.day == 1 and end == date(start.year, 12, 31):
        return f"{start.year:04d}"
    if start.day == 1 and end == month_bounds(start.year, start.month)[1]:
        return f"{start.year:04d}-{start.month:02d}"
    return None


def _getter(r: Any) -> Callable[[str], Any]:
    if isinstance(r, dict):
        return lambda k: r[k]
    return lambda k: getattr(r, k)


def _day_dict(r: Any) -> dict[str, Any]:
    g = _getter(r)
    return {
        "date": g("day").isoformat(),
        "aqi": g("aqi"),
        "level": g("level"),
        "category": g("category"),
        "primary_pollutants": g("primary_pollutants").split(",") if g("primary_pollutants") else [],
        "valid": bool(g("valid")),
        "reason": g("reason"),
        "aqi_standard": g("aqi_standard"),
        "values": {k: g(c) for k, c in _air.DAY_COLUMNS.items()},
        "provenance": loads(g("provenance")),
    }


def _period_dict(r: Any) -> dict[str, Any]:
    g = _getter(r)
    return {"result": loads(g("result")), "provenance": loads(g("provenance"))}


def air_quality(
    session: Session,
    *,
    region_code: str,
    start: date,
    end: date,
    standard: str = AUTO,
    include_micro: bool = False,
    stored_only: bool = False,
) -> AirQuality:
    """Air figures of a region: from the stored figures for a calendar month or year under
    the standard in force; computed on request (not stored) for other ranges or standards.
    With ``stored_only`` (reports), a period without stored figures raises FiguresError."""
    if end < start:
        raise FiguresError(f"end {end} is before start {start}")
    if (end - start).days > 366:
        raise FiguresError("at most one year (366 days) per request")
    if standard != AUTO:
        resolve("HJ663", standard)  # raises UnknownVersionError with the known ids
    reg = regions(session)
    check_region(reg, region_code)
    infos = [
        x
        for x in sites(session, [SiteKind.AIR_STATION])
        if reg.contains(region_code, x.region_code)
    ]
    shown = [x for x in infos if include_micro or x.air_kind != "micro"]
    period = _period_of(start, end)
    p = AirPeriodFigure.__table__.c
    stored: dict[tuple[str, str], Any] = {}
    day_rows: list[Any] = []
    if period is not None and standard == AUTO:
        codes = [region_code, *[x.code for x in shown]]
        for r in session.scalars(
            select(AirPeriodFigure).where(
                p.period == period, p.standard == AUTO, p.scope_code.in_(codes)
            )
        ):
            stored[(r.scope, r.scope_code)] = r
        d = AirDayFigure.__table__.c
        day_rows = list(
            session.scalars(
                select(AirDayFigure)
                .where(
                    d.scope == "region",
                    d.scope_code == region_code,
                    d.standard == AUTO,
                    d.day >= start,
                    d.day <= end,
                )
                .order_by(d.day)
            )
        )
    source = "stored"
    if ("region", region_code) not in stored and stored_only:
        raise FiguresError(
            f"no stored air figures of {region_code} for {start}…{end} under {standard}: "
            "run `qingshan quality recompute` (reports use stored figures only)"
        )
    if ("region", region_code) not in stored:
        source = "computed"
        all_air = [x for x in sites(session, [SiteKind.AIR_STATION])]
        conn = session.connection()
        grid = _air.load_grid(conn, all_air, start, end)
        scs = [
            sc
            for sc in _air.scopes(grid, reg, also=region_code)
            if (sc.scope == "region" and sc.code == region_code)
            or (sc.scope == "site" and sc.code in {x.code for x in shown})
        ]
        if not any(sc.scope == "region" for sc in scs):
            raise FiguresError(
                f"region {region_code} ({reg.name[region_code]}) has no evaluation air station"
            )
        now = utcnow()
        for pr in _air.period_rows(grid, scs, period or "custom", standard, now=now):
            stored[(pr["scope"], pr["scope_code"])] = pr
        day_rows = [
            r for r in _air.day_rows(grid, scs, standard, now=now) if r["scope"] == "region"
        ]
    region = _period_dict(stored[("region", region_code)])
    res = region["result"]
    stations = []
    for x in shown:
        sr = stored.get(("site", x.code))
        if sr is None:
            continue
        sd = _period_dict(sr)["result"]
        stations.append(
            {
                "code": x.code,
                "name": x.name,
                "kind": x.air_kind,
                "official": x.evaluation,
                "township": reg.township_of(x.region_code),
                "valid_days": sd["valid_days"],
                "good_days": sd["good_days"],
                "good_day_ratio": sd["good_day_ratio"],
                "heavy_days": sd["heavy_pollution_days"],
                "composite_index": sd["composite_index"],
                "primary_pollutants": sd["primary_pollutants"],
                "attained": sd["attained"],
                "verdict_reason": sd.get("verdict_reason"),
                "pm2_5": _stat(sd, "PM2_5", "mean"),
                "pm10": _stat(sd, "PM10", "mean"),
                "o3_p90": _stat(sd, "O3", "p90"),
            }
        )
    _rank(stations)
    towns = _townships(stations, reg)
    daily = [_day_dict(r) for r in day_rows]
    cats: dict[str, int] = {}
    for dd in daily:
        if dd["category"]:
            cats[dd["category"]] = cats.get(dd["category"], 0) + 1
    prov = dict(region["provenance"])
    prov["source"] = source
    prov["standard_requested"] = standard
    return AirQuality(
        region_code=region_code,
        region_name=reg.name[region_code],
        start=start,
        end=end,
        standard=res["standard"],
        source=source,
        valid_days=res["valid_days"],
        good_days=res["good_days"],
        good_day_ratio=res["good_day_ratio"],
        heavy_days=res["heavy_pollution_days"],
        composite_index=res["composite_index"],
        attained=res["attained"],
        primary_pollutants=res["primary_pollutants"],
        primary_pollutant_days=res["primary_pollutant_days"],
        pollutants=res["pollutants"],
        stations=stations,
        townships=towns,
        daily=daily,
        complete=res["complete"],
        incomplete_reasons=res["incomplete_reasons"],
        provenance=prov,
        category_days=cats,
        verdict_reason=res.get("verdict_reason"),
        exceedance_days=res.get("exceedance_days", {}),
    )


def _stat(result: dict[str, Any], pol: str, stat: str) -> float | int | None:
    for s in result["pollutants"].get(pol, {}).get("statistics", []):
        if s["statistic"] == stat:
            v: float | int | None = s["value"]
            return v
    return None


def _rank(stations: list[dict[str, Any]]) -> None:
    """Rank by composite index, lower is better (城市环境空气质量排名 practice); stations
    without an index are not ranked. Official stations and micro-stations are ranked apart."""
    for official in (True, False):
        group = [
            s for s in stations if s["official"] == official and s["composite_index"] is not None
        ]
        group.sort(key=lambda s: s["composite_index"])
        for i, s in enumerate(group, start=1):
            s["rank"] = i
    for s in stations:
        s.setdefault("rank", None)


def _townships(stations: list[dict[str, Any]], reg: Regions) -> list[dict[str, Any]]:
    """Townships ranked by the mean composite index of all their stations (micro-stations
    included: a reference ranking, never an official evaluation)."""
    acc: dict[str, list[dict[str, Any]]] = {}
    for s in stations:
        if s["township"] is not None and s["composite_index"] is not None:
            acc.setdefault(s["township"], []).append(s)
    out: list[dict[str, Any]] = []
    for code, members in acc.items():
        # Exact means of the stored (rounded) figures, rounded once.
        ci = sum((to_fraction(m["composite_index"]) for m in members), Fraction(0)) / len(members)
        pm = [to_fraction(m["pm2_5"]) for m in members if m["pm2_5"] is not None]
        out.append(
            {
                "code": code,
                "name": reg.name.get(code, code),
                "stations": len(members),
                "composite_index": float(round_half_even(ci, 2)),
                "pm2_5": round_units(sum(pm, Fraction(0)) / len(pm)) if pm else None,
            }
        )
    out.sort(key=lambda t: t["composite_index"])
    for i, t in enumerate(out, start=1):
        t["rank"] = i
    return out


# ------------------------------------------------------------------------------ reading: water


@dataclass(slots=True)
class WaterQuality:
    region_code: str
    region_name: str
    month: str
    sections: list[dict[str, Any]]
    share_i_iii: float | None
    share_worse_than_v: float | None
    sections_meeting_target: int
    sections_with_target: int
    drinking_sources: list[dict[str, Any]]
    drinking_compliance_rate: float | None
    groundwater: list[dict[str, Any]]
    noise: dict[str, Any]
    provenance: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["region"] = {"code": self.region_code, "name": self.region_name}
        return d


def _pct(x: Fraction | None) -> float | None:
    """An exact share as a percentage rounded once, half-even, to 0.1 (GB/T 8170)."""
    return None if x is None else float(round_half_even(100 * x, 1))


def water_quality(
    session: Session, *, region_code: str, month: str, stored_only: bool = False
) -> WaterQuality:
    """Water and noise figures of a region for one month (stored figures; computed on the fly
    for sites whose month has not been stored yet, unless ``stored_only``)."""
    y, m = parse_month(month)
    month = f"{y:04d}-{m:02d}"
    reg = regions(session)
    check_region(reg, region_code)
    infos = [
        x
        for x in sites(session, [*WATER_KINDS, SiteKind.NOISE])
        if reg.contains(region_code, x.region_code)
    ]
    wm = WaterMonthFigure.__table__.c
    stored = {
        r.site_id: r
        for r in session.scalars(
            select(WaterMonthFigure).where(wm.month == month, wm.site_id.in_([x.id for x in infos]))
        )
    }
    computed = 0
    rows: dict[int, dict[str, Any]] = {}
    first, last = month_bounds(y, m)
    for x in infos:
        if x.kind not in WATER_KINDS:
            continue
        got = stored.get(x.id)
        if got is not None:
            rows[x.id] = {c.name: getattr(got, c.name) for c in WaterMonthFigure.__table__.columns}
            continue
        if stored_only:
            continue
        samples = _water.load_samples(session.connection(), x, first, last)
        if samples:
            rows[x.id] = _water.month_row(x, month, samples, now=utcnow())
            computed += 1
    ws = WaterSampleFigure.__table__.c
    lo = datetime.combine(first, datetime.min.time())
    hi = datetime.combine(last + timedelta(days=1), datetime.min.time())
    per_sample: dict[int, dict[str, int]] = {}
    for sid, cls_n, n_s in session.execute(
        select(ws.site_id, ws.water_class, func.count())
        .where(ws.site_id.in_([x.id for x in infos]), ws.data_time >= lo, ws.data_time < hi)
        .group_by(ws.site_id, ws.water_class)
    ):
        key = _water.ROMAN.get(cls_n, "—") if cls_n else "—"
        per_sample.setdefault(sid, {})[key] = int(n_s)
    sections, sources, ground = [], [], []
    for x in infos:
        r = rows.get(x.id)
        if x.kind not in WATER_KINDS:
            continue
        res = loads(r["result"]) if r else {}
        prov = loads(r["provenance"]) if r else {"samples": 0}
        cls = r["water_class"] if r else None
        base = {
            "code": x.code,
            "name": x.name,
            "township": reg.township_of(x.region_code),
            "samples": prov.get("samples", 0),
            "provenance": prov,
            "sample_classes": per_sample.get(x.id, {}),
        }
        if x.kind == SiteKind.SURFACE_WATER:
            sections.append(
                {
                    **base,
                    "class": _water.ROMAN.get(cls) if cls else None,
                    "class_number": cls,
                    "target_class": x.target_class,
                    "meets_target": r["meets_target"] if r else None,
                    "status": res.get("status"),
                    "main_pollutants": res.get("main_pollutants", []),
                    "exceedance": res.get("exceed_target", {}),
                    "exceed_iii": res.get("exceed_iii", {}),
                    "means": res.get("means", {}),
                }
            )
        elif x.kind == SiteKind.DRINKING_WATER:
            sources.append(
                {
                    **base,
                    "source_type": x.source_type,
                    "class": _roman_any(cls),
                    "complies": res.get("complies"),
                    "failing_items": res.get("failing_items", []),
                    "means": res.get("means", {}),
                }
            )
        else:
            ground.append(
                {
                    **base,
                    "class": _roman_any(cls),
                    "exceeding_iii": res.get("exceeding_iii", []),
                    "means": res.get("means", {}),
                }
            )
    shares = water_std.class_shares(
        water_std.WaterClass(s["class_number"]) if s["class_number"] else None for s in sections
    )
    with_target = [s for s in sections if s["meets_target"] is not None]
    rate = compliance_rate(
        SourceCompliance(
            SourceType.GROUNDWATER
            if (s["source_type"] or "") in ("groundwater", "地下水")
            else SourceType.SURFACE,
            s["complies"],
            tuple(s["failing_items"]),
            s["samples"],
        )
        for s in sources
    )
    n = NoiseDayFigure.__table__.c
    nrows = list(
        session.scalars(
            select(NoiseDayFigure).where(
                n.day >= first,
                n.day <= last,
                n.site_id.in_([x.id for x in infos if x.kind == SiteKind.NOISE]),
            )
        )
    )
    cr = compliance_rates((r.zone, r.ld, r.ln) for r in nrows)
    noise_st = []
    for x in infos:
        if x.kind != SiteKind.NOISE:
            continue
        mine = [r for r in nrows if r.site_id == x.id]
        ld = [r.ld for r in mine if r.ld is not None]
        ln = [r.ln for r in mine if r.ln is not None]
        noise_st.append(
            {
                "code": x.code,
                "name": x.name,
                "zone": x.noise_zone,
                "days": len(mine),
                "ld_mean": float(energy_mean(ld)) if ld else None,
                "ln_mean": float(energy_mean(ln)) if ln else None,
                "day_ok_days": sum(1 for r in mine if r.day_ok),
                "night_ok_days": sum(1 for r in mine if r.night_ok),
            }
        )
    return WaterQuality(
        region_code=region_code,
        region_name=reg.name[region_code],
        month=month,
        sections=sections,
        share_i_iii=_pct(shares.share_good),
        share_worse_than_v=_pct(shares.share_worse_than_v),
        sections_meeting_target=sum(1 for s in with_target if s["meets_target"]),
        sections_with_target=len(with_target),
        drinking_sources=sources,
        drinking_compliance_rate=_pct(rate.rate),
        groundwater=ground,
        noise={
            "day_rate": _pct(cr.day_rate),
            "night_rate": _pct(cr.night_rate),
            "point_days": cr.n_day,
            "stations": noise_st,
            "rules": {"GB3096": resolve("GB3096", AUTO, first).id},
        },
        provenance={
            "stored_sites": len(stored),
            "computed_sites": computed,
            "rules": {
                "GB3838": resolve("GB3838", AUTO, first).id,
                "GBT14848": resolve("GBT14848", AUTO, first).id,
                "GB3096": resolve("GB3096", AUTO, first).id,
            },
            "method": "地表水环境质量评价办法（试行）环办〔2011〕22号",
        },
    )


def _roman_any(cls: int | None) -> str | None:
    return None if cls is None else _water.ROMAN.get(cls)


def air_days(
    session: Session, *, scope_code: str, start: date, end: date, scope: str = "region"
) -> list[dict[str, Any]]:
    """Stored daily air figures of a site or region (for calendars and 'why not counted?')."""
    d = AirDayFigure.__table__.c
    return [
        _day_dict(r)
        for r in session.scalars(
            select(AirDayFigure)
            .where(
                d.scope == scope,
                d.scope_code == scope_code,
                d.standard == AUTO,
                d.day >= start,
                d.day <= end,
            )
            .order_by(d.day)
        )
    ]
