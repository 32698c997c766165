"""``qingshan region add / list``: administrative regions (GB/T 2260 codes, townships) and
their boundaries, through the registry service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from sqlalchemy.orm import Session

from qingshan.cli._db import fail
from qingshan.cli.registry import DB, JSON, done, in_session, show
from qingshan.roles import CLI
from qingshan.services.registry import regions
from qingshan.services.registry.common import RegistryError
from qingshan.services.registry.rules import LEVEL_LABELS

app = typer.Typer(help="行政区划：登记（含边界）和列表", no_args_is_help=True)


@app.command("add")
def add(
    code: str = typer.Option(..., "--code", help="区划代码：GB/T 2260 6 位，乡级 9 位"),
    name: str = typer.Option(..., "--name", help="区划名称"),
    parent: str | None = typer.Option(None, "--parent", help="上级区划代码（须已登记）"),
    level: str | None = typer.Option(
        None, "--level", help="province / city / county / township（默认按代码推断）"
    ),
    boundary: str | None = typer.Option(
        None, "--boundary", help="边界 GeoJSON 文件（Polygon/MultiPolygon，WGS-84）"
    ),
    source: str | None = typer.Option(None, "--source", help="边界来源（出处、许可）"),
    db: str | None = DB,
) -> None:
    """登记一个行政区划（可同时导入其边界）。"""
    geometry = None
    if boundary is not None:
        path = Path(boundary)
        try:
            raw = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise fail(f"无法读取边界文件 {boundary}：{exc}", 2) from None
        try:
            geometry = regions.geometry_from_geojson(raw, f"边界文件 {path.name}")
        except RegistryError as exc:
            raise fail(str(exc), 2) from None

    def action(s: Session) -> dict[str, Any]:
        rec = regions.RegionRecord(code=code, name=name, parent_code=parent, level=level)
        r = regions.create_region(s, CLI, rec)
        if geometry is not None:
            regions.set_boundary(
                s, CLI, r.code, geometry, source=source or Path(boundary or "").name
            )
        return {
            "code": r.code,
            "name": r.name,
            "level": r.level,
            "parent": r.parent_code,
            "boundary": geometry is not None,
        }

    rec = in_session(db, action)
    extra = "，已导入边界" if rec["boundary"] else ""
    done(f"已登记区划 {rec['name']}（{rec['code']}，{LEVEL_LABELS[rec['level']]}）{extra}", rec)


@app.command("list")
def list_(
    under: str | None = typer.Option(None, "--under", help="只列代码以此开头的区划"),
    as_json: bool = JSON,
    db: str | None = DB,
) -> None:
    """列出行政区划。"""

    def action(s: Session) -> list[dict[str, Any]]:
        with_outline = set(regions.boundary_codes(s))
        return [
            {
                "code": r.code,
                "name": r.name,
                "level": r.level,
                "parent": r.parent_code,
                "boundary": r.code in with_outline,
            }
            for r in regions.list_regions(s, under=under)
        ]

    rows = in_session(db, action)
    if not as_json:
        for r in rows:
            r["level"] = LEVEL_LABELS.get(r["level"], r["level"])
            r["boundary"] = "有" if r["boundary"] else ""
    show(
        rows,
        {"code": "区划代码", "name": "名称", "level": "级别", "parent": "上级", "boundary": "边界"},
        as_json,
    )
