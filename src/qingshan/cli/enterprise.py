"""``qingshan enterprise add / list``: enterprises (一企一档 core) by 统一社会信用代码."""

from __future__ import annotations

from typing import Any

import typer
from sqlalchemy.orm import Session

from qingshan.cli.registry import DB, JSON, done, in_session, show
from qingshan.roles import CLI
from qingshan.services.registry import enterprises
from qingshan.services.registry.common import decimal_text

app = typer.Typer(help="企业（一企一档）：登记和列表", no_args_is_help=True)


def _row(e: Any) -> dict[str, Any]:
    return {
        "credit_code": e.credit_code,
        "name": e.name,
        "region": e.region_code,
        "industry_code": e.industry_code,
        "industry": e.industry,
        "control_level": e.control_level,
        "permit_class": e.permit_class,
        "key_discharger": bool(e.key_discharger),
        "lon": None if e.longitude is None else decimal_text(e.longitude),
        "lat": None if e.latitude is None else decimal_text(e.latitude),
        "address": e.address,
        "legal_representative": e.legal_representative,
        "env_contact": e.env_contact,
        "phone": e.contact_phone,
    }


@app.command("add")
def add(
    name: str = typer.Option(..., "--name", help="企业名称"),
    credit_code: str = typer.Option(..., "--credit-code", help="统一社会信用代码（18 位）"),
    region: str = typer.Option(..., "--region", help="所在区划代码（须已登记）"),
    industry: str | None = typer.Option(None, "--industry", help="行业类别（文字）"),
    industry_code: str | None = typer.Option(
        None, "--industry-code", help="GB/T 4754-2017 行业代码，如 C3011"
    ),
    control_level: str | None = typer.Option(
        None, "--control-level", help="重点源级别：国控/省控/市控/区控/县控"
    ),
    permit_class: str | None = typer.Option(
        None, "--permit-class", help="排污许可管理类别：重点管理/简化管理/登记管理"
    ),
    key_discharger: bool = typer.Option(False, "--key-discharger", help="重点排污单位"),
    lon: str | None = typer.Option(None, "--lon", help="经度（WGS-84）"),
    lat: str | None = typer.Option(None, "--lat", help="纬度（WGS-84）"),
    address: str | None = typer.Option(None, "--address", help="地址"),
    legal_representative: str | None = typer.Option(
        None, "--legal-representative", help="法定代表人"
    ),
    env_contact: str | None = typer.Option(None, "--env-contact", help="环保负责人"),
    phone: str | None = typer.Option(None, "--phone", help="联系电话"),
    db: str | None = DB,
) -> None:
    """登记一家企业。"""

    def action(s: Session) -> dict[str, Any]:
        rec = enterprises.EnterpriseRecord(
            credit_code=credit_code,
            name=name,
            region_code=region,
            industry_code=industry_code,
            industry=industry,
            control_level=control_level,
            permit_class=permit_class,
            key_discharger=key_discharger,
            longitude=lon,
            latitude=lat,
            address=address,
            legal_representative=legal_representative,
            env_contact=env_contact,
            contact_phone=phone,
        )
        return _row(enterprises.create_enterprise(s, CLI, rec))

    rec = in_session(db, action)
    done(f"已登记企业 {rec['name']}（{rec['credit_code']}）", rec)


@app.command("list")
def list_(
    region: str | None = typer.Option(None, "--region", help="只列此区划（代码前缀）"),
    as_json: bool = JSON,
    db: str | None = DB,
) -> None:
    """列出企业。"""
    rows = in_session(
        db, lambda s: [_row(e) for e in enterprises.list_enterprises(s, CLI, region=region)]
    )
    if not as_json:
        for r in rows:
            r["key_discharger"] = "是" if r["key_discharger"] else ""
    headers = {
        "credit_code": "统一社会信用代码",
        "name": "企业名称",
        "region": "区划",
        "industry": "行业",
        "control_level": "重点源级别",
        "permit_class": "管理类别",
        "key_discharger": "重点排污单位",
    }
    show(rows, headers, as_json)
