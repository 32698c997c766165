"""Pollution sources: the supervision board, 一企一档, statistics and alarm episodes (thin: the
logic is :mod:`qingshan.services.sources`)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from qingshan.geo import wgs84_to_gcj02
from qingshan.roles import Principal
from qingshan.services.permissions import SOURCE_CONFIRMERS, SOURCE_READERS
from qingshan.services.sources import alarms, annual, exports, shape, stats, views, warnings
from qingshan.web.cache import app_cache
from qingshan.web.deps import PathId, ctx, read_db, require, write_db

router = APIRouter(tags=["sources"])


class ConfirmIn(BaseModel):
    note: str = Field(min_length=1, max_length=2000, description="核实情况")


@router.get("/sources/board")
def board(
    p: Principal = Depends(require(*SOURCE_READERS)), s: Session = Depends(read_db)
) -> dict[str, Any]:
    """The supervision board: exceeding now, offline now, hints, to confirm, and the month's
    validity ranking (an enterprise user: its own enterprise only)."""
    return views.board(s, p)


@router.get("/sources/stats")
def source_stats(
    d_from: date = Query(..., alias="from"),
    d_to: date = Query(..., alias="to"),
    region: str | None = Query(None, pattern=r"^\d{2,12}$"),
    p: Principal = Depends(require(*SOURCE_READERS)),
    s: Session = Depends(read_db),
) -> list[dict[str, Any]]:
    """Rates, exceedance hours/days and emissions per enterprise and outlet (as
    ``qingshan source stats --json``)."""
    if (d_to - d_from).days > 366:
        raise stats.StatsError("统计区间不能超过一年")
    period = stats.period(d_from, d_to)
    return [shape.enterprise_json(e) for e in stats.source_stats(s, p, period, region=region)]


@router.get("/sources/enterprises/{credit_code}")
def dossier(
    credit_code: str,
    p: Principal = Depends(require(*SOURCE_READERS)),
    s: Session = Depends(read_db),
) -> dict[str, Any]:
    """一企一档 of one enterprise (404 when absent or not the caller's)."""
    return views.dossier(s, p, credit_code)


@router.get("/sources/alarms")
def list_alarms(
    open_only: bool = Query(False, alias="open"),
    p: Principal = Depends(require(*SOURCE_READERS)),
    s: Session = Depends(read_db),
) -> list[dict[str, Any]]:
    """Alarm and hint episodes, newest first."""
    return alarms.episodes_json(s, alarms.list_episodes(s, p, open_only=open_only))


@router.get("/sources/alarms/{episode_id}")
def get_alarm(
    episode_id: PathId,
    p: Principal = Depends(require(*SOURCE_READERS)),
    s: Session = Depends(read_db),
) -> dict[str, Any]:
    """One episode by its id."""
    (row,) = alarms.episodes_json(s, [alarms.get_episode(s, p, episode_id)])
    return row


@router.post("/sources/alarms/{episode_id}/confirm")
def confirm_alarm(
    episode_id: PathId,
    body: ConfirmIn,
    p: Principal = Depends(require(*SOURCE_CONFIRMERS)),
    s: Session = Depends(write_db, scope="function"),
) -> dict[str, Any]:
    """Confirm an episode with the finding (it closes once the condition has cleared)."""
    (row,) = alarms.episodes_json(s, [alarms.confirm(s, p, episode_id, body.note)])
    return row


@router.get("/sources/warnings")
def list_warnings(
    p: Principal = Depends(require(*SOURCE_READERS)), s: Session = Depends(read_db)
) -> list[dict[str, Any]]:
    """Heavy-pollution warnings (重污染天气预警), newest first, with ``active``."""
    return [warnings.warning_json(s, w) for w in warnings.list_warnings(s)]


@router.get("/sources/warnings/{warning_id}")
def warning_board(
    warning_id: PathId,
    p: Principal = Depends(require(*SOURCE_READERS)),
    s: Session = Depends(read_db),
) -> dict[str, Any]:
    """The warning board: the enterprises that must act, their measure and expected
    reduction, and the drop their online data show against their own baseline (an
    enterprise user: its own row only)."""
    return warnings.board(s, p, warning_id)


@router.get("/sources/measures")
def list_measures(
    p: Principal = Depends(require(*SOURCE_READERS)), s: Session = Depends(read_db)
) -> list[dict[str, Any]]:
    """The 应急减排清单 (绩效分级, measure and expected reduction per warning level)."""
    return warnings.measures_json(s, p)


EMISSIONS_CACHE_SECONDS = 300.0  # a year of hourly values per region table: seconds of work


@router.get("/sources/emissions")
def emissions(
    request: Request,
    year: int | None = Query(None, ge=2000, le=2100),
    region: str | None = Query(None, pattern=r"^\d{2,12}$"),
    p: Principal = Depends(require(*SOURCE_READERS)),
) -> dict[str, Any]:
    """Emissions against the permitted annual amounts with the projected year-end use, per
    enterprise and per region (as ``qingshan source emissions``), within the caller's scope;
    recomputed at most every 5 minutes per scope."""
    c = ctx(request)
    now = views.month_to_date().cutoff
    y = now.year if year is None else year
    key = f"sources:emissions:{p.role}:{p.enterprise_id}:{p.unit}:{y}:{region}"

    def make() -> dict[str, Any]:
        with c.read() as s:
            return {
                "year": y,
                "cutoff": now.isoformat(timespec="minutes") + "+08:00",
                "regions": annual.region_use(s, p, y, cutoff=now, region=region),
                "enterprises": annual.annual_use(s, p, y, cutoff=now, region=region),
            }

    out: dict[str, Any] = app_cache(request).get(key, make, ttl=EMISSIONS_CACHE_SECONDS)
    return out


EXPORT_RETRY_SECONDS = 5


def _xlsx(request: Request, name: str, make: Any) -> Response:
    """A board table as .xlsx, inside one of the web's export slots (503 when all are busy)."""
    c = ctx(request)
    if not c.exports.try_enter():
        raise HTTPException(
            503, "导出任务繁忙，请稍后再试", headers={"Retry-After": str(EXPORT_RETRY_SECONDS)}
        )
    try:
        data: bytes = make()
    finally:
        c.exports.leave()
    return Response(
        data,
        media_type=exports.XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )


@router.get("/sources/board/export")
def board_export(
    request: Request,
    p: Principal = Depends(require(*SOURCE_READERS)),
    s: Session = Depends(read_db),
) -> Response:
    """The supervision board's tables (正在超标, 当前离线, 数据线索, 有效传输率排名) as Excel."""
    return _xlsx(request, "sources-board", lambda: exports.board_workbook(views.board(s, p)))


@router.get("/sources/warnings/{warning_id}/export")
def warning_export(
    request: Request,
    warning_id: PathId,
    p: Principal = Depends(require(*SOURCE_READERS)),
    s: Session = Depends(read_db),
) -> Response:
    """The warning board as Excel."""
    return _xlsx(
        request,
        f"warning-{warning_id}",
        lambda: exports.warning_workbook(warnings.board(s, p, warning_id)),
    )


@router.get("/sources/map")
def enterprise_map(
    datum: Literal["wgs84", "gcj02"] = "wgs84",
    p: Principal = Depends(require(*SOURCE_READERS)),
    s: Session = Depends(read_db),
) -> dict[str, Any]:
    """一张图's enterprise layer: one GeoJSON point per enterprise within scope, coloured by
    its status now (超标 / 离线 / 正常, as the supervision board counts them)."""
    feats = []
    for e in views.enterprise_points(s, p):
        lon, lat = e.pop("lon"), e.pop("lat")
        if datum == "gcj02":
            lon, lat = wgs84_to_gcj02(lon, lat)
        feats.append(
            {
                "type": "Feature",
                "id": e["credit_code"],
                "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
                "properties": e,
            }
        )
    return {"type": "FeatureCollection", "datum": datum, "features": feats}
