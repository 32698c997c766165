"""What the cockpit (驾驶舱) answers a 局长, from stored figures and the loaded plan.

* **AQI now** of the district (and of its city when the registry holds it): the latest stored
  hourly real-time AQI (HJ 633 实时报) of the region scope, which the figures service computes
  from the region's evaluation stations only (no micro-stations, no 对照点).
* **Yesterday's 日报**: the stored daily figure of the region for yesterday (Beijing time):
  AQI, level, category, 首要污染物, or why the day is not valid.
* **Year to date** (1 January to yesterday, the last complete day): 优良天数 and 有效天数
  counted from the region's stored daily figures (a good day is a valid day with AQI ≤ 100,
  HJ 663-2013 §5), the 优良天数比率 against the plan target, and the number of non-good days
  the rest of the year can still afford (:func:`qingshan.plans.status.good_day_projection`:
  with N = valid days so far + days left, the target t % holds when good days ≥ ⌈t·N/100⌉, so
  N − ⌈t·N/100⌉ − non-good days so far more may come; exact integers and fractions, the
  remaining days assumed valid). PM2.5: the mean of the valid days' daily PM2.5 values
  against the plan's ceiling (:func:`qingshan.plans.status.mean_projection`). Targets come
  from the loaded plan (:func:`qingshan.services.plans.assess.air_target`), else from the
  deployment's recorded targets; none recorded: no target, no verdict.
* **Exceeding now**: outlets with an open 超标 alarm episode (:mod:`.sources.alarms`), named
  with their enterprise, pollutant, start, peak and limit. **Offline now**: outlets with an open
  离线 episode, and active devices whose last data is older than ``offline_after`` (their last
  report read from stored data, not only from the connection log).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qingshan.plans.status import (
    STATUS_LABELS,
    Status,
    good_day_projection,
    mean_projection,
    value_status,
)
from qingshan.services.figures._common import air_codes, loads
from qingshan.services.intervals import (
    Intervals,
    last_reports,
    reporting_intervals,
    silent_devices,
)
from qingshan.services.plans import assess as plan_assess
from qingshan.services.sources import alarms
from qingshan.standards.air.tables import aqi_table
from qingshan.standards.display import decimals_for
from qingshan.standards.rounding import round_half_even, to_fraction
from qingshan.standards.versions import AUTO
from qingshan.storage.models import Device, Enterprise, Region, Site
from qingshan.storage.models_figures import AirDayFigure, AirHourFigure
from qingshan.storage.models_sources import SourceEpisode

__all__ = [
    "AqiNow",
    "DailyReport",
    "ExceedingItem",
    "Intervals",
    "OfflineItem",
    "YearProgress",
    "aqi_now",
    "exceeding_now",
    "offline_now",
    "published_concentrations",
    "reporting_intervals",
    "silent_devices",
    "year_progress",
    "yesterday_report",
]

GOOD_AQI = 100  # HJ 633: AQI 0–100 is 优 or 良


def _published() -> dict[str, int]:
    """The six pollutants of the real-time report with the decimals the national 实时发布 pages
    show (μg/m³ integers, CO mg/m³ 1 decimal): the ambient-air display precision of
    ``standards/data/display-precision.toml`` (HJ 633-2026 §4.2.2/§4.2.3)."""
    code_of = {name: code for code, name in air_codes().items()}
    out = {}
    for k in ("PM2_5", "PM10", "SO2", "NO2", "O3", "CO"):
        d = decimals_for("air_station", code_of[k])
        if d is None:
            raise ValueError(f"no display precision for ambient {k} ({code_of[k]})")
        out[k] = d
    return out


PUBLISHED = _published()


def published_concentrations(conc: dict[str, Any]) -> dict[str, str | None]:
    """The six concentrations of a station hour, rounded as published (exactly, from the
    stored value's shortest text)."""
    out: dict[str, str | None] = {}
    for k, places in PUBLISHED.items():
        v = conc.get(k)
        out[k] = None if v is None else str(round_half_even(to_fraction(v), places))
    return out


def _colour(standard: str | None, aqi: int | None) -> str | None:
    if standard is None or aqi is None:
        return None
    r, g, b = aqi_table(standard).category_of(aqi).rgb
    return f"#{r:02X}{g:02X}{b:02X}"


@dataclass(frozen=True, slots=True)
class AqiNow:
    region_code: str
    region_name: str
    time: datetime | None  # hour start, Beijing time
    aqi: int | None
    level: str | None
    category: str | None
    colour: str | None
    primary_pollutants: list[str]


def _region_names(s: Session) -> dict[str, tuple[str, str | None, str]]:
    return {
        code: (name, parent, level)
        for code, name, parent, level in s.execute(
            select(Region.code, Region.name, Region.parent_code, Region.level)
        )
    }


def aqi_now(s: Session, region: str) -> list[AqiNow]:
    """The latest hourly AQI of ``region`` and, when the registry holds it with stored figures,
    of its city (the region's nearest ancestor of level ``city``)."""
    names = _region_names(s)
    codes = [region]
    parent = names.get(region, ("", None, ""))[1]
    while parent is not None and parent in names:
        if names[parent][2] == "city":
            codes.append(parent)
            break
        parent = names[parent][1]
    h = AirHourFigure.__table__.c
    out: list[AqiNow] = []
    for i, code in enumerate(codes):
        r = s.scalars(
            select(AirHourFigure)
            .where(h.scope == "region", h.scope_code == code, h.standard == AUTO)
            .order_by(h.data_time.desc())
            .limit(1)
        ).first()
        if r is None and i > 0:
            continue  # the city has no stored figures here: not shown
        std = loads(r.provenance).get("HJ633") if r is not None else None
        out.append(
            AqiNow(
                region_code=code,
                region_name=names.get(code, (code, None, ""))[0],
                time=r.data_time if r else None,
                aqi=r.aqi if r else None,
                level=r.level if r else None,
                category=r.category if r else None,
                colour=_colour(std, r.aqi if r else None),
                primary_pollutants=(
                    r.primary_pollutants.split(",") if r and r.primary_pollutants else []
                ),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class DailyReport:
    day: date
    aqi: int | None
    level: str | None
    category: str | None
    colour: str | None
    primary_pollutants: list[str]
    valid: bool
    reason: str | None


def yesterday_report(s: Session, region: str, today: date) -> DailyReport:
    """The region's stored 日报 of the day before ``today`` (Beijing time); a day without a
    stored figure is reported as not valid, with the reason."""
    day = today - timedelta(days=1)
    d = AirDayFigure.__table__.c
    r = s.scalars(
        select(AirDayFigure).where(
            d.scope == "region", d.scope_code == region, d.standard == AUTO, d.day == day
        )
    ).first()
    if r is None:
        return DailyReport(day, None, None, None, None, [], False, "无日数据")
    return DailyReport(
        day=day,
        aqi=r.aqi,
        level=r.level,
        category=r.category,
        colour=_colour(r.aqi_standard, r.aqi),
        primary_pollutants=r.primary_pollutants.split(",") if r.primary_pollutants else [],
        valid=bool(r.valid),
        reason=r.reason,
    )


@dataclass(slots=True)
class Indicator:
    """One year-to-date indicator against its target (texts as published, exact)."""

    value: str | None  # 1 decimal, GB/T 8170 from the exact value
    target: str | None  # as the plan writes it
    comparison: str | None  # at_least / at_most
    target_source: str | None
    met: bool | None  # the value so far against the target (exact)
    status: str  # qingshan.plans.status STATUSES
    status_label: str
    reason: str
    projection: dict[str, Any] | None


@dataclass(slots=True)
class YearProgress:
    year: int
    first: date
    through: date | None  # the last complete day counted; None on 1 January
    remaining_days: int
    valid_days: int
    good_days: int
    non_good_days: int
    good_day_ratio: Indicator
    pm2_5: Indicator
    pm2_5_days: int
    non_good_days_allowed: int | None = None  # more non-good days the target still allows
    notes: list[str] = field(default_factory=list)


def _fmt1(x: Fraction) -> str:
    return str(round_half_even(x, 1))


def _indicator(
    value: Fraction | None, target: plan_assess.AirTarget | None, status: Any
) -> Indicator:
    met = None
    if value is not None and target is not None:
        v = to_fraction(target.value)
        met = value >= v if target.comparison == "at_least" else value <= v
    return Indicator(
        value=None if value is None else _fmt1(value),
        target=None if target is None else target.value,
        comparison=None if target is None else target.comparison,
        target_source=None if target is None else target.source,
        met=met,
        status=status.status,
        status_label=STATUS_LABELS[status.status],
        reason=status.reason,
        projection=status.projection,
    )


def year_progress(
    s: Session, region: str, today: date, *, through: date | None = None
) -> YearProgress:
    """优良天数比率 and PM2.5 from 1 January to yesterday against this year's targets (see the
    module docstring). One query over at most 365 stored daily figures. ``through``: count
    to that day of its year instead (a monthly report's 1–N月累计 to the month's end)."""
    year = today.year if through is None else through.year
    first, end = date(year, 1, 1), date(year, 12, 31)
    last = min(end, today - timedelta(days=1)) if through is None else through
    through = last if last >= first else None
    remaining = (end - last).days if through else (end - first).days + 1
    d = AirDayFigure.__table__.c
    rows = (
        []
        if through is None
        else s.execute(
            select(d.valid, d.aqi, d.pm2_5).where(
                d.scope == "region",
                d.scope_code == region,
                d.standard == AUTO,
                d.day >= first,
                d.day <= last,
            )
        ).all()
    )
    valid = [r for r in rows if r.valid and r.aqi is not None]
    good = sum(1 for r in valid if r.aqi <= GOOD_AQI)
    pm = [to_fraction(r.pm2_5) for r in rows if r.valid and r.pm2_5 is not None]
    pm_mean = sum(pm, Fraction(0)) / len(pm) if pm else None
    ratio = Fraction(good * 100, len(valid)) if valid else None

    gt = plan_assess.air_target(s, region, year, "air.good_day_ratio")
    if gt is None:
        gst = Status("not_assessable", "本年没有优良天数比率目标")
    elif gt.comparison != "at_least":
        gst = value_status(gt.comparator, ratio, final=remaining == 0)
    else:
        gst = good_day_projection(good, len(valid), remaining, gt.comparator)
    pt = plan_assess.air_target(s, region, year, "air.pm2_5")
    if pt is None:
        pst = Status("not_assessable", "本年没有PM2.5浓度目标")
    elif pm_mean is None:
        pst = Status("not_assessable", "本年尚无有效日均值")
    elif pt.comparison != "at_most":
        pst = value_status(pt.comparator, pm_mean, final=remaining == 0)
    else:
        pst = mean_projection(pm_mean, len(pm), remaining, pt.comparator)
    allowed = gst.projection.get("non_good_days_affordable") if gst.projection else None
    return YearProgress(
        year=year,
        first=first,
        through=through,
        remaining_days=remaining,
        valid_days=len(valid),
        good_days=good,
        non_good_days=len(valid) - good,
        good_day_ratio=_indicator(ratio, gt, gst),
        pm2_5=_indicator(pm_mean, pt, pst),
        pm2_5_days=len(pm),
        non_good_days_allowed=int(allowed) if allowed is not None else None,
    )


@dataclass(frozen=True, slots=True)
class ExceedingItem:
    episode_id: int
    site_id: int
    outlet: str
    outlet_name: str
    enterprise: str
    pollutant: str | None
    basis: str | None
    since: str | None  # Beijing time, ISO
    peak: str | None
    limit: str | None
    unit: str | None


@dataclass(frozen=True, slots=True)
class OfflineItem:
    site_id: int | None
    site_code: str | None
    name: str
    kind: str | None
    enterprise: str | None
    mn: str | None
    last_report: datetime | None  # latest stored data time (Beijing time), None: never
    episode_id: int | None = None  # the open 离线 alarm episode, if one


def _open_episodes(s: Session, kind: str) -> list[dict[str, Any]]:
    rows = s.scalars(
        select(SourceEpisode)
        .where(SourceEpisode.kind == kind, SourceEpisode.status == "open")
        .order_by(SourceEpisode.started_at, SourceEpisode.id)
    ).all()
    return alarms.episodes_json(s, rows)


def exceeding_now(s: Session) -> list[ExceedingItem]:
    """Outlets with an open 超标 episode, oldest first, named."""
    return [
        ExceedingItem(
            episode_id=e["id"],
            site_id=e["site_id"],
            outlet=e["outlet"],
            outlet_name=e["outlet_name"],
            enterprise=e["enterprise"],
            pollutant=e["pollutant"],
            basis=e["basis"],
            since=e["start"],
            peak=e["peak"],
            limit=e["limit"],
            unit=e["unit"],
        )
        for e in _open_episodes(s, "exceedance")
    ]


def offline_now(
    s: Session,
    offline_after: timedelta,
    now: datetime,
    *,
    intervals: Intervals = reporting_intervals,
) -> list[OfflineItem]:
    """Outlets with an open 离线 episode, and active devices silent for longer than their
    reporting interval plus ``offline_after`` (:func:`silent_devices`; ``now`` UTC, naive).
    The last report is the latest stored data time of the device (any resolution), so a
    device that has reported says when, never 从未上报."""
    out: list[OfflineItem] = []
    seen_sites: set[int] = set()
    for e in _open_episodes(s, "offline"):
        seen_sites.add(e["site_id"])
        out.append(
            OfflineItem(
                site_id=e["site_id"],
                site_code=e["outlet"],
                name=e["outlet_name"],
                kind="enterprise_outlet",
                enterprise=e["enterprise"],
                mn=None,
                last_report=None,
                episode_id=e["id"],
            )
        )
    devs = s.execute(
        select(Device.id, Device.mn, Device.last_seen_at, Site.id, Site.code, Site.name, Site.kind)
        .add_columns(Enterprise.name)
        .outerjoin(Site, Site.id == Device.site_id)
        .outerjoin(Enterprise, Enterprise.id == Site.enterprise_id)
        .where(Device.active.is_(True))
        .order_by(Site.code, Device.mn)
    ).all()
    off = silent_devices(s, offline_after, now, intervals=intervals)
    silent = [d for d in devs if d[0] in off]
    ids = [d[0] for d in silent]
    last = last_reports(s, ids)
    by_site = {x.site_id: x for x in out}
    for did, mn, _seen, sid, code, name, kind, ent in silent:
        if sid is not None and sid in seen_sites:
            item = by_site[sid]
            out[out.index(item)] = OfflineItem(
                item.site_id,
                item.site_code,
                item.name,
                item.kind,
                item.enterprise,
                mn,
                last.get(did),
                item.episode_id,
            )
            continue
        out.append(
            OfflineItem(
                site_id=sid,
                site_code=code,
                name=name or mn,
                kind=kind,
                enterprise=ent,
                mn=mn,
                last_report=last.get(did),
            )
        )
    return out
