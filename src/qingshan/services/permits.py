"""Discharge permits (排污许可证) and their limits: write and read, and the exact limit check.

Written by the demo loader now (and by the registry's import later); read by the cockpit's
outlet state. A permit belongs to an enterprise; each limit names the outlet (an
``enterprise_outlet`` site of that enterprise), the HJ 212-2017 pollutant code, the
concentration limit as exact decimal text, its unit, the averaging basis (小时均值 / 日均值),
the reference O₂ where the standard converts (折算) and the standard and table it comes from.

Comparisons are exact (:class:`decimal.Decimal` values, no binary floating point, issue 10):
a value exactly at the limit complies, a hair above it exceeds. With a reference O₂ the
converted concentration ``C × (21 − O₂ref) / (21 − O₂)`` is compared without dividing, in
rational arithmetic: ``C × (21 − O₂ref) > S × (21 − O₂)`` (21 − O₂ > 0).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from fractions import Fraction

from sqlalchemy import ColumnElement, and_, delete, or_, select
from sqlalchemy.orm import Session

from qingshan.storage.models import Device, Site, SiteKind
from qingshan.storage.models_registry import (
    MANAGEMENT_CLASSES,
    Permit,
    PermitAnnualAmount,
    PermitLimit,
)

POLLUTANT_RE = re.compile(r"^[aw]\d{5}$")  # HJ 212-2017 gas (a…) and water (w…) codes
O2_FULL = Decimal(21)  # % O₂ of air: the conversion's fixed point


class PermitError(ValueError):
    """A permit or limit that cannot be recorded as given."""


class Basis(StrEnum):
    """The averaging period a limit applies to (the value compared with it)."""

    HOUR = "小时均值"
    DAY = "日均值"


def exact(text: str | Decimal | int, what: str) -> Decimal:
    """The finite decimal ``text`` (never through a float); :class:`PermitError` otherwise."""
    if isinstance(text, float):  # a float has already lost the written digits
        raise PermitError(f"{what}: give decimal text, not the float {text!r}")
    try:
        d = Decimal(text) if not isinstance(text, Decimal) else text
    except (InvalidOperation, ValueError):
        raise PermitError(f"{what}: {text!r} is not a decimal number") from None
    if not d.is_finite():
        raise PermitError(f"{what}: {text!r} is not a finite number")
    return d


def measured(text: str | None) -> Decimal | None:
    """A stored observation value as an exact decimal; None when absent or not a finite number
    (such a value is never compared with a limit)."""
    if text is None:
        return None
    try:
        d = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


# --------------------------------------------------------------------------- the rule


@dataclass(frozen=True, slots=True)
class Limit:
    """One permitted concentration limit, as the read path returns it."""

    permit_number: str
    site_id: int
    pollutant: str
    upper: Decimal
    lower: Decimal | None
    unit: str
    basis: Basis
    o2_ref: Decimal | None
    standard: str
    source_table: str | None

    def exceeded_by(
        self,
        value: Decimal,
        *,
        converted: Decimal | None = None,
        o2: Decimal | None = None,
    ) -> bool:
        """Whether ``value`` (an average over :attr:`basis`) breaks this limit.

        With a reference O₂: the device's converted value (``ZsAvg``) when it sent one, else
        the measured ``value`` converted with the measured ``o2`` (0 ≤ O₂ < 21), else the
        measured value as it is (a device that reports neither is judged on what it sent).
        Without a reference O₂ the measured value is compared. Equal to a limit complies.
        """
        if self.lower is not None and value < self.lower:
            return True
        if self.o2_ref is None:
            return value > self.upper
        if converted is not None:
            return converted > self.upper
        if o2 is not None and Decimal(0) <= o2 < O2_FULL:
            # rationals: exact for any number of digits (Decimal arithmetic rounds at 28)
            full = Fraction(O2_FULL)
            left = Fraction(value) * (full - Fraction(self.o2_ref))
            return left > Fraction(self.upper) * (full - Fraction(o2))
        return value > self.upper


# --------------------------------------------------------------------------- write


@dataclass(frozen=True, slots=True)
class LimitSpec:
    """A limit to record (decimal numbers as text, so nothing passes through a float)."""

    site_id: int
    pollutant: str
    limit: str
    unit: str
    basis: Basis | str
    standard: str
    source_table: str | None = None
    lower: str | None = None
    o2_ref: str | None = None


def save_permit(
    s: Session,
    *,
    enterprise_id: int,
    number: str,
    management_class: str,
    valid_from: date,
    valid_to: date | None,
    note: str | None = None,
) -> Permit:
    """Create or update (by number) a permit of ``enterprise_id``."""
    number = number.strip()
    if not number or len(number) > 40:
        raise PermitError(f"permit number {number!r} must be 1–40 characters")
    if management_class not in MANAGEMENT_CLASSES:
        raise PermitError(
            f"management class {management_class!r} is not one of {', '.join(MANAGEMENT_CLASSES)}"
        )
    if valid_to is not None and valid_to < valid_from:
        raise PermitError(f"permit {number}: valid_to {valid_to} is before valid_from {valid_from}")
    row = s.scalar(select(Permit).where(Permit.number == number))
    if row is None:
        row = Permit(number=number)
        s.add(row)
    elif row.enterprise_id != enterprise_id:
        raise PermitError(f"permit {number} belongs to another enterprise")
    row.enterprise_id, row.management_class = enterprise_id, management_class
    row.valid_from, row.valid_to, row.note = valid_from, valid_to, note
    s.flush()
    return row


def _checked(s: Session, permit: Permit, spec: LimitSpec) -> PermitLimit:
    where = f"permit {permit.number} limit {spec.pollutant}"
    site = s.get(Site, spec.site_id)
    if site is None or site.kind != SiteKind.OUTLET.value:
        raise PermitError(f"{where}: site {spec.site_id} is not an enterprise outlet")
    if site.enterprise_id != permit.enterprise_id:
        raise PermitError(f"{where}: outlet {site.code} belongs to another enterprise")
    if not POLLUTANT_RE.match(spec.pollutant):
        raise PermitError(f"{where}: not an HJ 212-2017 pollutant code")
    upper = exact(spec.limit, where)
    if upper <= 0:
        raise PermitError(f"{where}: the limit must be positive, got {spec.limit}")
    if spec.lower is not None and not 0 <= exact(spec.lower, where) < upper:
        raise PermitError(f"{where}: the lower limit {spec.lower} must be in [0, {spec.limit})")
    if spec.o2_ref is not None and not 0 <= exact(spec.o2_ref, where) < O2_FULL:
        raise PermitError(f"{where}: reference O₂ {spec.o2_ref} % must be within 0 ≤ O₂ < 21")
    try:
        basis = Basis(spec.basis)
    except ValueError:
        bases = ", ".join(b.value for b in Basis)
        raise PermitError(
            f"{where}: averaging basis {spec.basis!r} is not one of {bases}"
        ) from None
    if not spec.unit or not spec.standard:
        raise PermitError(f"{where}: unit and standard are required")
    return PermitLimit(
        permit_id=permit.id,
        site_id=spec.site_id,
        pollutant=spec.pollutant,
        limit_value=spec.limit,
        lower_value=spec.lower,
        unit=spec.unit,
        basis=basis.value,
        o2_ref=spec.o2_ref,
        standard=spec.standard,
        source_table=spec.source_table,
    )


def replace_limits(s: Session, permit: Permit, limits: Iterable[LimitSpec]) -> int:
    """Make ``limits`` the permit's whole limit table (a re-issued permit replaces its
    table); returns the number of limits recorded."""
    rows = [_checked(s, permit, x) for x in limits]
    keys = [(r.site_id, r.pollutant, r.basis) for r in rows]
    if len(set(keys)) != len(keys):
        raise PermitError(f"permit {permit.number}: a pollutant is limited twice at one outlet")
    s.execute(delete(PermitLimit).where(PermitLimit.permit_id == permit.id))
    s.add_all(rows)
    s.flush()
    return len(rows)


def replace_annual_amounts(
    s: Session, permit: Permit, amounts: Mapping[tuple[str, int], str], unit: str = "t/a"
) -> int:
    """Make ``amounts`` ((pollutant, year) → decimal text) the permit's permitted annual
    amounts (年许可排放量)."""
    rows = []
    for (pollutant, year), text in amounts.items():
        where = f"permit {permit.number} annual amount {pollutant} {year}"
        if not POLLUTANT_RE.match(pollutant):
            raise PermitError(f"{where}: not an HJ 212-2017 pollutant code")
        if exact(text, where) < 0:
            raise PermitError(f"{where}: the amount must not be negative")
        rows.append(
            PermitAnnualAmount(
                permit_id=permit.id, pollutant=pollutant, year=year, amount=text, unit=unit
            )
        )
    s.execute(delete(PermitAnnualAmount).where(PermitAnnualAmount.permit_id == permit.id))
    s.add_all(rows)
    s.flush()
    return len(rows)


# --------------------------------------------------------------------------- read


def _in_force(on: date) -> ColumnElement[bool]:
    return and_(Permit.valid_from <= on, or_(Permit.valid_to.is_(None), Permit.valid_to >= on))


def _limit(number: str, r: PermitLimit) -> Limit:
    return Limit(
        permit_number=number,
        site_id=r.site_id,
        pollutant=r.pollutant,
        upper=Decimal(r.limit_value),
        lower=None if r.lower_value is None else Decimal(r.lower_value),
        unit=r.unit,
        basis=Basis(r.basis),
        o2_ref=None if r.o2_ref is None else Decimal(r.o2_ref),
        standard=r.standard,
        source_table=r.source_table,
    )


def limits_by_site(s: Session, on: date) -> dict[int, tuple[Limit, ...]]:
    """Outlet site id → the limits of the permits in force on ``on``."""
    out: dict[int, list[Limit]] = {}
    q = (
        select(Permit.number, PermitLimit)
        .join(Permit, Permit.id == PermitLimit.permit_id)
        .where(_in_force(on))
        .order_by(PermitLimit.site_id, PermitLimit.pollutant, PermitLimit.basis)
    )
    for number, row in s.execute(q):
        out.setdefault(row.site_id, []).append(_limit(number, row))
    return {k: tuple(v) for k, v in out.items()}


def limits_by_mn(s: Session, on: date) -> dict[str, tuple[Limit, ...]]:
    """MN → the limits of the outlet its (active) device measures, permits in force on ``on``."""
    by_site = limits_by_site(s, on)
    if not by_site:
        return {}
    q = select(Device.mn, Device.site_id).where(
        Device.active.is_(True), Device.site_id.in_(list(by_site))
    )
    return {mn: by_site[sid] for mn, sid in s.execute(q) if sid is not None}


@dataclass(frozen=True, slots=True)
class PermitInfo:
    number: str
    enterprise_id: int
    management_class: str
    valid_from: date
    valid_to: date | None
    note: str | None
    limits: tuple[Limit, ...]
    annual_amounts: Mapping[tuple[str, int], tuple[Decimal, str]]


def permits_of(s: Session, enterprise_id: int) -> list[PermitInfo]:
    """The permits of an enterprise (newest first), each with its limits and annual amounts."""
    out = []
    for p in s.scalars(
        select(Permit)
        .where(Permit.enterprise_id == enterprise_id)
        .order_by(Permit.valid_from.desc(), Permit.number)
    ):
        limits = s.scalars(
            select(PermitLimit)
            .where(PermitLimit.permit_id == p.id)
            .order_by(PermitLimit.site_id, PermitLimit.pollutant, PermitLimit.basis)
        )
        amounts = s.scalars(select(PermitAnnualAmount).where(PermitAnnualAmount.permit_id == p.id))
        out.append(
            PermitInfo(
                number=p.number,
                enterprise_id=p.enterprise_id,
                management_class=p.management_class,
                valid_from=p.valid_from,
                valid_to=p.valid_to,
                note=p.note,
                limits=tuple(_limit(p.number, r) for r in limits),
                annual_amounts={
                    (a.pollutant, a.year): (Decimal(a.amount), a.unit) for a in amounts
                },
            )
        )
    return out
