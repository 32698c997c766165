"""Organisational units (责任单位): departments, townships/streets, parks, counties — the units
plans and cases assign work to and unit users belong to."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from qingshan.roles import Principal
from qingshan.services.registry.common import (
    RegistryConflict,
    RegistryError,
    RegistryNotFound,
    record_change,
    snapshot,
    text,
)
from qingshan.storage.models import Region
from qingshan.storage.models_registry import ORG_UNIT_KINDS, OrgUnit

UNIT_FIELDS = ("code", "name", "kind", "region_code", "parent_code", "contact", "phone")
UNIT_KIND_LABELS = {
    "department": "部门",
    "township": "乡镇（街道）",
    "park": "园区",
    "county": "县（区）",
}


@dataclass(frozen=True, slots=True)
class UnitRecord:
    code: str
    name: str
    kind: str  # department / township / park / county (or its label 部门 …)
    region_code: str | None = None
    parent_code: str | None = None
    contact: str | None = None
    phone: str | None = None


def unit_kind(value: str) -> str:
    """A kind from its stored name or its Chinese label."""
    v = value.strip()
    for kind, label in UNIT_KIND_LABELS.items():
        if v in (kind, label) or v == label.split("（")[0]:
            return kind
    labels = "、".join(UNIT_KIND_LABELS.values())
    raise RegistryError(f"单位类别 {value!r} 不是 {labels} 之一", "kind")


def _checked(s: Session, rec: UnitRecord) -> UnitRecord:
    code = text(rec.code, "code", "单位代码", max_len=100, required=True)
    name = text(rec.name, "name", "单位名称", max_len=200, required=True)
    assert code is not None and name is not None
    kind = unit_kind(rec.kind or "")
    assert kind in ORG_UNIT_KINDS
    region = text(rec.region_code, "region_code", "所属区划代码", max_len=12)
    if region is not None and s.get(Region, region) is None:
        raise RegistryError(f"所属区划 {region} 不存在：先登记区划", "region_code")
    parent = text(rec.parent_code, "parent_code", "上级单位代码", max_len=100)
    if parent is not None:
        if parent == code:
            raise RegistryError(f"单位 {code} 不能是自己的上级", "parent_code")
        if s.get(OrgUnit, parent) is None:
            raise RegistryError(f"上级单位 {parent} 不存在：先登记上级单位", "parent_code")
        seen = {code}
        up: str | None = parent
        while up is not None:  # no cycles through existing units
            if up in seen:
                raise RegistryError(f"上级单位 {parent} 会使单位层级成环", "parent_code")
            seen.add(up)
            row = s.get(OrgUnit, up)
            up = row.parent_code if row is not None else None
    return UnitRecord(
        code=code,
        name=name,
        kind=kind,
        region_code=region,
        parent_code=parent,
        contact=text(rec.contact, "contact", "联系人", max_len=50),
        phone=text(rec.phone, "phone", "联系电话", max_len=40),
    )


def save_unit(
    s: Session, actor: Principal, rec: UnitRecord, *, client: str | None = None
) -> tuple[OrgUnit, str]:
    """Create or update (by code) a unit; returns (unit, outcome)."""
    rec = _checked(s, rec)
    row = s.get(OrgUnit, rec.code)
    before = None if row is None else snapshot(row, UNIT_FIELDS)
    if row is None:
        row = OrgUnit(code=rec.code)
        s.add(row)
    row.name, row.kind, row.region_code = rec.name, rec.kind, rec.region_code
    row.parent_code, row.contact, row.phone = rec.parent_code, rec.contact, rec.phone
    s.flush()
    outcome = record_change(
        s,
        actor,
        entity="org_unit",
        key=row.code,
        before=before,
        after=snapshot(row, UNIT_FIELDS),
        client=client,
    )
    return row, outcome


def create_unit(
    s: Session, actor: Principal, rec: UnitRecord, *, client: str | None = None
) -> OrgUnit:
    if s.get(OrgUnit, (rec.code or "").strip()) is not None:
        raise RegistryConflict(f"单位代码 {rec.code.strip()} 已存在", "code")
    return save_unit(s, actor, rec, client=client)[0]


def update_unit(
    s: Session, actor: Principal, rec: UnitRecord, *, client: str | None = None
) -> OrgUnit:
    if s.get(OrgUnit, (rec.code or "").strip()) is None:
        raise RegistryNotFound(f"单位代码 {rec.code.strip()} 不存在", "code")
    return save_unit(s, actor, rec, client=client)[0]


def list_units(s: Session, *, kind: str | None = None) -> list[OrgUnit]:
    q = select(OrgUnit).order_by(OrgUnit.code)
    if kind:
        q = q.where(OrgUnit.kind == unit_kind(kind))
    return list(s.scalars(q))
