"""Discharge permits (排污许可证), their concentration limits (许可限值) and permitted annual
amounts (年许可排放量) as the registry records them: Chinese, field-level checks in front of
:mod:`qingshan.services.permits` (which stores them and holds the exact limit rule), and the
change record.

A permit's limits and annual amounts are written as whole tables (a re-issued permit replaces
them): :func:`save_limits` and :func:`save_annual_amounts` take every row of one permit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from qingshan.roles import Principal
from qingshan.services import permits
from qingshan.services.registry.common import (
    RegistryError,
    choice,
    record_change,
    snapshot,
    text,
)
from qingshan.services.registry.enterprises import by_credit_code
from qingshan.storage.models import Site, SiteKind
from qingshan.storage.models_registry import (
    MANAGEMENT_CLASSES,
    Permit,
    PermitAnnualAmount,
    PermitLimit,
)

PERMIT_FIELDS = ("number", "management_class", "valid_from", "valid_to", "note")
BASES = tuple(b.value for b in permits.Basis)


@dataclass(frozen=True, slots=True)
class PermitRecord:
    number: str
    enterprise: str  # 统一社会信用代码
    management_class: str
    valid_from: date | None
    valid_to: date | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class LimitRecord:
    outlet: str  # site code of an enterprise_outlet of the permit's enterprise
    pollutant: str  # HJ 212-2017 code
    limit: str  # exact decimal text
    unit: str
    basis: str  # 小时均值 / 日均值
    standard: str
    lower: str | None = None
    o2_ref: str | None = None
    source_table: str | None = None


@dataclass(frozen=True, slots=True)
class AmountRecord:
    pollutant: str
    year: int
    amount: str
    unit: str = "t/a"


def permit_by_number(s: Session, number: str) -> Permit | None:
    return s.scalar(select(Permit).where(Permit.number == number.strip()))


def save_permit(
    s: Session, actor: Principal, rec: PermitRecord, *, client: str | None = None
) -> tuple[Permit, str]:
    """Create or update (by number) a permit of an enterprise; returns (permit, outcome)."""
    number = text(rec.number, "number", "许可证编号", max_len=40, required=True)
    assert number is not None
    credit = (rec.enterprise or "").strip()
    if not credit:
        raise RegistryError("须填写持证企业的统一社会信用代码", "enterprise")
    ent = by_credit_code(s, credit)
    if ent is None:
        raise RegistryError(f"持证企业 {credit} 未登记：先登记企业", "enterprise")
    cls = choice(rec.management_class, "management_class", "管理类别", MANAGEMENT_CLASSES)
    if cls is None:
        raise RegistryError("须填写管理类别（重点管理、简化管理或登记管理）", "management_class")
    if rec.valid_from is None:
        raise RegistryError("须填写有效期起始日期", "valid_from")
    if rec.valid_to is not None and rec.valid_to < rec.valid_from:
        raise RegistryError(f"有效期截止 {rec.valid_to} 早于起始 {rec.valid_from}", "valid_to")
    old = permit_by_number(s, number)
    if old is not None and old.enterprise_id != ent.id:
        raise RegistryError(f"许可证 {number} 属于另一家企业", "enterprise")
    before = None if old is None else _permit_snapshot(old, credit)
    row = permits.save_permit(
        s,
        enterprise_id=ent.id,
        number=number,
        management_class=cls,
        valid_from=rec.valid_from,
        valid_to=rec.valid_to,
        note=text(rec.note, "note", "备注", max_len=1000),
    )
    outcome = record_change(
        s,
        actor,
        entity="permit",
        key=number,
        before=before,
        after=_permit_snapshot(row, ent.credit_code or credit),
        client=client,
    )
    return row, outcome


def _permit_snapshot(p: Permit, credit: str) -> dict[str, object]:
    return {**snapshot(p, PERMIT_FIELDS), "enterprise": credit}


def _decimal(value: str | None, field: str, label: str) -> Decimal:
    try:
        d = Decimal((value or "").strip())
    except (InvalidOperation, ValueError):
        raise RegistryError(f"{label} {value!r} 不是数字", field) from None
    if not d.is_finite():
        raise RegistryError(f"{label} {value!r} 不是有限的数", field)
    return d


def check_limit(s: Session, permit: Permit, rec: LimitRecord) -> permits.LimitSpec:
    """One limit row checked with messages naming its field; the spec to store."""
    outlet_code = (rec.outlet or "").strip()
    site = s.scalar(select(Site).where(Site.code == outlet_code)) if outlet_code else None
    if site is None:
        raise RegistryError(f"排放口 {outlet_code or '（空）'} 未登记：先登记点位", "outlet")
    if site.kind != SiteKind.OUTLET.value:
        raise RegistryError(f"点位 {outlet_code} 不是排放口", "outlet")
    if site.enterprise_id != permit.enterprise_id:
        raise RegistryError(f"排放口 {outlet_code} 不属于许可证 {permit.number} 的企业", "outlet")
    pollutant = (rec.pollutant or "").strip()
    if not permits.POLLUTANT_RE.match(pollutant):
        raise RegistryError(
            f"污染物代码 {pollutant!r} 不是 HJ 212-2017 编码（如 a21026、w01018）", "pollutant"
        )
    upper = _decimal(rec.limit, "limit", "限值")
    if upper <= 0:
        raise RegistryError(f"限值 {rec.limit} 应大于 0", "limit")
    lower = None
    if rec.lower is not None and rec.lower.strip():
        if not 0 <= _decimal(rec.lower, "lower", "下限") < upper:
            raise RegistryError(f"下限 {rec.lower} 应在 0 与限值 {rec.limit} 之间", "lower")
        lower = rec.lower.strip()
    unit = text(rec.unit, "unit", "限值单位", max_len=20)
    if unit is None:
        raise RegistryError("许可限值须填写单位（如 mg/m³、mg/L）", "unit")
    basis = (rec.basis or "").strip()
    if not basis:
        raise RegistryError("许可限值须填写均值类型（小时均值或日均值）", "basis")
    if basis not in BASES:
        raise RegistryError(f"均值类型 {basis!r} 不是 {'、'.join(BASES)} 之一", "basis")
    o2 = None
    if rec.o2_ref is not None and rec.o2_ref.strip():
        if not 0 <= _decimal(rec.o2_ref, "o2_ref", "基准含氧量") < 21:
            raise RegistryError(f"基准含氧量 {rec.o2_ref} % 应在 0 与 21 之间", "o2_ref")
        o2 = rec.o2_ref.strip()
    standard = text(rec.standard, "standard", "执行标准", max_len=200)
    if standard is None:
        raise RegistryError("许可限值须注明执行标准（如 GB 13271-2014）", "standard")
    return permits.LimitSpec(
        site_id=site.id,
        pollutant=pollutant,
        limit=(rec.limit or "").strip(),
        unit=unit,
        basis=basis,
        standard=standard,
        source_table=text(rec.source_table, "source_table", "标准条款", max_len=500),
        lower=lower,
        o2_ref=o2,
    )


def _limits_snapshot(s: Session, permit: Permit) -> list[dict[str, object]]:
    rows = s.execute(
        select(PermitLimit, Site.code)
        .join(Site, Site.id == PermitLimit.site_id)
        .where(PermitLimit.permit_id == permit.id)
        .order_by(Site.code, PermitLimit.pollutant, PermitLimit.basis)
    )
    return [
        {
            "outlet": code,
            "pollutant": r.pollutant,
            "limit": r.limit_value,
            "lower": r.lower_value,
            "unit": r.unit,
            "basis": r.basis,
            "o2_ref": r.o2_ref,
            "standard": r.standard,
            "source_table": r.source_table,
        }
        for r, code in rows
    ]


def save_limits(
    s: Session,
    actor: Principal,
    number: str,
    limits: Sequence[LimitRecord],
    *,
    client: str | None = None,
) -> str:
    """Make ``limits`` the whole limit table of permit ``number``; returns the outcome."""
    permit = permit_by_number(s, number)
    if permit is None:
        raise RegistryError(f"许可证 {number} 未登记：先登记许可证", "number")
    specs = [check_limit(s, permit, r) for r in limits]
    keys = [(x.site_id, x.pollutant, x.basis) for x in specs]
    if len(set(keys)) != len(keys):
        raise RegistryError(
            f"许可证 {number} 同一排放口的同一污染物、同一均值类型重复填写", "pollutant"
        )
    before = _limits_snapshot(s, permit)
    if not before and not specs:  # no table before, none now: nothing to record
        return "unchanged"
    permits.replace_limits(s, permit, specs)
    return record_change(
        s,
        actor,
        entity="permit_limits",
        key=permit.number,
        before={"limits": before} if before else None,
        after={"limits": _limits_snapshot(s, permit)},
        client=client,
    )


def check_amount(permit: Permit, a: AmountRecord) -> None:
    """One annual amount checked, its problems naming the field."""
    pollutant = (a.pollutant or "").strip()
    if not permits.POLLUTANT_RE.match(pollutant):
        raise RegistryError(f"污染物代码 {pollutant!r} 不是 HJ 212-2017 编码", "pollutant")
    if not 1949 <= a.year <= 2200:
        raise RegistryError(f"年度 {a.year} 不是有效年份", "year")
    if _decimal(a.amount, "amount", "许可排放量") < 0:
        raise RegistryError(f"许可排放量 {a.amount} 不能为负", "amount")
    if not (a.unit or "").strip():
        raise RegistryError(f"许可证 {permit.number} 的年许可排放量须填写单位（如 t/a）", "unit")


def save_annual_amounts(
    s: Session,
    actor: Principal,
    number: str,
    amounts: Sequence[AmountRecord],
    *,
    client: str | None = None,
) -> str:
    """Make ``amounts`` the permit's whole table of permitted annual amounts."""
    permit = permit_by_number(s, number)
    if permit is None:
        raise RegistryError(f"许可证 {number} 未登记：先登记许可证", "number")
    units = {(a.unit or "").strip() for a in amounts}
    if len(units) > 1:
        raise RegistryError(
            f"许可证 {number} 的年许可排放量单位不一致：{'、'.join(sorted(units))}", "unit"
        )
    unit = units.pop() if units else "t/a"
    if not unit:
        raise RegistryError("年许可排放量须填写单位（如 t/a）", "unit")
    table: dict[tuple[str, int], str] = {}
    for a in amounts:
        check_amount(permit, a)
        if (a.pollutant.strip(), a.year) in table:
            raise RegistryError(f"许可证 {number} 的 {a.pollutant} {a.year} 年重复填写", "year")
        table[(a.pollutant.strip(), a.year)] = a.amount.strip()
    old = {
        f"{x.pollutant}/{x.year}": x.amount
        for x in s.scalars(
            select(PermitAnnualAmount).where(PermitAnnualAmount.permit_id == permit.id)
        )
    }
    if not old and not table:  # no amounts before, none now: nothing to record
        return "unchanged"
    permits.replace_annual_amounts(s, permit, table, unit=unit)
    return record_change(
        s,
        actor,
        entity="permit_annual_amounts",
        key=permit.number,
        before={"amounts": old, "unit": unit} if old else None,
        after={"amounts": {f"{p}/{y}": v for (p, y), v in sorted(table.items())}, "unit": unit},
        client=client,
    )
