"""Observation records of a site or device: paginated, and the streamed export."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from qingshan.clock import CST
from qingshan.roles import Principal
from qingshan.services import observations as obs
from qingshan.services.permissions import READERS
from qingshan.web.deps import MAX_ID, PathId, QueryId, ctx, read_db, require
from qingshan.web.exports import gated
from qingshan.web.schemas.sites import (
    ExportFormat,
    ObservationOut,
    ObservationPage,
    ObservationTable,
    ResolutionName,
    SiteFactorOut,
    SiteFactors,
    TableCell,
    TableColumn,
    TableRow,
)

router = APIRouter(tags=["sites"])
EXPORT_RETRY_SECONDS = 10


@router.get("/observations", response_model=ObservationPage)
def observations(
    start: datetime,
    end: datetime,
    site_id: QueryId = None,
    mn: str | None = Query(None, max_length=32),
    resolution: ResolutionName = "hour",
    codes: str | None = Query(None, description="comma-separated factor codes; default all"),
    limit: int = Query(1000, ge=1, le=obs.PAGE_MAX),
    cursor: str | None = Query(None, max_length=200),
    p: Principal = Depends(require(*READERS)),
    s: Session = Depends(read_db),
) -> ObservationPage:
    """Observations of one site or device (MN), paginated by time: follow ``next_cursor``.
    Every stored field, values as the exact decimal text the device sent."""
    rng = obs.time_range(resolution, start, end)
    page = obs.record_page(
        s,
        p,
        rng,
        site_id=site_id,
        mn=mn,
        codes=obs.parse_codes(codes),
        limit=limit,
        cursor=cursor,
    )
    return ObservationPage(
        items=[
            ObservationOut(
                device_mn=r.mn,
                time=r.time.replace(tzinfo=CST),
                code=r.code,
                value=r.value,
                min=r.vmin,
                max=r.vmax,
                cou=r.cou,
                zs=r.zs,
                zs_min=r.zs_min,
                zs_max=r.zs_max,
                flag=r.flag,
                derived=r.derived,
                samples=r.samples,
            )
            for r in page.records
        ],
        next_cursor=page.next_cursor,
    )


@router.get("/sites/{site_id}/factors", response_model=SiteFactors)
def site_factors(
    site_id: PathId, p: Principal = Depends(require(*READERS)), s: Session = Depends(read_db)
) -> SiteFactors:
    """The factors the site's devices measure, with names and units as the site reports them
    (HJ 212-2017 附录B, ambient air in μg/m³) and their display precision."""
    kind, factors = obs.site_factors(s, p, site_id)
    return SiteFactors(
        site_id=site_id,
        kind=kind,
        factors=[
            SiteFactorOut(
                code=f.code,
                mn=f.mn,
                name=f.name,
                unit=f.unit,
                header=f"{f.name} ({f.unit})" if f.unit else f.name,
                decimals=f.decimals,
            )
            for f in factors
        ],
    )


@router.get("/observations/table", response_model=ObservationTable)
def observation_table(
    site_id: Annotated[int, Query(ge=1, le=MAX_ID)],
    start: datetime,
    end: datetime,
    resolution: ResolutionName = "hour",
    codes: str | None = Query(None, description="comma-separated factor codes; default all"),
    limit: int = Query(100, ge=1, le=1000, description="times (rows) per page"),
    cursor: str | None = Query(None, max_length=200),
    p: Principal = Depends(require(*READERS)),
    s: Session = Depends(read_db),
) -> ObservationTable:
    """A site's records as a time × factor table: one row per time, one column per factor
    (header 名称 (单位)), each cell the stored value, its display text (the factor's display
    precision, GB/T 8170) and its flag; paginated by time (``next_cursor``)."""
    rng = obs.time_range(resolution, start, end)
    page = obs.wide_page(
        s, p, rng, site_id=site_id, codes=obs.parse_codes(codes), limit=limit, cursor=cursor
    )
    return ObservationTable(
        site_id=site_id,
        kind=page.kind,
        resolution=rng.resolution.name.lower(),
        columns=[
            TableColumn(key=c.key, code=c.code, mn=c.mn, name=c.name, unit=c.unit, header=c.header)
            for c in page.columns
        ],
        rows=[
            TableRow(
                time=r.time.replace(tzinfo=CST),
                cells=[
                    None
                    if c is None
                    else TableCell(
                        value=c.value,
                        display=c.display,
                        flag=c.flag,
                        zs=c.zs,
                        zs_display=c.zs_display,
                    )
                    for c in r.cells
                ],
            )
            for r in page.rows
        ],
        next_cursor=page.next_cursor,
        flag_labels=page.flag_labels,
    )


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "every stored field of each record, values as exact text",
            "content": {media: {} for media, _ in obs.FORMATS.values()},
        }
    },
)
def export(
    request: Request,
    start: datetime,
    end: datetime,
    site_id: QueryId = None,
    mn: str | None = Query(None, max_length=32),
    resolution: ResolutionName = "hour",
    codes: str | None = Query(None),
    format: ExportFormat = "csv",
    p: Principal = Depends(require(*READERS)),
) -> StreamingResponse:
    """Download observations as CSV (UTF-8 with BOM, opens in Excel), Excel (.xlsx, values
    as text cells) or JSON, streamed from the database; the same export as
    ``qingshan data export``. At most ``web_export_concurrency`` exports run at once (else
    503 with Retry-After), each of at most ``web_export_max_rows`` records (else 422 with a
    message to narrow the range)."""
    rng = obs.time_range(resolution, start, end)
    c = ctx(request)
    engine: Engine = c.read.kw["bind"]
    ex = obs.open_export(engine, p, rng, site_id=site_id, mn=mn, codes=obs.parse_codes(codes))
    media, ext = obs.FORMATS[format]
    if not c.exports.try_enter():
        raise HTTPException(
            503, "导出任务繁忙，请稍后再试", headers={"Retry-After": str(EXPORT_RETRY_SECONDS)}
        )
    try:  # counted inside the slot: the count reads as much as the export would
        ex = ex.bounded(c.exports.max_rows)
    except BaseException:
        c.exports.leave()
        raise
    return StreamingResponse(
        gated(ex.chunks(format, excel=True), c.exports),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{ex.label}.{ext}"'},
    )
