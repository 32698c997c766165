"""Sites, their latest values, time series, completeness; observations, exports."""

from __future__ import annotations

import base64
import binascii
import csv
import io
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import (
    ColumnElement,
    Engine,
    String,
    and_,
    func,
    select,
    true,
    tuple_,
    type_coerce,
)
from sqlalchemy.orm import Session

from qingshan.clock import CST
from qingshan.protocol.hj212.codes import data_flags, pollutant_info
from qingshan.storage.models import Device, Enterprise, Factor, Observation, Resolution, Site
from qingshan.web.auth import Principal
from qingshan.web.deps import READERS, PathId, QueryId, read_db, require
from qingshan.web.labels import KIND_LABELS, RESOLUTION_LABELS

router = APIRouter(tags=["sites"])

ResolutionName = Literal["realtime", "minute", "hour", "day"]
KindName = Literal[
    "air_station",
    "surface_water_section",
    "drinking_water_source",
    "groundwater_point",
    "noise_station",
    "enterprise_outlet",
]
# Longest time range one request may cover, per resolution: bounds every response
# (one day of realtime data, a week of minute data, about a year of hours, ten years of days).
MAX_SPAN = {
    Resolution.REALTIME: timedelta(days=1),
    Resolution.MINUTE: timedelta(days=7),
    Resolution.HOUR: timedelta(days=400),
    Resolution.DAY: timedelta(days=3700),
}
PAGE_MAX = 20000


def site_scope(p: Principal) -> ColumnElement[bool]:
    """Which sites the caller may see: everything, or an enterprise's own outlets."""
    if p.role == "enterprise":
        return and_(Site.kind == "enterprise_outlet", Site.enterprise_id == p.enterprise_id)
    return true()


def visible_site(s: Session, p: Principal, site_id: int) -> Site:
    site = s.scalar(select(Site).where(Site.id == site_id, site_scope(p)))
    if site is None:  # the same answer for "absent" and "not yours": no probing
        raise HTTPException(404, f"no site {site_id}")
    return site


class SiteOut(BaseModel):
    id: int
    code: str
    name: str
    kind: str
    kind_label: str
    region_code: str | None
    longitude: float | None
    latitude: float | None
    control_level: str | None
    water_body_name: str | None
    target_class: str | None
    enterprise_id: int | None
    enterprise_name: str | None
    outlet_medium: str | None


class SitePage(BaseModel):
    total: int
    items: list[SiteOut]


def site_out(x: Site, enterprise_name: str | None) -> SiteOut:
    return SiteOut(
        id=x.id,
        code=x.code,
        name=x.name,
        kind=x.kind,
        kind_label=KIND_LABELS.get(x.kind, x.kind),
        region_code=x.region_code,
        longitude=None if x.longitude is None else float(x.longitude),
        latitude=None if x.latitude is None else float(x.latitude),
        control_level=x.control_level,
        water_body_name=x.water_body_name,
        target_class=x.target_class,
        enterprise_id=x.enterprise_id,
        enterprise_name=enterprise_name,
        outlet_medium=x.outlet_medium,
    )


@router.get("/sites", response_model=SitePage)
def list_sites(
    kind: KindName | None = None,
    region: str | None = Query(None, pattern=r"^\d{2,12}$", description="region code prefix"),
    q: str | None = Query(None, max_length=50, description="part of the name or code"),
    limit: int = Query(200, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=10**9),
    p: Principal = Depends(require(*READERS)),
    s: Session = Depends(read_db),
) -> SitePage:
    """Monitoring sites, filtered by kind, region and name; enterprise users see only their
    own outlets."""
    cond = [site_scope(p)]
    if kind:
        cond.append(Site.kind == kind)
    if region:
        cond.append(Site.region_code.startswith(region))
    if q:
        like = f"%{q.replace('%', '').replace('_', '')}%"
        cond.append(Site.name.like(like) | Site.code.like(like))
    total = s.scalar(select(func.count()).select_from(Site).where(*cond)) or 0
    rows = s.execute(
        select(Site, Enterprise.name)
        .outerjoin(Enterprise, Enterprise.id == Site.enterprise_id)
        .where(*cond)
        .order_by(Site.kind, Site.code)
        .limit(limit)
        .offset(offset)
    )
    return SitePage(total=total, items=[site_out(x, en) for x, en in rows])


class LatestValue(BaseModel):
    code: str
    name: str | None
    unit: str | None
    value: str | None
    zs: str | None
    flag: str | None


class LatestRecord(BaseModel):
    resolution: str
    time: datetime | None = Field(description="data time, China Standard Time (UTC+8)")
    values: list[LatestValue]


class DeviceBrief(BaseModel):
    mn: str
    active: bool
    last_seen_at: datetime | None


class SiteDetail(BaseModel):
    site: SiteOut
    devices: list[DeviceBrief]
    latest: list[LatestRecord]


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


class _Names(dict[str, tuple[str, str | None]]):
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

    def get(self, code: str, default: object = None) -> tuple[str, str | None]:  # type: ignore[override,unused-ignore]
        return self[code]


def factor_names(s: Session, kind: str | None = None) -> dict[str, tuple[str, str | None]]:
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
    return _Names(reg, kind == "air_station")


def site_device_ids(s: Session, site_id: int) -> list[int]:
    return list(s.scalars(select(Device.id).where(Device.site_id == site_id)))


@router.get("/sites/{site_id}", response_model=SiteDetail)
def site_detail(
    site_id: PathId, p: Principal = Depends(require(*READERS)), s: Session = Depends(read_db)
) -> SiteDetail:
    """One site: its devices and the latest record at each resolution."""
    site = visible_site(s, p, site_id)
    ent = s.get(Enterprise, site.enterprise_id) if site.enterprise_id else None
    en = ent.name if ent else None
    devices = list(s.scalars(select(Device).where(Device.site_id == site_id).order_by(Device.mn)))
    ids = [d.id for d in devices]
    names = factor_names(s, site.kind)
    latest: list[LatestRecord] = []
    o = Observation
    for res in (Resolution.REALTIME, Resolution.MINUTE, Resolution.HOUR, Resolution.DAY):
        t = (
            s.scalar(
                select(func.max(o.data_time)).where(o.device_id.in_(ids), o.resolution == int(res))
            )
            if ids
            else None
        )
        if t is None:
            continue
        rows = s.scalars(
            select(o)
            .where(o.device_id.in_(ids), o.resolution == int(res), o.data_time == t)
            .order_by(o.code)
        )
        latest.append(
            LatestRecord(
                resolution=res.name.lower(),
                time=t.replace(tzinfo=CST),
                values=[
                    LatestValue(
                        code=r.code,
                        name=names.get(r.code, (None, None))[0],
                        unit=names.get(r.code, (None, None))[1],
                        value=r.value,
                        zs=r.zs,
                        flag=r.flag,
                    )
                    for r in rows
                ],
            )
        )
    return SiteDetail(
        site=site_out(site, en),
        devices=[
            DeviceBrief(mn=d.mn, active=d.active, last_seen_at=d.last_seen_at) for d in devices
        ],
        latest=latest,
    )


def parse_range(
    resolution: str, start: datetime, end: datetime
) -> tuple[Resolution, datetime, datetime]:
    res = Resolution.parse(resolution)

    def naive(t: datetime) -> datetime:
        return t.astimezone(CST).replace(tzinfo=None) if t.tzinfo else t

    try:
        a, b = naive(start), naive(end)
    except (OverflowError, ValueError):
        raise HTTPException(422, "start/end out of the representable time range") from None
    if b < a:
        raise HTTPException(422, "end is before start")
    if b - a > MAX_SPAN[res]:
        raise HTTPException(
            422,
            f"time range too long for {res.name.lower()} data: at most {MAX_SPAN[res].days} "
            "days per request; use a coarser resolution or several requests",
        )
    return res, a, b


def parse_codes(codes: str | None) -> list[str] | None:
    if codes is None or not codes.strip():
        return None
    out = [c.strip() for c in codes.split(",") if c.strip()]
    if len(out) > 40 or any(len(c) > 16 for c in out):
        raise HTTPException(422, "codes: at most 40 factor codes of up to 16 characters")
    return out


class Series(BaseModel):
    code: str
    name: str | None
    unit: str | None
    times: list[datetime]
    values: list[float | None]
    flags: list[str | None]


class SeriesOut(BaseModel):
    site_id: int
    resolution: str
    resolution_label: str
    start: datetime
    end: datetime
    series: list[Series]
    flag_labels: dict[str, str] = Field(description="HJ 212-2017 data flags (数据标记)")


@router.get("/sites/{site_id}/series", response_model=SeriesOut)
def site_series(
    site_id: PathId,
    start: datetime,
    end: datetime,
    resolution: ResolutionName = "hour",
    codes: str | None = Query(None, description="comma-separated factor codes; default all"),
    p: Principal = Depends(require(*READERS)),
    s: Session = Depends(read_db),
) -> JSONResponse:
    """Chart data: one series per factor, with flags. Times without an offset are China
    Standard Time. The range is bounded per resolution (see the error message)."""
    site = visible_site(s, p, site_id)
    res, a, b = parse_range(resolution, start, end)
    wanted = parse_codes(codes)
    ids = site_device_ids(s, site_id)
    o = Observation
    # The time column is read as the stored text (SQLite) so that thousands of points skip
    # datetime parsing; PostgreSQL still hands back datetimes. _iso_cst handles both.
    q = (
        select(o.code, type_coerce(o.data_time, String), o.value, o.flag)
        .where(o.device_id.in_(ids), o.resolution == int(res), o.data_time >= a, o.data_time <= b)
        .order_by(o.code, o.data_time)
        .limit(PAGE_MAX * 5 + 1)
    )
    if wanted:
        q = q.where(o.code.in_(wanted))
    names = factor_names(s, site.kind)
    # Built as plain JSON (no per-point model validation): a month of hourly data of a dozen
    # factors is tens of thousands of points; the shape is SeriesOut, as documented.
    by: dict[str, dict[str, Any]] = {}
    for n, (code, t, v, f) in enumerate(s.connection().execute(q).all(), 1):
        if n > PAGE_MAX * 5:
            raise HTTPException(422, "too many points: narrow the range or the factors")
        ser = by.get(code)
        if ser is None:
            nm, unit = names.get(code, (None, None))
            ser = by[code] = {
                "code": code,
                "name": nm,
                "unit": unit,
                "times": [],
                "values": [],
                "flags": [],
            }
        ser["times"].append(_iso_cst(t))
        ser["values"].append(_float(v))
        ser["flags"].append(f)
    body = {
        "site_id": site_id,
        "resolution": res.name.lower(),
        "resolution_label": RESOLUTION_LABELS[res.name],
        "start": a.isoformat() + "+08:00",
        "end": b.isoformat() + "+08:00",
        "series": list(by.values()),
        "flag_labels": {k: v[0] for k, v in data_flags().items()},
    }
    return JSONResponse(body)


def _iso_cst(t: str | datetime) -> str:
    """ISO 8601 with +08:00 from a stored CST time (SQLite text ``YYYY-MM-DD HH:MM:SS[.f]``
    or a datetime)."""
    if isinstance(t, datetime):
        return t.replace(tzinfo=CST).isoformat()
    return t[:10] + "T" + t[11:19] + "+08:00"


def _float(v: str | None) -> float | None:
    try:
        return None if v is None else float(v)
    except ValueError:
        return None


class FactorCompleteness(BaseModel):
    code: str
    name: str | None
    received: int
    valid: int = Field(description="records whose flag is N (normal) or absent")
    expected: int
    ratio: float = Field(description="received / expected")


class CompletenessOut(BaseModel):
    site_id: int
    resolution: str
    expected: int
    factors: list[FactorCompleteness]


@router.get("/sites/{site_id}/completeness", response_model=CompletenessOut)
def completeness(
    site_id: PathId,
    start: datetime,
    end: datetime,
    resolution: Literal["hour", "day"] = "hour",
    p: Principal = Depends(require(*READERS)),
    s: Session = Depends(read_db),
) -> CompletenessOut:
    """Data completeness: records received per factor against the number of hours (or days)
    in [start, end]."""
    visible_site(s, p, site_id)
    res, a, b = parse_range(resolution, start, end)
    step = timedelta(hours=1) if res == Resolution.HOUR else timedelta(days=1)
    expected = int((b - a) // step) + 1
    ids = site_device_ids(s, site_id)
    o = Observation
    names = factor_names(s)
    valid_flag = (o.flag.is_(None)) | (o.flag == "N")
    rows = s.execute(
        select(
            o.code,
            func.count(func.distinct(o.data_time)),
            func.count(func.distinct(o.data_time)).filter(valid_flag),
        )
        .where(o.device_id.in_(ids), o.resolution == int(res), o.data_time >= a, o.data_time <= b)
        .group_by(o.code)
        .order_by(o.code)
    )
    return CompletenessOut(
        site_id=site_id,
        resolution=res.name.lower(),
        expected=expected,
        factors=[
            FactorCompleteness(
                code=c,
                name=names.get(c, (None, None))[0],
                received=n,
                valid=v,
                expected=expected,
                ratio=round(min(n, expected) / expected, 4),
            )
            for c, n, v in rows
        ],
    )


class ObservationOut(BaseModel):
    device_mn: str
    time: datetime
    code: str
    value: str | None = Field(description="as the device sent it (exact decimal text)")
    zs: str | None
    flag: str | None
    derived: bool


class ObservationPage(BaseModel):
    items: list[ObservationOut]
    next_cursor: str | None = Field(description="pass as cursor for the next page; null at end")


def _cursor(t: datetime, code: str, device_id: int) -> str:
    return base64.urlsafe_b64encode(f"{t.isoformat()}|{code}|{device_id}".encode()).decode()


def _uncursor(c: str) -> tuple[datetime, str, int]:
    try:
        t, code, dev = base64.urlsafe_b64decode(c.encode()).decode().split("|")
        if not 0 < int(dev) < 2**31 or len(code) > 16:
            raise ValueError(dev)
        return datetime.fromisoformat(t), code, int(dev)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise HTTPException(422, "cursor is not one this API gave out") from None


def _obs_query(
    s: Session, p: Principal, site_id: int | None, mn: str | None
) -> tuple[list[int], dict[int, str]]:
    if (site_id is None) == (mn is None):
        raise HTTPException(422, "give exactly one of site_id and mn")
    q = select(Device.id, Device.mn).join(Site, Site.id == Device.site_id, isouter=True)
    if site_id is not None:
        visible_site(s, p, site_id)
        q = q.where(Device.site_id == site_id)
    else:
        q = q.where(Device.mn == mn)
        if p.role == "enterprise":
            q = q.where(site_scope(p))
    devs: dict[int, str] = {d: m for d, m in s.execute(q)}
    if mn is not None and not devs:
        raise HTTPException(404, f"no device {mn}")
    return list(devs), devs


@router.get("/observations", response_model=ObservationPage)
def observations(
    start: datetime,
    end: datetime,
    site_id: QueryId = None,
    mn: str | None = Query(None, max_length=32),
    resolution: ResolutionName = "hour",
    codes: str | None = Query(None, description="comma-separated factor codes; default all"),
    limit: int = Query(1000, ge=1, le=PAGE_MAX),
    cursor: str | None = Query(None, max_length=200),
    p: Principal = Depends(require(*READERS)),
    s: Session = Depends(read_db),
) -> ObservationPage:
    """Observations of one site or device (MN), paginated by time: follow ``next_cursor``."""
    res, a, b = parse_range(resolution, start, end)
    ids, mns = _obs_query(s, p, site_id, mn)
    wanted = parse_codes(codes)
    o = Observation
    q = (
        select(o)
        .where(o.device_id.in_(ids), o.resolution == int(res), o.data_time >= a, o.data_time <= b)
        .order_by(o.data_time, o.code, o.device_id)
        .limit(limit + 1)
    )
    if wanted:
        q = q.where(o.code.in_(wanted))
    if cursor:
        t, code, dev = _uncursor(cursor)
        q = q.where(tuple_(o.data_time, o.code, o.device_id) > tuple_(t, code, dev))
    rows = list(s.scalars(q))
    nxt = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        nxt = _cursor(last.data_time, last.code, last.device_id)
    return ObservationPage(
        items=[
            ObservationOut(
                device_mn=mns[r.device_id],
                time=r.data_time.replace(tzinfo=CST),
                code=r.code,
                value=r.value,
                zs=r.zs,
                flag=r.flag,
                derived=bool(r.derived),
            )
            for r in rows
        ],
        next_cursor=nxt,
    )


EXPORT_HEADER = ["时间", "设备MN", "因子编码", "因子名称", "单位", "数值", "折算值", "数据标记"]
XLSX_MAX_ROWS = 1_000_000  # Excel sheets stop at 1 048 576 rows


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {
                "text/csv": {},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
            }
        }
    },
)
def export(
    start: datetime,
    end: datetime,
    site_id: QueryId = None,
    mn: str | None = Query(None, max_length=32),
    resolution: ResolutionName = "hour",
    codes: str | None = Query(None),
    format: Literal["csv", "xlsx"] = "csv",
    p: Principal = Depends(require(*READERS)),
    s: Session = Depends(read_db),
) -> StreamingResponse:
    """Download observations as CSV (UTF-8 with BOM, opens in Excel) or Excel (.xlsx),
    streamed from the database in chunks."""
    res, a, b = parse_range(resolution, start, end)
    ids, mns = _obs_query(s, p, site_id, mn)
    wanted = parse_codes(codes)
    names = factor_names(s)
    label = f"{site_id or mn}_{res.name.lower()}_{a:%Y%m%d%H%M}-{b:%Y%m%d%H%M}"
    o = Observation
    q = (
        select(o.data_time, o.device_id, o.code, o.value, o.zs, o.flag)
        .where(o.device_id.in_(ids), o.resolution == int(res), o.data_time >= a, o.data_time <= b)
        .order_by(o.data_time, o.code, o.device_id)
        .execution_options(yield_per=5000)
    )
    if wanted:
        q = q.where(o.code.in_(wanted))
    bind = s.get_bind()
    if not isinstance(bind, Engine):
        raise HTTPException(500, "the read session is not bound to an engine")

    def rows() -> Iterator[list[str]]:
        # A connection of its own: the request's session closes when the endpoint returns.
        with bind.connect() as conn:
            for t, dev, code, v, zs, f in conn.execute(q):
                nm, unit = names.get(code, ("", ""))
                yield [
                    t.replace(tzinfo=CST).isoformat(),
                    mns[dev],
                    code,
                    nm or "",
                    unit or "",
                    v or "",
                    zs or "",
                    f or "",
                ]

    if format == "csv":

        def csv_chunks() -> Iterator[bytes]:
            buf = io.StringIO()
            w = csv.writer(buf)
            w.writerow(EXPORT_HEADER)
            yield ("\ufeff" + buf.getvalue()).encode()
            buf.seek(0)
            buf.truncate()
            for i, r in enumerate(rows(), 1):
                w.writerow(r)
                if i % 2000 == 0:
                    yield buf.getvalue().encode()
                    buf.seek(0)
                    buf.truncate()
            yield buf.getvalue().encode()

        return StreamingResponse(
            csv_chunks(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{label}.csv"'},
        )

    def xlsx_chunks() -> Iterator[bytes]:
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("监测数据")
        ws.append(EXPORT_HEADER)
        for i, r in enumerate(rows(), 1):
            if i > XLSX_MAX_ROWS:
                ws.append([f"超过 {XLSX_MAX_ROWS} 行，已截断；请缩小时间范围或改用 CSV"])
                break
            ws.append(
                [*r[:5], _float(r[5]) if r[5] else None, _float(r[6]) if r[6] else None, r[7]]
            )
        # The xlsx container is a zip written at save time; spool it, then stream it out.
        with tempfile.SpooledTemporaryFile(max_size=8 << 20) as fh:
            wb.save(fh)
            fh.seek(0)
            while chunk := fh.read(1 << 16):
                yield chunk

    return StreamingResponse(
        xlsx_chunks(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{label}.xlsx"'},
    )
