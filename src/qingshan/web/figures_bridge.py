"""The cockpit's figures, adapted from :mod:`qingshan.services.figures` (the figures service:
computed from stored observations by the standards engine, stored, kept current by
``qingshan serve``), plus the outlet state that the figures contract does not cover.

Outlet state: online when the device reported within ``device_offline_minutes``; exceeding
when its latest hourly value (converted ``ZsAvg`` if sent, else ``Avg``) is above the limit of
its discharge permit as recorded with the sample district (``qingshan.demo`` data), the only
permit limits Qingshan holds so far.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qingshan.services import figures
from qingshan.standards.water import WaterClass
from qingshan.storage.models import Device, Observation, Resolution, Site, SiteKind


def _num(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(Decimal(text))
    except (InvalidOperation, ValueError):
        return None


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
    }


def air_year(s: Session, region_code: str | None, today: date) -> dict[str, Any]:
    """Good days / valid days / ratio of the region from 1 January to ``today``."""
    if region_code is None:
        return {"good_days": None, "valid_days": None, "good_day_ratio": None, "standard": None}
    d = figures.air_quality(
        s, region_code=region_code, start=date(today.year, 1, 1), end=today
    ).to_dict()
    return {
        "good_days": d.get("good_days"),
        "valid_days": d.get("valid_days"),
        "good_day_ratio": d.get("good_day_ratio"),
        "standard": d.get("standard"),
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
                "main_pollutants": x.get("main_pollutants", []),
            }
        )
    return out


@cache
def permit_limits() -> dict[str, dict[str, float]]:
    """MN → {pollutant code: concentration limit} from the sample district's permits."""
    from qingshan.demo.district import load_district

    return {o.device.mn: dict(o.category.limits) for _e, o in load_district().outlets()}


@dataclass(frozen=True, slots=True)
class OutletState:
    site_id: int
    online: bool
    exceeding: list[str]
    last_seen: datetime | None


def outlet_states(s: Session, offline_after: timedelta, now: datetime) -> dict[int, OutletState]:
    """State of every enterprise outlet with a device (``now`` in UTC, naive); three queries
    whatever the number of outlets."""
    devs = s.execute(
        select(Site.id, Device.id, Device.mn, Device.last_seen_at)
        .join(Device, Device.site_id == Site.id)
        .where(Site.kind == SiteKind.OUTLET.value, Device.active.is_(True))
    ).all()
    limits = permit_limits()
    limited = [d for _sid, d, mn, _seen in devs if limits.get(mn)]
    values: dict[int, list[Observation]] = {}
    if limited:
        o = Observation
        last = (
            select(o.device_id, func.max(o.data_time).label("t"))
            .where(o.device_id.in_(limited), o.resolution == int(Resolution.HOUR))
            .group_by(o.device_id)
            .subquery()
        )
        q = select(o).join(
            last,
            (o.device_id == last.c.device_id)
            & (o.data_time == last.c.t)
            & (o.resolution == int(Resolution.HOUR)),
        )
        for r in s.scalars(q):
            values.setdefault(r.device_id, []).append(r)
    out: dict[int, OutletState] = {}
    for sid, did, mn, seen in devs:
        online = seen is not None and now - seen <= offline_after
        lim = limits.get(mn, {})
        exceeding: list[str] = []
        for r in values.get(did, []):
            v = _num(r.zs) if r.zs is not None else _num(r.value)
            if r.code in lim and v is not None and v > lim[r.code]:
                exceeding.append(r.code)
        prev = out.get(sid)
        if prev is not None:  # several devices at one outlet: any online / any exceeding
            online = online or prev.online
            exceeding = sorted(set(exceeding) | set(prev.exceeding))
            seen = max((x for x in (seen, prev.last_seen) if x is not None), default=None)
        out[sid] = OutletState(sid, online, sorted(exceeding), seen)
    return out
