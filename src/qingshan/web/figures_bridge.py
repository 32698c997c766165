"""The cockpit's figures: from :mod:`qingshan.services.figures` when it is installed, otherwise
computed here from the latest stored observations (the only place the web app computes them).

Fallback rules (used only while the figures service is absent):

* AQI now per air station: the station's latest hourly record (HJ 212 CN 2061 averages) of
  SO2, NO2, CO, O3, PM10, PM2.5 through :func:`qingshan.standards.air.aqi.hourly_aqi`
  (HJ 633, 实时报), with the version in force at that hour.
* Water class per section: the latest daily record (else hourly) classified by the
  single-factor method of GB 3838-2002 (:func:`qingshan.standards.water.classify_sample`).
* The year-to-date good-day ratio needs daily AQI with the O3 8-hour moving maximum, which only
  the figures service computes; without it the ratio is reported as unavailable (None).

Outlet state is always computed here (the figures contract does not cover outlets): online
when the device reported within ``device_offline_minutes``; exceeding when its latest hourly
value (converted ``ZsAvg`` if sent, else ``Avg``) is above the limit of its discharge permit
as recorded with the sample district (``qingshan.demo`` data), the only limits Qingshan holds.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qingshan.standards.air.aqi import AqiInputError, hourly_aqi
from qingshan.standards.air.tables import aqi_table_for
from qingshan.standards.water import WaterClass, classify_sample
from qingshan.storage.models import Device, Observation, Resolution, Site, SiteKind

# HJ 212-2017 附录B codes of the AQI pollutants (ambient air: μg/m³, CO mg/m³).
AQI_CODES = {
    "a21026": "so2",
    "a21004": "no2",
    "a21005": "co",
    "a05024": "o3",
    "a34002": "pm10",
    "a34004": "pm2_5",
}
# HJ 212-2017 附录B water codes → GB 3838-2002 item codes of qingshan.standards.water.
WATER_ITEMS = {
    "w01001": "ph",
    "w01009": "do",
    "w01019": "codmn",
    "w01018": "cod",
    "w21003": "nh3n",
    "w21011": "tp",
    "w21001": "tn",
}


def figures_module() -> Any | None:
    """The figures service if this installation has it (merged from the figures branch)."""
    try:
        return importlib.import_module("qingshan.services.figures")
    except ImportError:
        return None


def _num(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(Decimal(text))
    except (InvalidOperation, ValueError):
        return None


def _latest(
    s: Session, device_ids: list[int], resolution: Resolution
) -> tuple[datetime | None, dict[str, Observation]]:
    """The latest record time of any of ``device_ids`` at ``resolution`` and its values."""
    if not device_ids:
        return None, {}
    o = Observation
    t = s.scalar(
        select(func.max(o.data_time)).where(
            o.device_id.in_(device_ids), o.resolution == int(resolution)
        )
    )
    if t is None:
        return None, {}
    rows = s.scalars(
        select(o).where(
            o.device_id.in_(device_ids), o.resolution == int(resolution), o.data_time == t
        )
    )
    return t, {r.code: r for r in rows}


def _site_devices(s: Session, kinds: tuple[str, ...]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    q = (
        select(Site.id, Device.id)
        .join(Device, Device.site_id == Site.id)
        .where(Site.kind.in_(kinds), Device.active.is_(True))
    )
    for sid, did in s.execute(q):
        out.setdefault(sid, []).append(did)
    return out


def station_aqi(s: Session, region_code: str | None) -> tuple[list[dict[str, Any]], str]:
    """AQI now by air station, and the source ("figures" or "fallback")."""
    fig = figures_module()
    if fig is not None:
        items = fig.station_aqi_now(s, region_code=region_code, include_micro=True)
        return [_aqi_dict(x) for x in items], "figures"
    sites = {
        x.id: x
        for x in s.scalars(select(Site).where(Site.kind == SiteKind.AIR_STATION.value))
        if region_code is None or (x.region_code or "").startswith(region_code)
    }
    devs = _site_devices(s, (SiteKind.AIR_STATION.value,))
    out: list[dict[str, Any]] = []
    for sid, site in sorted(sites.items(), key=lambda kv: kv[1].code):
        t, vals = _latest(s, devs.get(sid, []), Resolution.HOUR)
        item: dict[str, Any] = {
            "site_id": sid,
            "site_code": site.code,
            "name": site.name,
            "kind": "micro" if site.control_level == "微站" else "national",
            "time": t.isoformat() if t else None,
            "aqi": None,
            "level": None,
            "category": None,
            "colour": None,
            "primary_pollutants": [],
            "standard": None,
        }
        if t is not None:
            conc = {AQI_CODES[c]: _num(r.value) for c, r in vals.items() if c in AQI_CODES}
            try:
                res = hourly_aqi(
                    aqi_table_for("auto", t.date()),
                    so2=conc.get("so2"),
                    no2=conc.get("no2"),
                    co=conc.get("co"),
                    o3=conc.get("o3"),
                    pm10=conc.get("pm10"),
                    pm2_5=conc.get("pm2_5"),
                )
            except AqiInputError:
                res = None  # e.g. SO2 above 800 without its 24-h mean: not computable here
            if res is not None:
                hexc = "#{:02X}{:02X}{:02X}".format(*res.rgb) if res.rgb else None
                item.update(
                    aqi=res.aqi,
                    level=res.level,
                    category=res.category,
                    colour=hexc,
                    primary_pollutants=list(res.primary_pollutants),
                    standard=res.standard,
                )
        out.append(item)
    return out, "fallback"


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
    """Good days / valid days / ratio from 1 January to ``today`` (figures service only)."""
    fig = figures_module()
    if fig is None or region_code is None:
        return {
            "good_days": None,
            "valid_days": None,
            "good_day_ratio": None,
            "source": "unavailable",
        }
    aq = fig.air_quality(s, region_code=region_code, start=date(today.year, 1, 1), end=today)
    d = aq.to_dict()
    return {
        "good_days": d.get("good_days"),
        "valid_days": d.get("valid_days"),
        "good_day_ratio": d.get("good_day_ratio"),
        "standard": d.get("standard"),
        "source": "figures",
    }


def section_classes(
    s: Session, region_code: str | None, today: date
) -> tuple[list[dict[str, Any]], str]:
    """Latest class of each surface-water section against its target."""
    fig = figures_module()
    if fig is not None and region_code is not None:
        wq = fig.water_quality(s, region_code=region_code, month=today.strftime("%Y-%m")).to_dict()
        return [
            {
                "code": x.get("code"),
                "name": x.get("name"),
                "class": x.get("class"),
                "target_class": x.get("target_class"),
                "meets_target": x.get("meets_target"),
                "main_pollutants": x.get("main_pollutants", []),
            }
            for x in wq.get("sections", [])
        ], "figures"
    kind = SiteKind.SURFACE_WATER.value
    sites = {x.id: x for x in s.scalars(select(Site).where(Site.kind == kind))}
    devs = _site_devices(s, (kind,))
    out: list[dict[str, Any]] = []
    for sid, site in sorted(sites.items(), key=lambda kv: kv[1].code):
        t, vals = _latest(s, devs.get(sid, []), Resolution.DAY)
        if t is None:
            t, vals = _latest(s, devs.get(sid, []), Resolution.HOUR)
        cls: WaterClass | None = None
        if t is not None:
            sample = {WATER_ITEMS[c]: _num(r.value) for c, r in vals.items() if c in WATER_ITEMS}
            body = "lake_reservoir" if site.water_body == "lake_reservoir" else "river"
            cls = classify_sample(sample, body).water_class
        target = WaterClass.parse(site.target_class) if site.target_class else None
        out.append(
            {
                "site_id": sid,
                "code": site.code,
                "name": site.name,
                "time": t.isoformat() if t else None,
                "class": cls.roman if cls else None,
                "colour": cls.colour if cls else None,
                "target_class": target.roman if target else None,
                "meets_target": None if cls is None or target is None else cls <= target,
            }
        )
    return out, "fallback"


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
    """State of every enterprise outlet with a device (``now`` in UTC, naive)."""
    q = (
        select(Site.id, Device.id, Device.mn, Device.last_seen_at)
        .join(Device, Device.site_id == Site.id)
        .where(Site.kind == SiteKind.OUTLET.value, Device.active.is_(True))
    )
    limits = permit_limits()
    out: dict[int, OutletState] = {}
    for sid, did, mn, seen in s.execute(q):
        online = seen is not None and now - seen <= offline_after
        exceeding: list[str] = []
        lim = limits.get(mn, {})
        if lim:
            _t, vals = _latest(s, [did], Resolution.HOUR)
            for code, r in vals.items():
                v = _num(r.zs) if r.zs is not None else _num(r.value)
                if code in lim and v is not None and v > lim[code]:
                    exceeding.append(code)
        prev = out.get(sid)
        if prev is not None:  # several devices at one outlet: any online / any exceeding
            online = online or prev.online
            exceeding = sorted(set(exceeding) | set(prev.exceeding))
            seen = max((x for x in (seen, prev.last_seen) if x is not None), default=None)
        out[sid] = OutletState(sid, online, sorted(exceeding), seen)
    return out
