"""Observation records of a site or device: paginated, and the streamed export."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from qingshan.clock import CST
from qingshan.roles import Principal
from qingshan.services import observations as obs
from qingshan.services.permissions import READERS
from qingshan.web.deps import QueryId, ctx, read_db, require
from qingshan.web.exports import gated
from qingshan.web.schemas.sites import (
    ExportFormat,
    ObservationOut,
    ObservationPage,
    ResolutionName,
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
