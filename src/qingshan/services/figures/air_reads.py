"""Reading air figures: the latest hourly AQI by station, a region's period figures, its days.

Stored figures are read as they are; a range or standard that is not stored is computed on
request by :mod:`qingshan.services.figures.air` (and not stored). Everything returned is a typed
dataclass; ``to_dict()`` gives the plainly named JSON of the CLI and the web API.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qingshan.clock import utcnow
from qingshan.services.figures import air as _air
from qingshan.services.figures._common import (
    FiguresError,
    Regions,
    check_region,
    loads,
    month_bounds,
    regions,
    sites,
)
from qingshan.standards.air.tables import aqi_table
from qingshan.standards.rounding import round_half_even, round_units, to_fraction
from qingshan.standards.versions import AUTO, resolve
from qingshan.storage.models import SiteKind
from qingshan.storage.models_figures import AirDayFigure, AirHourFigure, AirPeriodFigure

__all__ = [
    "AirDay",
    "AirQuality",
    "ExceedanceDays",
    "PollutantFigures",
    "StationAqi",
    "StationFigures",
    "StatisticFigure",
    "TownshipFigures",
    "air_days",
    "air_quality",
    "station_aqi_now",
]

Number = float | int


@dataclass(frozen=True, slots=True)
class StationAqi:
    """The latest stored hourly AQI (实时报) of one air station."""

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
    # the hour's concentrations as stored in the figure (SO2 … PM2_5, O3_8H), unrounded
    concentrations: dict[str, float | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["time"] = None if self.time is None else self.time.isoformat()
        return d


@dataclass(frozen=True, slots=True)
class StatisticFigure:
    """One period statistic of a pollutant (HJ 663): value, limit and verdict."""

    statistic: str  # mean | p98 | p95 | p90
    name: str  # 年平均, 日平均第95百分位数 …
    value: Number | None  # rounded as published; µg/m³ (CO mg/m³)
    limit: Number | None
    valid_days: int
    attained: bool | None  # None: no value, or 数据不足 (GB 3095 表4)
    exceedance_multiple: float | None


@dataclass(frozen=True, slots=True)
class PollutantFigures:
    attained: bool | None
    verdict_reason: str | None  # why there is no verdict (数据不足 …), in words
    statistics: list[StatisticFigure]

    def statistic(self, name: str) -> StatisticFigure | None:
        return next((s for s in self.statistics if s.statistic == name), None)


@dataclass(frozen=True, slots=True)
class ExceedanceDays:
    """超标天数 and 达标率 of one daily indicator over the period."""

    name: str  # PM₂.₅ 日平均 …
    limit: Number | None
    valid_days: int
    exceedance_days: int
    compliance_rate: float | None  # %


@dataclass(frozen=True, slots=True)
class AirDay:
    """One stored day of a site or region: values, AQI, validity and why not counted."""

    date: str  # ISO date
    aqi: int | None
    level: str | None
    category: str | None
    primary_pollutants: list[str]
    valid: bool
    reason: str | None
    aqi_standard: str | None
    values: dict[str, Number | None]  # SO2 … PM2_5, O3_1H, O3_8H daily values
    provenance: dict[str, Any]  # valid hours, windows, rule ids, stations (free-form record)


@dataclass(slots=True)
class StationFigures:
    """A station's figures over the period, beside its region's."""

    code: str
    name: str
    kind: str
    official: bool  # counts in the region's official evaluation
    township: str | None
    valid_days: int
    good_days: int
    good_day_ratio: float | None
    heavy_days: int
    composite_index: float | None
    primary_pollutants: list[str]
    attained: bool | None
    verdict_reason: str | None
    pm2_5: Number | None  # period means, µg/m³
    pm10: Number | None
    o3_p90: Number | None
    rank: int | None = None  # by composite index, lower is better; official and others apart


@dataclass(slots=True)
class TownshipFigures:
    """A township's reference ranking (micro-stations included, never official)."""

    code: str
    name: str
    stations: int
    composite_index: float
    pm2_5: int | None
    rank: int | None = None


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
    pollutants: dict[str, PollutantFigures]
    stations: list[StationFigures]
    townships: list[TownshipFigures]
    daily: list[AirDay]
    complete: bool | None
    incomplete_reasons: dict[str, list[str]]
    provenance: dict[str, Any]
    category_days: dict[str, int] = field(default_factory=dict)
    # 数据不足 …: why ``attained`` is None (GB 3095 表4), in words; None when it is a verdict.
    verdict_reason: str | None = None
    # 超标天数 and 达标率 per daily indicator (SO2 … PM2_5, O3_8H, O3_1H).
    exceedance_days: dict[str, ExceedanceDays] = field(default_factory=dict)

    def statistic(self, pollutant: str, statistic: str) -> StatisticFigure | None:
        pol = self.pollutants.get(pollutant)
        return None if pol is None else pol.statistic(statistic)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["start"], d["end"] = self.start.isoformat(), self.end.isoformat()
        d["region"] = {"code": self.region_code, "name": self.region_name}
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
                concentrations=loads(r.concentrations) if r is not None else {},
            )
        )
    return out


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


def _day(r: Any) -> AirDay:
    """A stored day row (or a computed one, as a dict) as an :class:`AirDay`."""
    g = _getter(r)
    return AirDay(
        date=g("day").isoformat(),
        aqi=g("aqi"),
        level=g("level"),
        category=g("category"),
        primary_pollutants=g("primary_pollutants").split(",") if g("primary_pollutants") else [],
        valid=bool(g("valid")),
        reason=g("reason"),
        aqi_standard=g("aqi_standard"),
        values={k: g(c) for k, c in _air.DAY_COLUMNS.items()},
        provenance=loads(g("provenance")),
    )


def _period_dict(r: Any) -> dict[str, Any]:
    g = _getter(r)
    return {"result": loads(g("result")), "provenance": loads(g("provenance"))}


def _pollutants(raw: Mapping[str, Any]) -> dict[str, PollutantFigures]:
    """The stored evaluation's ``pollutants`` part (figures stored before the exact arithmetic
    have no ``verdict_reason``)."""
    return {
        p: PollutantFigures(
            attained=v.get("attained"),
            verdict_reason=v.get("verdict_reason"),
            statistics=[
                StatisticFigure(
                    statistic=s["statistic"],
                    name=s["name"],
                    value=s["value"],
                    limit=s["limit"],
                    valid_days=s["valid_days"],
                    attained=s["attained"],
                    exceedance_multiple=s["exceedance_multiple"],
                )
                for s in v.get("statistics", [])
            ],
        )
        for p, v in raw.items()
    }


def _exceedances(raw: Mapping[str, Any]) -> dict[str, ExceedanceDays]:
    return {
        k: ExceedanceDays(
            name=v["name"],
            limit=v["limit"],
            valid_days=v["valid_days"],
            exceedance_days=v["exceedance_days"],
            compliance_rate=v["compliance_rate"],
        )
        for k, v in raw.items()
    }


def _stat(result: Mapping[str, Any], pol: str, stat: str) -> Number | None:
    for s in result["pollutants"].get(pol, {}).get("statistics", []):
        if s["statistic"] == stat:
            v: Number | None = s["value"]
            return v
    return None


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
    left_out: dict[str, str] = {}
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
        # A station whose data the evaluation refuses is left out (and named in the
        # provenance), never a failed request for the whole region (issue 18).
        left_out = _air.screen(grid)
        scs = [
            sc
            for sc in _air.without_failed(_air.scopes(grid, reg, also=region_code), left_out)
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
    stations: list[StationFigures] = []
    for x in shown:
        sr = stored.get(("site", x.code))
        if sr is None:
            continue
        sd = _period_dict(sr)["result"]
        stations.append(
            StationFigures(
                code=x.code,
                name=x.name,
                kind=x.air_kind,
                official=x.evaluation,
                township=reg.township_of(x.region_code),
                valid_days=sd["valid_days"],
                good_days=sd["good_days"],
                good_day_ratio=sd["good_day_ratio"],
                heavy_days=sd["heavy_pollution_days"],
                composite_index=sd["composite_index"],
                primary_pollutants=sd["primary_pollutants"],
                attained=sd["attained"],
                verdict_reason=sd.get("verdict_reason"),
                pm2_5=_stat(sd, "PM2_5", "mean"),
                pm10=_stat(sd, "PM10", "mean"),
                o3_p90=_stat(sd, "O3", "p90"),
            )
        )
    _rank(stations)
    towns = _townships(stations, reg)
    daily = [_day(r) for r in day_rows]
    cats: dict[str, int] = {}
    for dd in daily:
        if dd.category:
            cats[dd.category] = cats.get(dd.category, 0) + 1
    prov = dict(region["provenance"])
    prov["source"] = source
    if left_out:
        prov["stations_left_out"] = left_out
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
        pollutants=_pollutants(res["pollutants"]),
        stations=stations,
        townships=towns,
        daily=daily,
        complete=res["complete"],
        incomplete_reasons=res["incomplete_reasons"],
        provenance=prov,
        category_days=cats,
        verdict_reason=res.get("verdict_reason"),
        exceedance_days=_exceedances(res.get("exceedance_days", {})),
    )


def _rank(stations: list[StationFigures]) -> None:
    """Rank by composite index, lower is better (城市环境空气质量排名 practice); stations
    without an index are not ranked. Official stations and micro-stations are ranked apart."""
    for official in (True, False):
        group = [s for s in stations if s.official == official and s.composite_index is not None]
        group.sort(key=lambda s: s.composite_index or 0.0)
        for i, s in enumerate(group, start=1):
            s.rank = i


def _townships(stations: list[StationFigures], reg: Regions) -> list[TownshipFigures]:
    """Townships ranked by the mean composite index of all their stations (micro-stations
    included: a reference ranking, never an official evaluation)."""
    acc: dict[str, list[StationFigures]] = {}
    for s in stations:
        if s.township is not None and s.composite_index is not None:
            acc.setdefault(s.township, []).append(s)
    out: list[TownshipFigures] = []
    for code, members in acc.items():
        # Exact means of the stored (rounded) figures, rounded once.
        ci = sum(
            (to_fraction(m.composite_index) for m in members if m.composite_index is not None),
            Fraction(0),
        ) / len(members)
        pm = [to_fraction(m.pm2_5) for m in members if m.pm2_5 is not None]
        out.append(
            TownshipFigures(
                code=code,
                name=reg.name.get(code, code),
                stations=len(members),
                composite_index=float(round_half_even(ci, 2)),
                pm2_5=round_units(sum(pm, Fraction(0)) / len(pm)) if pm else None,
            )
        )
    out.sort(key=lambda t: t.composite_index)
    for i, t in enumerate(out, start=1):
        t.rank = i
    return out


def air_days(
    session: Session, *, scope_code: str, start: date, end: date, scope: str = "region"
) -> list[AirDay]:
    """Stored daily air figures of a site or region (for calendars and 'why not counted?')."""
    d = AirDayFigure.__table__.c
    return [
        _day(r)
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
