"""Cockpit summary, map features (GeoJSON), public disclosure.

Which region the cockpit summarises, its outlines and its plan targets come from the database
through :mod:`qingshan.services.deployment`; a deployment that records none shows none.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qingshan.clock import utcnow
from qingshan.geo import wgs84_to_gcj02
from qingshan.roles import Principal
from qingshan.services import cockpit as cockpit_svc
from qingshan.services import deployment, map_layers
from qingshan.services.observations import factor_names
from qingshan.services.permissions import sees_district, site_scope
from qingshan.storage.models import Device, Enterprise, Quarantine, Site
from qingshan.web import figures_bridge as fb
from qingshan.web.cache import TTLCache, app_cache, cached_json, strong_etag
from qingshan.web.deps import DISTRICT, READERS, WebContext, ctx, require
from qingshan.web.labels import KIND_LABELS
from qingshan.web.schemas.overview import (
    Cockpit,
    DailyReportOut,
    ExceedingOut,
    Feature,
    FeatureCollection,
    MapConfig,
    OfflineOut,
    OutletSummary,
    PublicAir,
    PublicWater,
    RegionAqiOut,
    YearProgressOut,
)
from qingshan.web.tiles import MAX_ZOOM, tianditu_template

router = APIRouter(tags=["overview"])
public_router = APIRouter(tags=["public"])

BOUNDARY_SECONDS = 60.0  # outlines change only when the registry is edited


def _count(s: Session, q: Any) -> int:
    return int(s.scalar(q) or 0)


INTERVALS_SECONDS = 600.0  # reporting intervals move only with new hourly records


def _cached_intervals(cache: TTLCache) -> cockpit_svc.Intervals:
    """:func:`qingshan.services.cockpit.reporting_intervals` of every active device, kept
    INTERVALS_SECONDS: profiled under load, reading 7 days of hourly record times of the
    silent devices was the largest part of each 5-second cockpit recomputation. A device
    not in the kept map (registered since) is read at once."""

    def intervals(s: Session, ids: list[int], now_cst: datetime) -> dict[int, timedelta]:
        def every() -> dict[int, timedelta]:
            active = list(s.scalars(select(Device.id).where(Device.active.is_(True))))
            return cockpit_svc.reporting_intervals(s, active, now_cst)

        known: dict[int, timedelta] = cache.get("cockpit:intervals", every, INTERVALS_SECONDS)
        missing = [d for d in ids if d not in known]
        out = {d: known[d] for d in ids if d in known}
        if missing:
            out.update(cockpit_svc.reporting_intervals(s, missing, now_cst))
        return out

    return intervals


def compute_cockpit(c: WebContext, cache: TTLCache) -> Cockpit:
    with c.read() as s:
        own = deployment.own_region(s)
        region = own.code if own else None
        off = timedelta(minutes=c.settings.device_offline_minutes)
        now = utcnow()
        states = fb.outlet_states(s, off, now)
        n = select(func.count())
        outlet_sites = _count(s, n.select_from(Site).where(Site.kind == "enterprise_outlet"))
        online = sum(1 for x in states.values() if x.online)
        dev_total = _count(s, n.select_from(Device).where(Device.active))
        dev_online = _count(
            s, n.select_from(Device).where(Device.active, Device.last_seen_at >= now - off)
        )
        kinds = {k: v for k, v in s.execute(select(Site.kind, func.count()).group_by(Site.kind))}
        rejects = _count(
            s,
            n.select_from(Quarantine).where(Quarantine.received_at >= now - timedelta(hours=24)),
        )
        air = fb.air_summary(s, region, cache)
        water = fb.water_summary(s, region)
        today = fb.now_cst().date()
        now_aqi = [asdict(x) for x in cockpit_svc.aqi_now(s, region)] if region else []
        yesterday = asdict(cockpit_svc.yesterday_report(s, region, today)) if region else None
        year = cockpit_svc.year_progress(s, region, today) if region else None
        exceeding = [asdict(x) for x in cockpit_svc.exceeding_now(s)]
        offline = [
            asdict(x)
            for x in cockpit_svc.offline_now(s, off, now, intervals=_cached_intervals(cache))
        ]
        names = factor_names(s)
        for x in exceeding:
            x["pollutant_name"] = names[x["pollutant"]][0] if x["pollutant"] else None
        for x in offline:
            x["kind_label"] = KIND_LABELS.get(x["kind"], x["kind"]) if x["kind"] else None
    notes = [
        "区域空气质量指数为参加评价的国控、省控等站点的最新小时（实时报）结果，不含微站",
        "优良天数比率为本年1月1日至昨日的累计（HJ 663），剩余非优良天数按余下日历天全部有效推算",
        f"断面水质类别为本月（{fb.now_cst():%Y-%m}）评价结果，按 GB 3838-2002 单因子评价",
    ]
    if air.target_source:
        notes.append(f"优良天数比率目标：{air.target_source}")
    if year and year.pm2_5.target_source:
        notes.append(f"PM2.5浓度目标：{year.pm2_5.target_source}")
    return Cockpit(
        generated_at=datetime.now(UTC),
        region_code=region,
        region_name=own.name if own else None,
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
        sites_by_kind={KIND_LABELS.get(k, k): v for k, v in kinds.items()},
        rejects_24h=rejects,
        notes=notes,
        district_now=[RegionAqiOut(**x) for x in now_aqi],
        yesterday=None
        if yesterday is None
        else DailyReportOut(**{**yesterday, "day": yesterday["day"].isoformat()}),
        year=None if year is None else _year_out(year),
        exceeding=[ExceedingOut(**x) for x in exceeding],
        offline=[OfflineOut(**x) for x in offline],
    )


def _year_out(y: cockpit_svc.YearProgress) -> YearProgressOut:
    d = asdict(y)
    d["first"] = y.first.isoformat()
    d["through"] = y.through.isoformat() if y.through else None
    d.pop("notes", None)
    return YearProgressOut.model_validate(d)


@router.get("/cockpit", response_model=Cockpit)
async def cockpit(request: Request, _: Principal = Depends(require(*DISTRICT))) -> Response:
    """驾驶舱 summary: AQI now by station, good-day ratio year to date against the plan target,
    sections' latest class against target, outlets online/exceeding/offline, counts.
    Computed once per data version, served with an ETag (``If-None-Match`` → 304)."""
    c = ctx(request)
    cache = app_cache(request)
    return await cached_json(
        request,
        "cockpit",
        lambda: compute_cockpit(c, cache).model_dump_json(by_alias=True).encode(),
    )


def cockpit_fast(_request: Request, _p: Principal, _m: Any) -> tuple[str, bytes]:
    """The cockpit's payload key for the ASGI fast path (:mod:`qingshan.web.fastpath`): one
    payload for every district reader, no per-request part."""
    return "cockpit", b""


# --------------------------------------------------------------------------- map


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
        region = deployment.region_code(s)
        aqi = {x["site_id"]: x for x in fb.station_aqi(s, region)} if sees_district(p) else {}
        water = (
            {x.get("site_id"): x for x in fb.section_classes(s, region, fb.now_cst().date())}
            if sees_district(p)
            else {}
        )
        latest = fb.latest_water(s) if sees_district(p) else {}
        held: dict[int, set[str]] = {}
        for x in cockpit_svc.exceeding_now(s):  # the supervision board's episodes
            if x.pollutant:
                held.setdefault(x.site_id, set()).add(x.pollutant)
        names = factor_names(s)
        seen: dict[int | None, datetime | None] = {
            sid: last
            for sid, last in s.execute(
                select(Device.site_id, func.max(Device.last_seen_at))
                .where(Device.active, Device.site_id.is_not(None))
                .group_by(Device.site_id)
            )
        }
        # a site is online when one of its devices reports at its own interval (a water
        # station sampling every 4 hours is not 离线 between samples)
        silent = cockpit_svc.silent_devices(s, off, now)
        reporting: dict[int | None, bool] = {}
        for did, sid in s.execute(
            select(Device.id, Device.site_id).where(Device.active, Device.site_id.is_not(None))
        ):
            reporting[sid] = reporting.get(sid, False) or did not in silent
    feats: list[Feature] = []
    for site, en in rows:
        lon, lat = site.longitude, site.latitude
        if (kinds and site.kind not in kinds) or lon is None or lat is None:
            continue
        props: dict[str, Any] = {
            "id": site.id,
            "code": site.code,
            "name": site.name,
            "kind": site.kind,
            "kind_label": KIND_LABELS.get(site.kind, site.kind),
            "enterprise": en,
            "control_level": site.control_level,
            **fb.marker_status(
                site,
                outlets,
                aqi,
                water,
                seen.get(site.id),
                now,
                off,
                reporting.get(site.id),
                latest,
                held,
            ),
        }
        if props.get("exceeding"):  # name what exceeds (HJ 212 names)
            what = "、".join(names[c][0] for c in props["exceeding"])
            props["status_label"] = f"{props['status_label']}（超标：{what}）"
        geom = {"type": "Point", "coordinates": _pt(float(lon), float(lat), datum)}
        feats.append(Feature(id=site.id, geometry=geom, properties=props))
    return FeatureCollection(datum=datum, features=feats)


Datum = Literal["wgs84", "gcj02"]


@router.get("/map/sites", response_model=FeatureCollection)
async def map_sites(
    request: Request,
    datum: Datum = "wgs84",
    kinds: str | None = Query(None, max_length=300, description="comma-separated site kinds"),
    p: Principal = Depends(require(*READERS)),
) -> Response:
    """一张图: sites as GeoJSON points with status colours (AQI colours for air stations, water
    class colours for sections, 在线/超标/离线 for outlets and other devices)."""
    wanted = {k.strip() for k in kinds.split(",") if k.strip()} if kinds else None
    if wanted and not wanted <= set(KIND_LABELS):
        raise HTTPException(422, f"unknown kind; use: {', '.join(KIND_LABELS)}")
    c = ctx(request)
    key = f"map:{p.role}:{p.enterprise_id}:{datum}:{','.join(sorted(wanted or ()))}"
    return await cached_json(
        request,
        key,
        lambda: _map_features(c, p, datum, wanted).model_dump_json(by_alias=True).encode(),
    )


def _shift(coords: Any, datum: str) -> Any:
    if isinstance(coords[0], (int, float)):
        return _pt(float(coords[0]), float(coords[1]), datum)
    return [_shift(c, datum) for c in coords]


def _in_datum(fc: dict[str, Any], datum: str) -> FeatureCollection:
    """A WGS-84 GeoJSON collection from a service, shifted to ``datum``."""
    feats = []
    for f in fc["features"]:
        geom = dict(f["geometry"])
        if datum != "wgs84":
            geom["coordinates"] = _shift(geom["coordinates"], datum)
        feats.append(Feature(id=f["id"], geometry=geom, properties=f["properties"]))
    return FeatureCollection(datum=datum, features=feats)


def _boundaries(c: WebContext, datum: str) -> FeatureCollection:
    with c.read() as s:
        return _in_datum(deployment.boundaries(s), datum)


@public_router.get("/map/boundaries", response_model=FeatureCollection)
def map_boundaries(request: Request, datum: Datum = "wgs84") -> FeatureCollection:
    """Administrative boundaries recorded for this deployment (public; works offline): its own
    region first (``properties.own``), then the others recorded. Empty when none is recorded."""
    c = ctx(request)
    out: FeatureCollection = app_cache(request).get(
        f"boundaries:{datum}", lambda: _boundaries(c, datum), ttl=BOUNDARY_SECONDS
    )
    return out


TILES_PATH = "api/v1/map/tiles/{z}/{x}/{y}"
TIANDITU_PATH = "api/v1/map/tianditu/{layer}/{{z}}/{{x}}/{{y}}"


@public_router.get("/map/config", response_model=MapConfig)
def map_config(request: Request) -> MapConfig:
    """Tile source for the map page (empty url: offline vector map only): 天地图 (vector map
    and its labels) when its key is set, else the configured tile service. Tiles come through
    this app's proxy (relative URLs), so the tile service's key never reaches the browser."""
    st = ctx(request).settings
    if st.map_tianditu_key:
        return MapConfig(
            tile_url=TIANDITU_PATH.format(layer="vec"),
            label_url=TIANDITU_PATH.format(layer="cva"),
            tile_datum="wgs84",  # 天地图 is CGCS2000, within a metre of WGS-84
            tile_source="天地图",
        )
    if st.map_tile_url:
        return MapConfig(
            tile_url=TILES_PATH, tile_datum=st.map_tile_datum, tile_source="已配置的瓦片服务"
        )
    return MapConfig(tile_url="", tile_datum=st.map_tile_datum)


async def _tile(c: WebContext, template: str, key: str, z: int, x: int, y: int) -> Response:
    if x >= 2**z or y >= 2**z:
        raise HTTPException(404, "no such tile")
    tile = await c.tiles.get(template, key, z, x, y)
    if tile is None:
        raise HTTPException(502, "瓦片服务暂不可用")
    body, media_type = tile
    return Response(
        body, media_type=media_type, headers={"Cache-Control": "private, max-age=86400"}
    )


@router.get(
    "/map/tiles/{z}/{x}/{y}",
    responses={200: {"content": {"image/png": {}}}, 404: {}, 502: {}},
)
async def map_tile(
    request: Request,
    z: int = Path(ge=0, le=MAX_ZOOM),
    x: int = Path(ge=0),
    y: int = Path(ge=0),
    _: Principal = Depends(require(*READERS)),
) -> Response:
    """One map tile from the configured tile service, fetched by the server with the key
    (logged-in users only, so strangers cannot spend the key's quota); cached in memory."""
    c = ctx(request)
    st = c.settings
    if not st.map_tile_url:
        raise HTTPException(404, "no tile service configured")
    return await _tile(c, st.map_tile_url, st.map_tile_key, z, x, y)


@router.get(
    "/map/tianditu/{layer}/{z}/{x}/{y}",
    responses={200: {"content": {"image/png": {}}}, 404: {}, 502: {}},
)
async def map_tianditu_tile(
    request: Request,
    layer: Literal["vec", "cva"],
    z: int = Path(ge=1, le=18),  # 天地图's w matrix set: levels 1 … 18
    x: int = Path(ge=0),
    y: int = Path(ge=0),
    _: Principal = Depends(require(*READERS)),
) -> Response:
    """One 天地图 tile (``vec``: 矢量底图, ``cva``: 矢量注记) fetched by the server with the
    deployment's 天地图 key (logged-in users only); cached in memory."""
    c = ctx(request)
    st = c.settings
    if not st.map_tianditu_key:
        raise HTTPException(404, "未配置天地图密钥")
    template = tianditu_template(st.map_tianditu_url, layer)
    return await _tile(c, template, st.map_tianditu_key, z, x, y)


LAYERS_SECONDS = 300.0  # payloads kept per layer version (a new import changes the version)


def _layers(c: WebContext, datum: str) -> tuple[bytes, str]:
    with c.read() as s:
        fc = map_layers.layers(s)
    body = _in_datum(fc, datum).model_dump_json().encode()
    return body, strong_etag(body)


@router.get("/map/layers", response_model=FeatureCollection)
def map_layers_api(
    request: Request,
    datum: Datum = "wgs84",
    _: Principal = Depends(require(*READERS)),
) -> Response:
    """The deployment's reference layers (河流 lines and water areas, 道路 lines, 地名 points;
    ``properties.kind`` river / road / place, ``name``, ``rank``) as one GeoJSON collection,
    from the database (``qingshan map import``). Served with an ETag (``If-None-Match`` →
    304); a new import is seen at the next request (the layers' version is read each time)."""
    c = ctx(request)
    with c.read() as s:
        version = map_layers.version(s)
    body, etag = app_cache(request).get(
        f"layers:{version}:{datum}", lambda: _layers(c, datum), ttl=LAYERS_SECONDS
    )
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if etag in (request.headers.get("if-none-match") or ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


# --------------------------------------------------------------------------- public

NOTICE = "数据来源：青山生态环境监测平台。实时数据未经审核，以正式发布为准。"


@public_router.get("/public/air", response_model=PublicAir)
async def public_air(request: Request) -> Response:
    """信息公开: AQI now by station (anyone, no log-in): the stations of the official
    evaluation only (国控/省控/市控…; micro-stations take no part in it and are not published),
    each with its 首要污染物 and the six concentrations as published."""
    c = ctx(request)
    cache = app_cache(request)

    def make() -> PublicAir:
        with c.read() as s:
            air = fb.air_summary(s, deployment.region_code(s), cache)
        official = [x for x in air.stations if x.official]
        return PublicAir(generated_at=datetime.now(UTC), stations=official, notice=NOTICE)

    return await cached_json(
        request, "public:air", lambda: make().model_dump_json(by_alias=True).encode()
    )


@public_router.get("/public/water", response_model=PublicWater)
async def public_water(request: Request) -> Response:
    """信息公开: latest class of the surface-water sections against their targets."""
    c = ctx(request)

    def make() -> PublicWater:
        with c.read() as s:
            w = fb.water_summary(s, deployment.region_code(s))
        return PublicWater(generated_at=datetime.now(UTC), sections=w.sections, notice=NOTICE)

    return await cached_json(
        request, "public:water", lambda: make().model_dump_json(by_alias=True).encode()
    )
