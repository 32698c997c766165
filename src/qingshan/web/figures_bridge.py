"""The cockpit's figures, adapted from :mod:`qingshan.services.figures` (the figures service:
computed from stored observations by the standards engine, stored, kept current by
``qingshan serve``), plus the outlet state that the figures contract does not cover.

Outlet state: online when the device reported within ``device_offline_minutes``; exceeding
when its latest average over a limit's basis (the latest hourly value for a 小时均值 limit,
the latest daily value for a 日均值 limit) breaks a limit of the outlet's discharge permit in
force today (:mod:`qingshan.services.permits`, from the database): converted (折算) where the
limit has a reference O₂, compared exactly (no binary floating point before the comparison).
Only normal data (flag N) is judged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qingshan.clock import CST, to_cst
from qingshan.services import cockpit, figures, permits
from qingshan.services.plans import assess as plan_assess
from qingshan.standards.water import WaterClass
from qingshan.storage.models import Device, Observation, Resolution, Site, SiteKind
from qingshan.web.cache import TTLCache
from qingshan.web.labels import NO_DATA_COLOUR, OUTLET_COLOURS, OUTLET_STATUS, hex_colour
from qingshan.web.schemas.overview import AirSummary, SectionOut, StationAqiOut, WaterSummary

O2_CODE = "a19001"  # HJ 212-2017 氧气含量, % (the measured O₂ of a flue-gas outlet)
# Only normal data is judged (HJ 212 flag N, or none sent): calibration (C), maintenance (M),
# stopped (F), fault (D) … values are not valid data (HJ 75-2017, HJ 356-2019).
VALID_FLAGS = (None, "N")
_RESOLUTION = {permits.Basis.HOUR: Resolution.HOUR, permits.Basis.DAY: Resolution.DAY}


def now_cst() -> datetime:
    return datetime.now(UTC).astimezone(CST).replace(tzinfo=None)


def station_aqi(s: Session, region_code: str | None) -> list[dict[str, Any]]:
    """AQI now by air station (the latest stored hourly AQI, HJ 633 实时报)."""
    return [_aqi_dict(x) for x in figures.station_aqi_now(s, region_code=region_code)]


def _aqi_dict(x: Any) -> dict[str, Any]:
    t = getattr(x, "time", None)
    return {
        "site_id": x.site_id,
        "site_code": x.site_code,
        "name": x.name,
        "kind": x.kind,
        "time": t.isoformat() if isinstance(t, datetime) else t,
        "aqi": x.aqi,
        "level": x.level,
        "category": x.category,
        "colour": x.colour,
        "primary_pollutants": list(x.primary_pollutants),
        "standard": x.standard,
        "official": x.official,
        "concentrations": cockpit.published_concentrations(x.concentrations),
    }


def section_classes(s: Session, region_code: str | None, today: date) -> list[dict[str, Any]]:
    """This month's class of each surface-water section against its target."""
    if region_code is None:
        return []
    wq = figures.water_quality(s, region_code=region_code, month=today.strftime("%Y-%m"))
    kind = SiteKind.SURFACE_WATER.value
    ids = {
        code: sid for code, sid in s.execute(select(Site.code, Site.id).where(Site.kind == kind))
    }
    out: list[dict[str, Any]] = []
    for x in wq.to_dict().get("sections", []):
        cls_text = x.get("class")
        out.append(
            {
                "site_id": ids.get(x.get("code")),
                "code": x.get("code"),
                "name": x.get("name"),
                "class": cls_text,
                "colour": WaterClass.parse(cls_text).colour if cls_text else None,
                "target_class": x.get("target_class"),
                "meets_target": x.get("meets_target"),
                "main_pollutants": [
                    m["name"] + (f"（{m['multiple']}倍）" if m.get("multiple") else "")
                    for m in x.get("main_pollutants", [])
                ],
            }
        )
    return out


@dataclass(frozen=True, slots=True)
class OutletState:
    site_id: int
    online: bool
    exceeding: list[str]
    last_seen: datetime | None


def _latest(
    s: Session, device_ids: Iterable[int], resolution: Resolution
) -> dict[int, list[Observation]]:
    """Every row of each device's latest record at ``resolution`` (one query)."""
    ids = sorted(set(device_ids))
    if not ids:
        return {}
    o, res = Observation, int(resolution)
    last = (
        select(o.device_id, func.max(o.data_time).label("t"))
        .where(o.device_id.in_(ids), o.resolution == res)
        .group_by(o.device_id)
        .subquery()
    )
    q = select(o).join(
        last,
        (o.device_id == last.c.device_id) & (o.data_time == last.c.t) & (o.resolution == res),
    )
    out: dict[int, list[Observation]] = {}
    for r in s.scalars(q):
        out.setdefault(r.device_id, []).append(r)
    return out


def exceeded(
    limits: Iterable[permits.Limit], latest: dict[permits.Basis, list[Observation]]
) -> list[str]:
    """The pollutant codes whose latest normal value (:data:`VALID_FLAGS`) over each limit's
    basis breaks the limit (``latest``: basis → the rows of the latest record)."""
    out: set[str] = set()
    for lim in limits:
        rows = {r.code: r for r in latest.get(lim.basis, [])}
        r = rows.get(lim.pollutant)
        if r is None or r.flag not in VALID_FLAGS:
            continue
        value = permits.measured(r.value)
        if value is None:
            continue
        o2_row = rows.get(O2_CODE)
        o2 = permits.measured(o2_row.value) if o2_row is not None else None
        if lim.exceeded_by(value, converted=permits.measured(r.zs), o2=o2):
            out.add(lim.pollutant)
    return sorted(out)


def outlet_states(s: Session, offline_after: timedelta, now: datetime) -> dict[int, OutletState]:
    """State of every enterprise outlet with a device (``now`` in UTC, naive): limits of the
    permits in force on today's date (Beijing time); four queries whatever the number of
    outlets."""
    devs = s.execute(
        select(Site.id, Device.id, Device.last_seen_at)
        .join(Device, Device.site_id == Site.id)
        .where(Site.kind == SiteKind.OUTLET.value, Device.active.is_(True))
    ).all()
    limits = permits.limits_by_site(s, to_cst(now).date())
    latest = {
        basis: _latest(
            s,
            (d for sid, d, _seen in devs if any(x.basis == basis for x in limits.get(sid, ()))),
            res,
        )
        for basis, res in _RESOLUTION.items()
    }
    out: dict[int, OutletState] = {}
    for sid, did, seen in devs:
        online = seen is not None and now - seen <= offline_after
        rows = {basis: latest[basis].get(did, []) for basis in _RESOLUTION}
        exceeding = exceeded(limits.get(sid, ()), rows)
        prev = out.get(sid)
        if prev is not None:  # several devices at one outlet: any online / any exceeding
            online = online or prev.online
            exceeding = sorted(set(exceeding) | set(prev.exceeding))
            seen = max((x for x in (seen, prev.last_seen) if x is not None), default=None)
        out[sid] = OutletState(sid, online, exceeding, seen)
    return out


# --------------------------------------------------------------------------- summaries


def air_summary(s: Session, region: str | None, cache: TTLCache) -> AirSummary:
    """Air now by station and the year-to-date good-day ratio (1 January to yesterday, from
    the stored daily figures: :func:`qingshan.services.cockpit.year_progress`) against this
    year's target: the loaded plan's, else the deployment's recorded one (none: no target,
    no verdict). ``cache`` is kept for the callers' signature; the figures are cheap reads."""
    stations = station_aqi(s, region)
    today = now_cst().date()
    year = cockpit.year_progress(s, region, today) if region else None
    ind = year.good_day_ratio if year else None
    target = plan_assess.good_day_target(s, region, today.year) if region else None
    ratio = None if ind is None or ind.value is None else Decimal(ind.value)
    return AirSummary(
        standard=None,
        stations=[StationAqiOut(**x) for x in stations],
        good_days=year.good_days if year else None,
        valid_days=year.valid_days if year else None,
        good_day_ratio=None if ratio is None else float(ratio),
        target_ratio=float(target.value) if target else None,
        target_source=target.source if target else None,
        # judged on the published figure (1 decimal), as the bureau publishes and assesses it
        meets_target=None if ratio is None or target is None else target.met_by(ratio),
    )


def water_summary(s: Session, region: str | None) -> WaterSummary:
    """This month's class of each section against its target class."""
    sections = section_classes(s, region, now_cst().date())
    out = [
        SectionOut.model_validate({**x, "colour": hex_colour(x.get("colour"))}) for x in sections
    ]
    return WaterSummary(
        sections=out,
        meeting_target=sum(1 for x in out if x.meets_target),
        assessed=sum(1 for x in out if x.meets_target is not None),
    )


def latest_water(s: Session) -> dict[int, figures.LatestWaterFigure]:
    """The latest stored month of each drinking-water source and groundwater point."""
    kinds = (SiteKind.DRINKING_WATER.value, SiteKind.GROUNDWATER.value)
    return figures.latest_month_figures(s, kinds)


def _water_figure_status(site: Site, w: figures.LatestWaterFigure) -> dict[str, Any]:
    colour = WaterClass(w.class_number).colour if w.class_number else None
    if site.kind == SiteKind.DRINKING_WATER.value:
        verdict = {True: "达标", False: "不达标"}.get(w.complies, "未评价")  # type: ignore[arg-type]
        label = f"{w.water_class}类 {verdict}（{w.month}）"
        alert = w.complies is False
    else:  # groundwater: GB/T 14848-2017 class; worse than Ⅲ is flagged
        label = f"{w.water_class}类（GB/T 14848，{w.month}）"
        alert = (w.class_number or 0) > 3
    return {
        "status": "class",
        "status_label": label,
        "colour": hex_colour(colour) or NO_DATA_COLOUR,
        "alert": alert,
    }


def marker_status(
    site: Site,
    outlets: dict[int, OutletState],
    aqi: dict[int, Any],
    water: dict[Any, Any],
    last: datetime | None,
    now: datetime,
    off: timedelta,
    online: bool | None = None,
    latest: dict[int, figures.LatestWaterFigure] | None = None,
    held: dict[int, set[str]] | None = None,
) -> dict[str, Any]:
    """The status properties of one map marker, on two channels: ``colour`` (the fill) says
    what the site's values are worth (AQI category, water class, 超标 / 正常 of an outlet; grey
    when there is nothing to judge), ``online`` (the outline) whether it reports now (None: no
    online device, e.g. a manually sampled groundwater point). ``alert``: the value breaks
    its limit or target (drawn with a ring). ``online`` argument: whether a device of a site
    other than an outlet reports at its interval; None: judged from ``last`` against ``off``.
    An outlet exceeds when its latest value breaks a permit limit (:func:`outlet_states`) or
    when an exceedance episode of the supervision board still holds (``held``: site id →
    pollutant codes, from :func:`qingshan.services.cockpit.exceeding_now`)."""
    if site.kind == "enterprise_outlet":
        st = outlets.get(site.id)
        exceeding = sorted(set(st.exceeding if st else ()) | (held or {}).get(site.id, set()))
        key = "offline" if st is None or not st.online else ("exceeding" if exceeding else "online")
        return {
            "status": key,
            "status_label": OUTLET_STATUS[key] if key != "online" else "在线，未超标",
            "colour": OUTLET_COLOURS[key],
            "exceeding": exceeding,
            "online": bool(st and st.online),
            "alert": bool(exceeding),
        }
    if online is None and last is None:
        reports: bool | None = None  # no online device at this site
    else:
        reports = last is not None and now - last <= off
        if online is not None:  # the device's own reporting interval decided (services.cockpit)
            reports = online
    a = aqi.get(site.id)
    if site.kind == "air_station" and a is not None and a["aqi"] is not None:
        label = f"AQI {a['aqi']} {a['category']}"
        return {
            "status": "aqi",
            "aqi": a["aqi"],
            "status_label": label,
            "colour": a["colour"],
            "online": reports,
            "alert": False,
        }
    w = water.get(site.id, {})
    if site.kind == "surface_water_section" and w.get("class"):
        return {
            "status": "class",
            "status_label": f"{w['class']}类（目标{w['target_class']}类）",
            "colour": hex_colour(w.get("colour")) or NO_DATA_COLOUR,
            "online": reports,
            "alert": w.get("meets_target") is False,
        }
    fig = (latest or {}).get(site.id)
    if fig is not None and fig.class_number:
        return {**_water_figure_status(site, fig), "online": reports}
    if reports is None:
        return {
            "status": "nodata",
            "status_label": "暂无监测结果（无在线设备）",
            "colour": NO_DATA_COLOUR,
            "online": None,
            "alert": False,
        }
    key = "online" if reports else "offline"
    return {
        "status": key,
        "status_label": "在线" if reports else "离线",
        "colour": NO_DATA_COLOUR,
        "online": reports,
        "alert": False,
    }
