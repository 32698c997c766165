"""Figure jobs: recompute every figure of a range, or only what new data touched; store them.

Incremental model
-----------------
:func:`qingshan.storage.writes.mark_dirty` marks, besides the roll-up buckets, every
device-day whose hourly data changed (``figure_dirty``): device data, roll-ups of minute data,
late and corrected records alike. :func:`update_dirty` takes the marks and recomputes only what
they touch: the day and hour figures of those days, the month and year figures of the sites,
and those of every region the sites count in; water months and noise days likewise (a noise
value before 06:00 also the night before). A mark is deleted only if it was not renewed
meanwhile (``marked_at``), so data arriving during the work is picked up by the next call.

Figures are derived data: :func:`recompute_all` rebuilds any range from the observations.
Transactions are short (each read and each write batch commits on its own); see
docs/figures.md.

Per-station isolation
---------------------
One station whose data its computation refuses (a negative concentration, CO in µg/m³, a
noise level of 10^14 dB) must not stop the district's figures (issue 18): air stations are
screened (:func:`qingshan.services.figures.air.screen`) and a refused one is left out — its
own figures are not written, the regions are computed from the other stations; a water or
noise site is computed on its own and a failure stops only that site. Each failure is
recorded as a ``figures_failed`` event of the station's devices (shown with the device's
events to operators, once per distinct reason), logged, and listed in
:attr:`RecomputeStats.failed`. The marks are cleared as for any other station: correcting the
data marks the day again.
"""

from __future__ import annotations

import logging
import time as _time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import and_, delete, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker

from qingshan.clock import utcnow
from qingshan.services.figures import air as _air
from qingshan.services.figures import noise as _noise
from qingshan.services.figures import water as _water
from qingshan.services.figures._common import (
    WATER_KINDS,
    FiguresError,
    Regions,
    SiteInfo,
    month_bounds,
    months_between,
    regions,
    sites,
)
from qingshan.standards.air.tables import POLLUTANTS
from qingshan.storage import writes
from qingshan.storage.models import Device, DeviceEvent, Observation, Resolution, SiteKind
from qingshan.storage.models_figures import (
    AirDayFigure,
    AirHourFigure,
    AirPeriodFigure,
    FigureDirty,
    NoiseDayFigure,
    WaterMonthFigure,
    WaterSampleFigure,
)

__all__ = ["WRITE_BATCH", "Progress", "RecomputeStats", "recompute_all", "update_dirty"]

log = logging.getLogger("qingshan.figures")

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
    #: stations whose figures could not be computed: {"site", "name", "what", "reason"}
    failed: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def fail(self, site: SiteInfo, what: str, reason: str) -> None:
        entry = {"site": site.code, "name": site.name, "what": what, "reason": reason[:500]}
        if entry not in self.failed:
            self.failed.append(entry)
            log.error("figures of %s %s (%s) not computed: %s", site.code, site.name, what, reason)


# ------------------------------------------------------------------------------ writing


def _upsert(conn: Connection, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    writes.upsert_rows(conn, model, rows)


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
) -> tuple[_air.Grid, dict[str, str]]:
    """The year's grid, from already loaded (screened) month grids when all twelve are at hand,
    and the stations screened out of it."""
    if all((year, m) in months for m in range(1, 13)):
        parts = [months[(year, m)] for m in range(1, 13)]
        return _air.Grid(
            date(year, 1, 1),
            sum(g.n_days for g in parts),
            list(air_sites),
            {p: np.concatenate([g.values[p] for g in parts], axis=1) for p in POLLUTANTS},
            sum(g.rejected for g in parts),
        ), {}
    grid = io.read(
        lambda conn: _air.load_grid(conn, air_sites, date(year, 1, 1), date(year, 12, 31))
    )
    return grid, _air.screen(grid)


def _screened(grid: _air.Grid, what: str, stats: RecomputeStats) -> dict[str, str]:
    failed = _air.screen(grid)
    by_code = {x.code: x for x in grid.sites}
    for code, reason in failed.items():
        stats.fail(by_code[code], what, reason)
    return failed


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
    left_out: set[str] = set()  # stations screened out of any month: no year figure either
    years: set[int] = set()
    scs_all: list[_air.Scope] | None = None
    for y, m in sorted(set(months)):
        first, last = month_bounds(y, m)
        grid = io.read(partial(_air.load_grid, air_sites=air_sites, first=first, last=last))
        failed = _screened(grid, f"air {y:04d}-{m:02d}", stats)
        if scs_all is None:
            scs_all = _air.scopes(grid, reg)
        scs = (
            scs_all if touched_sites is None else _air.affected_scopes(scs_all, grid, touched_sites)
        )
        scs = _air.without_failed(scs, failed)
        left_out |= failed.keys()
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
        grid, failed = _year_grid(io, air_sites, y, grids)
        for code, reason in failed.items():
            stats.fail(next(x for x in air_sites if x.code == code), f"air {y:04d}", reason)
        assert scs_all is not None
        scs = (
            scs_all if touched_sites is None else _air.affected_scopes(scs_all, grid, touched_sites)
        )
        scs = _air.without_failed(scs, failed.keys() | left_out)
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
        lambda conn: _noise.noise_rows(conn, site, first, last, now=now)
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


def _isolated(
    stats: RecomputeStats, sites_: Sequence[SiteInfo], what: str, work: Callable[[], None]
) -> None:
    """Run one station's (or the air stations') work; a refusal of its data by the
    computation (ValueError: the standards' input errors; ArithmeticError: overflow) is
    recorded against those stations instead of stopping the job. Database errors propagate."""
    try:
        work()
    except (ValueError, ArithmeticError) as exc:
        for site in sites_:
            stats.fail(site, what, f"{type(exc).__name__}: {exc}")


#: ``device_event.kind`` of a station whose figures could not be computed.
FIGURES_FAILED = "figures_failed"


def _record_failures(io: _Io, stats: RecomputeStats, infos: Sequence[SiteInfo]) -> None:
    """One ``figures_failed`` event per device of each failed station, unless its latest such
    event already says the same (a job running every few minutes must not flood the log)."""
    if not stats.failed:
        return
    by_code = {x.code: x for x in infos}
    per_site: dict[str, tuple[list[str], list[str]]] = {}
    for f in stats.failed:  # one event per station and run: what failed, and why
        whats, reasons = per_site.setdefault(f["site"], ([], []))
        whats.append(f["what"])
        if f["reason"] not in reasons:
            reasons.append(f["reason"])
    wanted: list[tuple[int, str]] = []
    for code, (whats, reasons) in per_site.items():
        site = by_code.get(code)
        if site is None:
            continue
        detail = f"{code} {site.name}：{'、'.join(whats)} 的指标未计算（{'；'.join(reasons)}）"
        wanted += [(dev, detail) for dev in site.devices]
    if not wanted:
        return
    now = utcnow()

    def write(conn: Connection) -> None:
        e = DeviceEvent.__table__.c
        mns = dict(
            conn.execute(
                select(Device.id, Device.mn).where(Device.id.in_({d for d, _ in wanted}))
            ).all()
        )
        rows = []
        for dev, detail in wanted:
            mn = mns.get(dev)
            if mn is None:
                continue
            last = conn.execute(
                select(e.detail)
                .where(e.mn == mn, e.kind == FIGURES_FAILED)
                .order_by(e.at.desc(), e.id.desc())
                .limit(1)
            ).scalar()
            if last != detail:
                rows.append(
                    {"at": now, "mn": mn, "kind": FIGURES_FAILED, "peer": None, "detail": detail}
                )
        if rows:
            writes.insert_rows(conn, DeviceEvent, rows)

    io.write(write)


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
        _isolated(
            stats,
            air_sites,
            "air",
            lambda: _air_work(io, air_sites, reg, months, None, None, stats, now, tick),
        )
    else:
        for _ in months:
            tick()
    for site in others:
        if site.kind == SiteKind.NOISE:
            lo_day, hi_day = month_bounds(*months[0])[0], month_bounds(*months[-1])[1]
            _isolated(
                stats,
                [site],
                f"noise {lo_day}…{hi_day}",
                partial(_noise_work, io, site, lo_day, hi_day, stats, now),
            )
        else:
            for y, m in months:
                _isolated(
                    stats,
                    [site],
                    f"water {y:04d}-{m:02d}",
                    partial(_water_work, io, site, y, m, stats, now),
                )
        tick()
    _record_failures(io, stats, infos)
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
        _isolated(
            stats,
            [by_id[sid] for sid in sorted(air_touched)],
            "air",
            lambda: _air_work(io, air_sites, reg, months, tdays, air_touched, stats, now),
        )
    for sid, ds in touched.items():
        site = by_id[sid]
        if site.kind in WATER_KINDS:
            for y, mo in sorted({(d.year, d.month) for d in ds}):
                _isolated(
                    stats,
                    [site],
                    f"water {y:04d}-{mo:02d}",
                    partial(_water_work, io, site, y, mo, stats, now),
                )
        elif site.kind == SiteKind.NOISE:
            # An hour before 06:00 of D belongs to the night of D − 1 (GB 3096).
            for d in sorted(ds | {x - timedelta(days=1) for x in ds}):
                _isolated(
                    stats, [site], f"noise {d}", partial(_noise_work, io, site, d, d, stats, now)
                )
    _record_failures(io, stats, infos)

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
