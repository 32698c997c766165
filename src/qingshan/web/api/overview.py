"""Cockpit summary, map features (GeoJSON), public disclosure."""

from __future__ import annotations

import json
import threading
import time
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qingshan.clock import CST, utcnow
from qingshan.geo import wgs84_to_gcj02
from qingshan.roles import Principal
from qingshan.services.permissions import sees_district, site_scope
from qingshan.storage.models import Device, Enterprise, Quarantine, Region, Site
from qingshan.web import figures_bridge as fb
from qingshan.web.deps import DISTRICT, READERS, WebContext, ctx, require
from qingshan.web.labels import (
    KIND_LABELS,
    NO_DATA_COLOUR,
    OUTLET_COLOURS,
    OUTLET_STATUS,
    hex_colour,
)

router = APIRouter(tags=["overview"])
public_router = APIRouter(tags=["public"])

CACHE_SECONDS = 5.0  # the cockpit polls; every viewer within 5 s shares one computation


class _TTLCache:
    """Results younger than CACHE_SECONDS are served as they are; an older one is still served
    while one thread recomputes it (single flight: concurrent viewers never pile up on the
    database). Only the very first request of a key waits for the computation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, tuple[float, Any]] = {}
        self._busy: dict[str, threading.Lock] = {}

    def fresh(self, key: str, ttl: float = CACHE_SECONDS) -> Any | None:
        """The cached value if younger than ``ttl`` (never blocks)."""
        with self._lock:
            hit = self._data.get(key)
        return hit[1] if hit is not None and time.monotonic() - hit[0] < ttl else None

    def get(self, key: str, make: Callable[[], Any], ttl: float = CACHE_SECONDS) -> Any:
        with self._lock:
            hit = self._data.get(key)
            busy = self._busy.setdefault(key, threading.Lock())
        if hit is not None and time.monotonic() - hit[0] < ttl:
            return hit[1]
        if hit is not None and not busy.acquire(blocking=False):
            return hit[1]  # someone is refreshing it: the slightly old value will do
        if hit is None:
            busy.acquire()
            with self._lock:
                hit = self._data.get(key)
            if hit is not None and time.monotonic() - hit[0] < ttl:
                busy.release()
                return hit[1]
        try:
            value = make()
            with self._lock:
                self._data[key] = (time.monotonic(), value)
            return value
        finally:
            busy.release()


def _cache(request: Request) -> _TTLCache:
    st = request.app.state
    if not hasattr(st, "qingshan_cache"):
        st.qingshan_cache = _TTLCache()
    c: _TTLCache = st.qingshan_cache
    return c


@cache
def targets() -> dict[str, Any]:
    raw = resources.files("qingshan.web").joinpath("data/targets.toml").read_bytes()
    return tomllib.loads(raw.decode())


def district_code(c: WebContext, s: Session) -> str | None:
    """The region the cockpit summarises: ``district_code`` if set, else the county-level
    region holding most sites (neighbouring counties may be loaded for their outlines)."""
    if c.settings.district_code:
        return c.settings.district_code
    counties = set(s.scalars(select(Region.code).where(Region.level == "county")))
    if not counties:
        return None
    by_prefix: dict[str, int] = {}
    for code, n in s.execute(select(Site.region_code, func.count()).group_by(Site.region_code)):
        if code and code[:6] in counties:
            by_prefix[code[:6]] = by_prefix.get(code[:6], 0) + n
    if by_prefix:
        return max(by_prefix, key=lambda k: by_prefix[k])
    return next(iter(counties)) if len(counties) == 1 else None


def now_cst() -> datetime:
    return datetime.now(UTC).astimezone(CST).replace(tzinfo=None)


class StationAqiOut(BaseModel):
    site_id: int
    site_code: str
    name: str
    kind: str
    time: str | None
    aqi: int | None
    level: str | None
    category: str | None
    colour: str | None
    primary_pollutants: list[str]
    standard: str | None


class SectionOut(BaseModel):
    code: str | None
    name: str | None
    class_: str | None = Field(None, alias="class")
    target_class: str | None
    meets_target: bool | None
    colour: str | None = None
    time: str | None = None

    model_config = {"populate_by_name": True}


class AirSummary(BaseModel):
    standard: str | None = Field(description="HJ 633 version of the year's figures")
    stations: list[StationAqiOut]
    good_days: int | None
    valid_days: int | None
    good_day_ratio: float | None = Field(description="percent (HJ 663-2013), 1 decimal")
    target_ratio: float | None = Field(description="plan target, percent")
    target_source: str | None
    meets_target: bool | None


class WaterSummary(BaseModel):
    sections: list[SectionOut]
    meeting_target: int
    assessed: int


class OutletSummary(BaseModel):
    total: int
    online: int
    offline: int
    exceeding: int


class Cockpit(BaseModel):
    generated_at: datetime
    region_code: str | None
    air: AirSummary
    water: WaterSummary
    outlets: OutletSummary
    devices_total: int
    devices_online: int
    sites_by_kind: dict[str, int]
    rejects_24h: int
    notes: list[str]


YEAR_SECONDS = 300.0  # the year-to-date ratio moves once a day; computing it takes ~0.5 s


def _air(s: Session, region: str | None, cache: _TTLCache) -> AirSummary:
    stations = fb.station_aqi(s, region)
    today = now_cst().date()
    year: dict[str, Any] = cache.get(
        f"year:{region}:{today}", lambda: fb.air_year(s, region, today), ttl=YEAR_SECONDS
    )
    t = targets()
    ratio = year["good_day_ratio"]
    target = t.get("good_day_ratio")
    return AirSummary(
        standard=year["standard"],
        stations=[StationAqiOut(**x) for x in stations],
        good_days=year["good_days"],
        valid_days=year["valid_days"],
        good_day_ratio=ratio,
        target_ratio=target,
        target_source=t.get("good_day_ratio_source"),
        meets_target=None if ratio is None or target is None else ratio >= target,
    )


def _water(s: Session, region: str | None) -> WaterSummary:
    sections = fb.section_classes(s, region, now_cst().date())
    out = [
        SectionOut.model_validate({**x, "colour": hex_colour(x.get("colour"))}) for x in sections
    ]
    return WaterSummary(
        sections=out,
        meeting_target=sum(1 for x in out if x.meets_target),
        assessed=sum(1 for x in out if x.meets_target is not None),
    )


def compute_cockpit(c: WebContext, cache: _TTLCache) -> Cockpit:
    with c.read() as s:
        region = district_code(c, s)
        off = timedelta(minutes=c.settings.device_offline_minutes)
        now = utcnow()
        states = fb.outlet_states(s, off, now)
        outlet_sites = (
            s.scalar(select(func.count()).select_from(Site).where(Site.kind == "enterprise_outlet"))
            or 0
        )
        online = sum(1 for x in states.values() if x.online)
        dev_total = s.scalar(select(func.count()).select_from(Device).where(Device.active)) or 0
        dev_online = (
            s.scalar(
                select(func.count())
                .select_from(Device)
                .where(Device.active, Device.last_seen_at >= now - off)
            )
            or 0
        )
        kinds: dict[str, int] = {
            k: n for k, n in s.execute(select(Site.kind, func.count()).group_by(Site.kind))
        }
        rejects = (
            s.scalar(
                select(func.count())
                .select_from(Quarantine)
                .where(Quarantine.received_at >= now - timedelta(hours=24))
            )
            or 0
        )
        air = _air(s, region, cache)
        water = _water(s, region)
    notes = [
        "空气质量指数为各站最新小时（实时报）结果；优良天数比例为本年1月1日至今的累计",
        f"断面水质类别为本月（{now_cst():%Y-%m}）评价结果，按 GB 3838-2002 单因子评价",
    ]
    return Cockpit(
        generated_at=datetime.now(UTC),
        region_code=region,
        air=air,
        water=water,
        outlets=OutletSummary(
            total=outlet_sites,
            online=online,
            offline=outlet_sites - online,
            exceeding=sum(1 for x in states.values() if x.exceeding),
        ),
        devices_total=dev_total,
        devices_online=dev_online,
        sites_by_kind={KIND_LABELS.get(k, k): n for k, n in kinds.items()},
        rejects_24h=rejects,
        notes=notes,
    )


@router.get("/cockpit", response_model=Cockpit)
async def cockpit(request: Request, _: Principal = Depends(require(*DISTRICT))) -> Response:
    """驾驶舱 summary: AQI now by station, good-day ratio year to date against the plan target,
    sections' latest class against target, outlets online/exceeding/offline, counts.
    Recomputed at most every 5 seconds."""
    c = ctx(request)
    cache = _cache(request)
    body: bytes | None = cache.fresh("cockpit")
    if body is None:  # the database work runs in a worker thread, never in the event loop
        body = await run_in_threadpool(
            cache.get,
            "cockpit",
            lambda: compute_cockpit(c, cache).model_dump_json(by_alias=True).encode(),
        )
    return Response(body, media_type="application/json")  # cached, already serialised


# --------------------------------------------------------------------------- map


class Feature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: int | str | None = None
    geometry: dict[str, Any] | None
    properties: dict[str, Any]


class FeatureCollection(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    datum: str = Field(description="coordinate datum of the geometries: wgs84 or gcj02")
    features: list[Feature]


def _pt(lon: float, lat: float, datum: str) -> list[float]:
    if datum == "gcj02":
        lon, lat = wgs84_to_gcj02(lon, lat)
    return [round(lon, 6), round(lat, 6)]


def _map_features(
    c: WebContext, p: Principal, datum: str, kinds: set[str] | None
) -> FeatureCollection:
    with c.read() as s:
        rows = s.execute(
            select(Site, Enterprise.name)
            .outerjoin(Enterprise, Enterprise.id == Site.enterprise_id)
            .where(site_scope(p), Site.longitude.is_not(None), Site.latitude.is_not(None))
            .order_by(Site.kind, Site.code)
        ).all()
        off = timedelta(minutes=c.settings.device_offline_minutes)
        now = utcnow()
        outlets = fb.outlet_states(s, off, now)
        region = district_code(c, s)
        aqi = {x["site_id"]: x for x in fb.station_aqi(s, region)} if sees_district(p) else {}
        water = (
            {x.get("site_id"): x for x in fb.section_classes(s, region, now_cst().date())}
            if sees_district(p)
            else {}
        )
        seen: dict[int | None, datetime | None] = {
            sid: last
            for sid, last in s.execute(
                select(Device.site_id, func.max(Device.last_seen_at))
                .where(Device.active, Device.site_id.is_not(None))
                .group_by(Device.site_id)
            )
        }
    feats: list[Feature] = []
    for site, en in rows:
        if kinds and site.kind not in kinds:
            continue
        props: dict[str, Any] = {
            "id": site.id,
            "code": site.code,
            "name": site.name,
            "kind": site.kind,
            "kind_label": KIND_LABELS.get(site.kind, site.kind),
            "enterprise": en,
            "control_level": site.control_level,
        }
        if site.kind == "enterprise_outlet":
            st = outlets.get(site.id)
            key = (
                "offline"
                if st is None or not st.online
                else ("exceeding" if st.exceeding else "online")
            )
            props.update(
                status=key,
                status_label=OUTLET_STATUS[key],
                colour=OUTLET_COLOURS[key],
                exceeding=st.exceeding if st else [],
            )
        elif site.kind == "air_station" and site.id in aqi and aqi[site.id]["aqi"] is not None:
            a = aqi[site.id]
            props.update(
                status="aqi",
                aqi=a["aqi"],
                status_label=f"AQI {a['aqi']} {a['category']}",
                colour=a["colour"],
            )
        elif site.kind == "surface_water_section" and water.get(site.id, {}).get("class"):
            w = water[site.id]
            props.update(
                status="class",
                status_label=f"{w['class']}类（目标{w['target_class']}类）",
                colour=hex_colour(w.get("colour")) or NO_DATA_COLOUR,
            )
        else:
            last = seen.get(site.id)
            key = "online" if last is not None and now - last <= off else "offline"
            props.update(
                status=key,
                status_label=OUTLET_STATUS[key],
                colour=OUTLET_COLOURS["online"] if key == "online" else NO_DATA_COLOUR,
            )
        lon, lat = site.longitude, site.latitude
        if lon is None or lat is None:  # excluded by the query; keeps the types honest
            continue
        geom = {"type": "Point", "coordinates": _pt(float(lon), float(lat), datum)}
        feats.append(Feature(id=site.id, geometry=geom, properties=props))
    return FeatureCollection(datum=datum, features=feats)


Datum = Literal["wgs84", "gcj02"]


@router.get("/map/sites", response_model=FeatureCollection)
def map_sites(
    request: Request,
    datum: Datum = "wgs84",
    kinds: str | None = Query(None, max_length=300, description="comma-separated site kinds"),
    p: Principal = Depends(require(*READERS)),
) -> FeatureCollection:
    """一张图: sites as GeoJSON points with status colours (AQI colours for air stations, water
    class colours for sections, 在线/超标/离线 for outlets and other devices)."""
    wanted = {k.strip() for k in kinds.split(",") if k.strip()} if kinds else None
    if wanted and not wanted <= set(KIND_LABELS):
        raise HTTPException(422, f"unknown kind; use: {', '.join(KIND_LABELS)}")
    c = ctx(request)
    key = f"map:{p.role}:{p.enterprise_id}:{datum}:{','.join(sorted(wanted or ()))}"
    out: FeatureCollection = _cache(request).get(key, lambda: _map_features(c, p, datum, wanted))
    return out


@cache
def _boundaries_raw() -> dict[str, Any]:
    raw = resources.files("qingshan.demo").joinpath("data/boundaries.geojson").read_bytes()
    data: dict[str, Any] = json.loads(raw)
    return data


def _shift(coords: Any, datum: str) -> Any:
    if isinstance(coords[0], (int, float)):
        return _pt(float(coords[0]), float(coords[1]), datum)
    return [_shift(c, datum) for c in coords]


@cache
def boundaries(datum: str) -> FeatureCollection:
    feats = []
    for f in _boundaries_raw()["features"]:
        geom = dict(f["geometry"])
        geom["coordinates"] = _shift(geom["coordinates"], datum)
        feats.append(
            Feature(id=f["properties"].get("code"), geometry=geom, properties=f["properties"])
        )
    return FeatureCollection(datum=datum, features=feats)


@public_router.get("/map/boundaries", response_model=FeatureCollection)
def map_boundaries(datum: Datum = "wgs84") -> FeatureCollection:
    """Administrative boundaries shipped with the application (public; works offline)."""
    return boundaries(datum)


@public_router.get("/map/config")
def map_config(request: Request) -> dict[str, Any]:
    """Tile source settings for the map page (empty url: offline vector map only)."""
    st = ctx(request).settings
    url = st.map_tile_url.replace("{key}", st.map_tile_key) if st.map_tile_url else ""
    return {"tile_url": url, "tile_datum": st.map_tile_datum}


# --------------------------------------------------------------------------- public


class PublicAir(BaseModel):
    generated_at: datetime
    stations: list[StationAqiOut]
    notice: str


class PublicWater(BaseModel):
    generated_at: datetime
    sections: list[SectionOut]
    notice: str


NOTICE = "数据来源：青山生态环境监测平台。实时数据未经审核，以正式发布为准。"


@public_router.get("/public/air", response_model=PublicAir)
def public_air(request: Request) -> PublicAir:
    """信息公开: AQI now by station (anyone, no log-in)."""
    c = ctx(request)

    def make() -> PublicAir:
        with c.read() as s:
            air = _air(s, district_code(c, s), _cache(request))
        return PublicAir(generated_at=datetime.now(UTC), stations=air.stations, notice=NOTICE)

    out: PublicAir = _cache(request).get("public:air", make)
    return out


@public_router.get("/public/water", response_model=PublicWater)
def public_water(request: Request) -> PublicWater:
    """信息公开: latest class of the surface-water sections against their targets."""
    c = ctx(request)

    def make() -> PublicWater:
        with c.read() as s:
            w = _water(s, district_code(c, s))
        return PublicWater(generated_at=datetime.now(UTC), sections=w.sections, notice=NOTICE)

    out: PublicWater = _cache(request).get("public:water", make)
    return out
