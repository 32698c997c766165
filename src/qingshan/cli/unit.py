"""``qingshan unit add / list``: organisational units (责任单位) that work is assigned to and
unit users belong to."""

from __future__ import annotations

from typing import Any

import typer
from sqlalchemy.orm import Session

from qingshan.cli.registry import DB, JSON, done, in_session, show
from qingshan.roles import CLI
from qingshan.services.registry import units

app = typer.Typer(help="责任单位：部门、乡镇（街道）、园区、县（区）", no_args_is_help=True)


def _row(u: Any) -> dict[str, Any]:
    return {
        "code": u.code,
        "name": u.name,
        "kind": u.kind,
        "region": u.region_code,
        "parent": u.parent_code,
        "contact": u.contact,
        "phone": u.phone,
    }


@app.command("add")
def add(
    code: str = typer.Option(..., "--code", help="单位代码（如单位的统一社会信用代码）"),
    name: str = typer.Option(..., "--name", help="单位名称"),
    kind: str = typer.Option(
        ..., "--kind", help="department（部门）/ township（乡镇街道）/ park（园区）/ county（县区）"
    ),
    region: str | None = typer.Option(None, "--region", help="所属区划代码"),
    parent: str | None = typer.Option(None, "--parent", help="上级单位代码"),
    contact: str | None = typer.Option(None, "--contact", help="联系人"),
    phone: str | None = typer.Option(None, "--phone", help="联系电话"),
    db: str | None = DB,
) -> None:
    """登记一个责任单位。"""

    def action(s: Session) -> dict[str, Any]:
        rec = units.UnitRecord(code, name, kind, region, parent, contact, phone)
        return _row(units.create_unit(s, CLI, rec))

    rec = in_session(db, action)
    done(
        f"已登记责任单位 {rec['name']}（{rec['code']}，{units.UNIT_KIND_LABELS[rec['kind']]}）", rec
    )


@app.command("list")
def list_(
    kind: str | None = typer.Option(None, "--kind", help="只列此类别"),
    as_json: bool = JSON,
    db: str | None = DB,
) -> None:
    """列出责任单位。"""
    rows = in_session(db, lambda s: [_row(u) for u in units.list_units(s, kind=kind)])
    if not as_json:
        for r in rows:
            r["kind"] = units.UNIT_KIND_LABELS.get(r["kind"], r["kind"])
    headers = {
        "code": "单位代码",
        "name": "名称",
        "kind": "类别",
        "region": "区划",
        "parent": "上级单位",
        "contact": "联系人",
        "phone": "电话",
    }
    show(rows, headers, as_json)
