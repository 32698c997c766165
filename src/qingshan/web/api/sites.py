"""Sites: list, detail with the latest values, chart series, completeness."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from datetime import datetime
from typing import Any, Literal, get_args

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from qingshan.clock import CST, cst_today, to_cst, utcnow
from qingshan.protocol.hj212.codes import data_flags
from qingshan.roles import Principal
from qingshan.services import intervals, registry
from qingshan.services import observations as obs
from qingshan.services.figures.section import section_status
from qingshan.services.permissions import READERS, visible_site
from qingshan.storage.models import Site
from qingshan.web.cache import cached_json
from qingshan.web.deps import MAX_ID, PathId, ctx, read_db, require
from qingshan.web.labels import KIND_LABELS, RESOLUTION_LABELS, water_class_label
from qingshan.web.schemas.sites import (
    CompletenessOut,
    DeviceBrief,
    FactorCompleteness,
    KindName,
    LatestRecord,
    LatestValue,
    SectionClassOut,
    SeriesOut,
    SeriesResolution,
    SiteDetail,
    SiteOut,
    SitePage,
)

router = APIRouter(tags=["sites"])


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
        target_class=water_class_label(x.target_class),
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
    page = registry.find_sites(s, p, kind=kind, region=region, text=q, limit=limit, offset=offset)
    return SitePage(total=page.total, items=[site_out(x, en) for x, en in page.items])


@router.get("/sites/{site_id}", response_model=SiteDetail)
def site_detail(
    site_id: PathId, p: Principal = Depends(require(*READERS)), s: Session = Depends(read_db)
) -> SiteDetail:
    """One site: its devices and the latest record at each resolution."""
    site = visible_site(s, p, site_id)
    devices = registry.site_devices(s, site_id)
    names = obs.factor_names(s, site.kind)
    latest = [
        LatestRecord(
            resolution=x.resolution.name.lower(),
            time=x.time.replace(tzinfo=CST),
            values=[
                LatestValue(
                    code=r.code,
                    name=names[r.code][0],
                    unit=names[r.code][1],
                    value=r.value,
                    display=obs.display_value(site.kind, r.code, r.value),
                    zs=r.zs,
                    zs_display=obs.display_value(site.kind, r.code, r.zs),
                    flag=r.flag,
                )
                for r in x.records
            ],
        )
        for x in obs.latest(s, [d.id for d in devices])
    ]
    ids = [d.id for d in devices]
    steps = intervals.device_intervals(s, ids, to_cst(utcnow()))
    last = intervals.last_reports(s, ids)
    water = section_status(s, site_id, cst_today())
    return SiteDetail(
        site=site_out(site, registry.enterprise_name(s, site)),
        devices=[
            DeviceBrief(
                mn=d.mn,
                active=d.active,
                last_seen_at=d.last_seen_at,
                last_report=_cst(last.get(d.id)),
                interval_minutes=steps[d.id].minutes,
                interval_source=steps[d.id].source,
            )
            for d in devices
        ],
        latest=latest,
        flag_labels={k: v[0] for k, v in data_flags().items()},
        water=None if water is None else SectionClassOut.model_validate(asdict(water)),
    )


def _cst(t: datetime | None) -> datetime | None:
    return None if t is None else t.replace(tzinfo=CST)


@router.get("/sites/{site_id}/series", response_model=SeriesOut)
async def site_series(
    request: Request,
    site_id: PathId,
    start: datetime,
    end: datetime,
    resolution: SeriesResolution = "hour",
    codes: str | None = Query(None, description="comma-separated factor codes; default all"),
    p: Principal = Depends(require(*READERS)),
) -> Response:
    """Chart data: one series per factor, with flags. Times without an offset are China
    Standard Time. The range is bounded per resolution (see the error message); minute,
    hour and day series cover the whole units within it (``start`` rounded up, ``end`` down).
    ``resolution=auto`` downsamples by the range's length: up to 2 days minute data, up to
    60 days the hourly roll-ups, longer the daily roll-ups; ``resolution`` in the answer
    says which was used. Served from the payload cache with an ETag (``If-None-Match`` →
    304), recomputed when the data version moves."""
    c = ctx(request)
    rng = obs.time_range(resolution, start, end)
    wanted = obs.parse_codes(codes)

    def visible() -> tuple[str, tuple[int, ...]]:
        with c.read() as s:
            site = visible_site(s, p, site_id)
            return site.kind, tuple(d.id for d in registry.site_devices(s, site_id))

    seen = c.auth_cache.site(p, site_id)
    if seen is None:
        seen = await run_in_threadpool(visible)
        c.auth_cache.put_site(p, site_id, *seen)
    kind, ids = seen
    chart = obs.chart_range(rng)

    def make() -> bytes:
        with c.read() as s:
            data = obs.series(s, list(ids), chart, wanted, obs.factor_names(s, kind))
        # Plain JSON (no per-point model validation): a month of hourly data of a dozen
        # factors is tens of thousands of points; the shape is SeriesOut, as documented.
        tail = {
            "series": [
                {
                    "code": x.code,
                    "name": x.name,
                    "unit": x.unit,
                    "times": x.times,
                    "values": x.values,
                    "flags": x.flags,
                }
                for x in data
            ],
            "flag_labels": {k: v[0] for k, v in data_flags().items()},
        }
        return _json(tail)[1:]  # without its "{": the head below goes in front

    key, head = _series_key(site_id, rng, resolution, wanted)
    return await cached_json(request, key, make, head=head)


def _series_key(
    site_id: int, rng: obs.TimeRange, resolution: str, wanted: list[str] | None
) -> tuple[str, bytes]:
    """The cache key of a series request and the head put in front of the cached part.

    One cached payload per site, whole-unit range, factors and data version; the echo of the
    request (``start``, ``end``, ``requested_resolution``) is put in front of it."""
    chart = obs.chart_range(rng)
    head = {
        "site_id": site_id,
        "resolution": rng.resolution.name.lower(),
        "resolution_label": RESOLUTION_LABELS[rng.resolution.name],
        "requested_resolution": resolution,
        "resolution_rule": obs.AUTO_RULE if resolution == "auto" else None,
        "start": rng.start.isoformat() + "+08:00",
        "end": rng.end.isoformat() + "+08:00",
    }
    key = f"series:{site_id}:{chart.resolution.name}:{chart.start}:{chart.end}:{codes_key(wanted)}"
    return key, _json(head)[:-1] + b","


# Times the fast path reads itself: the plain ISO 8601 forms (what the pages and the bench
# send); anything else goes to FastAPI's own parsing.
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?")
_SERIES_PARAMS = frozenset({"start", "end", "resolution", "codes"})
_RESOLUTIONS = frozenset(get_args(SeriesResolution))


def series_fast(request: Request, p: Principal, m: re.Match[str]) -> tuple[str, bytes] | None:
    """The payload key and head of ``GET /sites/{id}/series`` for the ASGI fast path
    (:mod:`qingshan.web.fastpath`), or None to let the route answer: only well-formed
    requests for a site this caller was allowed to see within the credential cache's time."""
    site_id = int(m[1])
    if not 1 <= site_id <= MAX_ID or ctx(request).auth_cache.site(p, site_id) is None:
        return None
    q = request.query_params
    if not set(q) <= _SERIES_PARAMS or len(q.multi_items()) != len(q):
        return None
    start, end = q.get("start", ""), q.get("end", "")
    resolution = q.get("resolution", "hour")
    if resolution not in _RESOLUTIONS or not (
        _ISO_TIME.fullmatch(start) and _ISO_TIME.fullmatch(end)
    ):
        return None
    try:
        wanted = obs.parse_codes(q.get("codes"))
        rng = obs.time_range(resolution, datetime.fromisoformat(start), datetime.fromisoformat(end))
    except ValueError:
        return None
    return _series_key(site_id, rng, resolution, wanted)


def _json(x: Any) -> bytes:
    return json.dumps(x, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def codes_key(codes: list[str] | None) -> str:
    return ",".join(sorted(set(codes))) if codes else "*"


@router.get("/sites/{site_id}/completeness", response_model=CompletenessOut)
def completeness(
    site_id: PathId,
    start: datetime,
    end: datetime,
    resolution: Literal["hour", "day"] = "hour",
    p: Principal = Depends(require(*READERS)),
    s: Session = Depends(read_db),
) -> CompletenessOut:
    """Data completeness: records received per factor against the records due in [start, end]
    at the device's reporting interval (hour data; a 4-hourly section owes 6 a day) or one
    a day (day data); only periods closed by now count."""
    visible_site(s, p, site_id)
    rng = obs.time_range(resolution, start, end)
    ids = [d.id for d in registry.site_devices(s, site_id)]
    expected, factors = obs.completeness(s, ids, rng)
    return CompletenessOut(
        site_id=site_id,
        resolution=rng.resolution.name.lower(),
        expected=expected,
        factors=[
            FactorCompleteness(
                code=f.code,
                name=f.name,
                received=f.received,
                valid=f.valid,
                expected=f.expected,
                ratio=f.ratio,
                interval_minutes=f.interval_minutes,
            )
            for f in factors
        ],
    )
