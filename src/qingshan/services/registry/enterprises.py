"""Enterprises (一企一档 core): validated create / update / list by 统一社会信用代码."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from qingshan.roles import Principal
from qingshan.services.permissions import enterprise_scope
from qingshan.services.registry.common import (
    RegistryConflict,
    RegistryError,
    RegistryNotFound,
    choice,
    problem,
    record_change,
    snapshot,
    text,
)
from qingshan.services.registry.rules import (
    FieldProblem,
    check_credit_code,
    check_in_china,
    check_industry_code,
    coordinate,
)
from qingshan.storage.models import ENTERPRISE_CONTROL_LEVELS, PERMIT_CLASSES, Enterprise, Region

ENTERPRISE_FIELDS = (
    "credit_code",
    "name",
    "region_code",
    "industry_code",
    "industry",
    "control_level",
    "permit_class",
    "key_discharger",
    "longitude",
    "latitude",
    "address",
    "legal_representative",
    "env_contact",
    "contact_phone",
)


@dataclass(frozen=True, slots=True)
class EnterpriseRecord:
    credit_code: str
    name: str
    region_code: str
    industry_code: str | None = None
    industry: str | None = None
    control_level: str | None = None  # 国控 / 省控 / 市控 / 区控 / 县控
    permit_class: str | None = None  # 重点管理 / 简化管理 / 登记管理
    key_discharger: bool = False  # 重点排污单位
    longitude: str | Decimal | None = None
    latitude: str | Decimal | None = None
    address: str | None = None
    legal_representative: str | None = None
    env_contact: str | None = None
    contact_phone: str | None = None


def location(
    lon: str | Decimal | float | None, lat: str | Decimal | float | None, *, required: bool
) -> tuple[Decimal | None, Decimal | None]:
    """Checked WGS-84 coordinates (both or neither; inside China)."""
    given = [v is not None and str(v).strip() != "" for v in (lon, lat)]
    if not any(given):
        if required:
            raise RegistryError("经度和纬度不能为空", "longitude")
        return None, None
    if not all(given):
        raise RegistryError("经度和纬度须同时填写", "latitude" if given[0] else "longitude")
    assert lon is not None and lat is not None
    try:
        x = coordinate(str(lon).strip() if isinstance(lon, str) else lon, "经度")
    except FieldProblem as exc:
        raise problem(exc, "longitude") from None
    try:
        y = coordinate(str(lat).strip() if isinstance(lat, str) else lat, "纬度")
    except FieldProblem as exc:
        raise problem(exc, "latitude") from None
    try:
        return check_in_china(x, y)
    except FieldProblem as exc:
        raise problem(exc, "longitude") from None


def _checked(s: Session, rec: EnterpriseRecord) -> EnterpriseRecord:
    try:
        credit = check_credit_code(rec.credit_code or "")
    except FieldProblem as exc:
        raise problem(exc, "credit_code") from None
    name = text(rec.name, "name", "企业名称", max_len=200, required=True)
    assert name is not None
    region = text(rec.region_code, "region_code", "所在区划代码", max_len=12, required=True)
    if s.get(Region, region) is None:
        raise RegistryError(f"所在区划 {region} 不存在：先登记区划", "region_code")
    industry_code = None
    if rec.industry_code and rec.industry_code.strip():
        try:
            industry_code = check_industry_code(rec.industry_code)
        except FieldProblem as exc:
            raise problem(exc, "industry_code") from None
    lon, lat = location(rec.longitude, rec.latitude, required=False)
    return EnterpriseRecord(
        credit_code=credit,
        name=name,
        region_code=region or "",
        industry_code=industry_code,
        industry=text(rec.industry, "industry", "行业类别", max_len=100),
        control_level=choice(
            rec.control_level, "control_level", "重点源级别", ENTERPRISE_CONTROL_LEVELS
        ),
        permit_class=choice(rec.permit_class, "permit_class", "排污许可管理类别", PERMIT_CLASSES),
        key_discharger=bool(rec.key_discharger),
        longitude=lon,
        latitude=lat,
        address=text(rec.address, "address", "地址", max_len=300),
        legal_representative=text(
            rec.legal_representative, "legal_representative", "法定代表人", max_len=50
        ),
        env_contact=text(rec.env_contact, "env_contact", "环保负责人", max_len=50),
        contact_phone=text(rec.contact_phone, "contact_phone", "联系电话", max_len=40),
    )


def by_credit_code(s: Session, credit_code: str) -> Enterprise | None:
    return s.scalar(select(Enterprise).where(Enterprise.credit_code == credit_code.strip().upper()))


def save_enterprise(
    s: Session, actor: Principal, rec: EnterpriseRecord, *, client: str | None = None
) -> tuple[Enterprise, str]:
    """Create or update (by credit code) an enterprise; returns (enterprise, outcome)."""
    rec = _checked(s, rec)
    row = by_credit_code(s, rec.credit_code)
    before = None if row is None else snapshot(row, ENTERPRISE_FIELDS)
    if row is None:
        row = Enterprise(credit_code=rec.credit_code)
        s.add(row)
    for f in ENTERPRISE_FIELDS[1:]:
        setattr(row, f, getattr(rec, f))
    s.flush()
    outcome = record_change(
        s,
        actor,
        entity="enterprise",
        key=rec.credit_code,
        before=before,
        after=snapshot(row, ENTERPRISE_FIELDS),
        client=client,
    )
    return row, outcome


def create_enterprise(
    s: Session, actor: Principal, rec: EnterpriseRecord, *, client: str | None = None
) -> Enterprise:
    code = (rec.credit_code or "").strip().upper()
    if code and by_credit_code(s, code) is not None:
        raise RegistryConflict(f"统一社会信用代码 {code} 已登记", "credit_code")
    return save_enterprise(s, actor, rec, client=client)[0]


def update_enterprise(
    s: Session, actor: Principal, rec: EnterpriseRecord, *, client: str | None = None
) -> Enterprise:
    code = (rec.credit_code or "").strip().upper()
    if by_credit_code(s, code) is None:
        raise RegistryNotFound(f"统一社会信用代码 {code} 未登记", "credit_code")
    return save_enterprise(s, actor, rec, client=client)[0]


def list_enterprises(
    s: Session, p: Principal, *, region: str | None = None, text_: str | None = None
) -> list[Enterprise]:
    """Visible enterprises by credit code (those without one last, by name)."""
    q = select(Enterprise).where(enterprise_scope(p))
    if region:
        q = q.where(Enterprise.region_code.startswith(region))
    if text_:
        like = f"%{text_.replace('%', '').replace('_', '')}%"
        q = q.where(Enterprise.name.like(like) | Enterprise.credit_code.like(like))
    return list(
        s.scalars(
            q.order_by(Enterprise.credit_code.is_(None), Enterprise.credit_code, Enterprise.name)
        )
    )
