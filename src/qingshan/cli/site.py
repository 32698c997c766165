"""``qingshan site add / list``: monitoring sites of every kind and enterprise outlets, with
their kind-specific attributes."""

from __future__ import annotations

from typing import Any

import typer
from sqlalchemy.orm import Session

from qingshan.cli.registry import DB, JSON, done, in_session, show
from qingshan.roles import CLI
from qingshan.services.registry import sites
from qingshan.services.registry.common import decimal_text
from qingshan.storage.models import SITE_KINDS

app = typer.Typer(help="点位和排放口：登记和列表", no_args_is_help=True)


def _row(x: Any, credit: str | None) -> dict[str, Any]:
    return {
        "code": x.code,
        "name": x.name,
        "kind": x.kind,
        "region": x.region_code,
        "lon": None if x.longitude is None else decimal_text(x.longitude),
        "lat": None if x.latitude is None else decimal_text(x.latitude),
        "control_level": x.control_level,
        "water_body": x.water_body,
        "water_body_name": x.water_body_name,
        "target_class": x.target_class,
        "source_level": x.source_level,
        "source_type": x.source_type,
        "noise_zone": x.noise_zone,
        "enterprise": credit,
        "medium": x.outlet_medium,
    }


@app.command("add")
def add(
    code: str = typer.Option(..., "--code", help="点位编码"),
    name: str = typer.Option(..., "--name", help="点位名称"),
    kind: str = typer.Option(..., "--kind", help=f"点位类型：{', '.join(SITE_KINDS)}"),
    region: str = typer.Option(..., "--region", help="所在区划代码（须已登记）"),
    lon: str = typer.Option(..., "--lon", help="经度（WGS-84 十进制度）"),
    lat: str = typer.Option(..., "--lat", help="纬度（WGS-84 十进制度）"),
    control_level: str | None = typer.Option(
        None, "--control-level", help="控制级别，如 国控、省控、市控、微站"
    ),
    enterprise: str | None = typer.Option(
        None, "--enterprise", help="排放口：所属企业的统一社会信用代码"
    ),
    medium: str | None = typer.Option(None, "--medium", help="排放口：gas（废气）或 water（废水）"),
    water_body: str | None = typer.Option(
        None, "--water-body", help="断面/水源地：river（河流）或 lake_reservoir（湖库）"
    ),
    water_body_name: str | None = typer.Option(
        None, "--water-body-name", help="断面/水源地：所在河流或湖库名称"
    ),
    target_class: str | None = typer.Option(
        None, "--target-class", help="断面/水源地/地下水：水质目标 I–V"
    ),
    source_level: str | None = typer.Option(None, "--source-level", help="水源地：级别"),
    source_type: str | None = typer.Option(
        None, "--source-type", help="水源地：surface（地表水）或 groundwater（地下水）"
    ),
    noise_zone: str | None = typer.Option(
        None, "--noise-zone", help="声环境监测点：功能区 0/1/2/3/4a/4b"
    ),
    db: str | None = DB,
) -> None:
    """登记一个点位或排放口。"""

    def action(s: Session) -> dict[str, Any]:
        rec = sites.SiteRecord(
            code=code,
            name=name,
            kind=kind,
            region_code=region,
            longitude=lon,
            latitude=lat,
            control_level=control_level,
            water_body=water_body,
            water_body_name=water_body_name,
            target_class=target_class,
            source_level=source_level,
            source_type=source_type,
            noise_zone=noise_zone,
            enterprise=enterprise,
            outlet_medium=medium,
        )
        x = sites.create_site(s, CLI, rec)
        return _row(x, enterprise.strip().upper() if enterprise else None)

    rec = in_session(db, action)
    done(f"已登记点位 {rec['name']}（{rec['code']}，{sites.KIND_LABELS[rec['kind']]}）", rec)


@app.command("list")
def list_(
    kind: str | None = typer.Option(None, "--kind", help="只列此类型"),
    region: str | None = typer.Option(None, "--region", help="只列此区划（代码前缀）"),
    as_json: bool = JSON,
    db: str | None = DB,
) -> None:
    """列出点位。"""
    rows = in_session(
        db, lambda s: [_row(x, c) for x, c in sites.list_sites(s, kind=kind, region=region)]
    )
    if not as_json:
        for r in rows:
            r["kind"] = sites.KIND_LABELS.get(r["kind"], r["kind"])
    headers = {
        "code": "点位编码",
        "name": "名称",
        "kind": "类型",
        "region": "区划",
        "lon": "经度",
        "lat": "纬度",
        "control_level": "控制级别",
        "enterprise": "所属企业",
    }
    show(rows, headers, as_json)
