"""Emissions against the permitted annual amounts (年许可排放量) with the projected year-end use.

For a year and a data cut-off: each enterprise's emissions so far (``stats.source_stats`` over
1 January … the cut-off, kg → t), the amounts its permits allow for that year (summed over its
permits' ``permit_annual_amount`` rows of the year, in t/a), the share used, and the projected
year-end amount by linear extrapolation over the hours elapsed
(:func:`qingshan.standards.supervision.projected_year_end`). Emissions with missing hours are
lower bounds, so the share and the projection are too; they are reported with the count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qingshan.clock import to_cst, utcnow
from qingshan.roles import Principal
from qingshan.services.sources import stats
from qingshan.standards import supervision as sv
from qingshan.standards.rounding import round_half_even
from qingshan.storage.models import Region
from qingshan.storage.models_registry import Permit, PermitAnnualAmount

KG_PER_T = 1000


def _permitted(s: Session, enterprise_ids: list[int], year: int) -> dict[int, dict[str, Fraction]]:
    out: dict[int, dict[str, Fraction]] = {}
    q = (
        select(Permit.enterprise_id, PermitAnnualAmount.pollutant, PermitAnnualAmount.amount)
        .join(Permit, Permit.id == PermitAnnualAmount.permit_id)
        .where(PermitAnnualAmount.year == year, Permit.enterprise_id.in_(enterprise_ids))
    )
    for ent, pollutant, amount in s.execute(q):
        per = out.setdefault(ent, {})
        per[pollutant] = per.get(pollutant, Fraction(0)) + Fraction(amount)
    return out


def num(x: Fraction | None, places: int) -> str | None:
    return None if x is None else str(round_half_even(x, places))


@dataclass(frozen=True, slots=True)
class Use:
    """One enterprise's use of one pollutant's permitted amount (exact, t)."""

    credit_code: str | None
    name: str
    region: str | None
    pollutant: str
    emitted: Fraction
    missing_hours: int
    permitted: Fraction | None
    projected: Fraction | None


def uses(
    s: Session,
    principal: Principal,
    year: int,
    *,
    cutoff: datetime | None = None,
    region: str | None = None,
    enterprise_id: int | None = None,
) -> list[Use]:
    """Per enterprise (by name) and pollutant, exact: emitted so far, permitted, projected."""
    now = to_cst(utcnow()) if cutoff is None else cutoff
    if year > now.year:
        raise stats.StatsError(f"{year} 年尚未开始（数据截止 {now:%Y-%m-%d %H:%M}）")
    last = date(year, 12, 31) if year < now.year else now.date()
    period = stats.period(date(year, 1, 1), last, now)
    elapsed = len(sv.expected_periods(period.start, period.end, period.cutoff))
    year_hours = (date(year + 1, 1, 1) - date(year, 1, 1)).days * 24
    rows = stats.source_stats(s, principal, period, region=region, enterprise_id=enterprise_id)
    permitted = _permitted(s, [e.enterprise_id for e in rows], year)
    out = []
    for e in rows:
        allowed = permitted.get(e.enterprise_id, {})
        for code in sorted(set(e.emissions) | set(allowed)):
            em = e.emissions.get(code, stats.Emission())
            tonnes = em.kg / KG_PER_T
            projected = sv.projected_year_end(tonnes, elapsed, year_hours) if elapsed else None
            out.append(
                Use(
                    e.credit_code,
                    e.name,
                    e.region_code,
                    code,
                    tonnes,
                    em.missing_hours,
                    allowed.get(code),
                    projected,
                )
            )
    return out


def shape_use(u: Use) -> dict[str, Any]:
    code, emitted, limit, projected = u.pollutant, u.emitted, u.permitted, u.projected
    return {
        "pollutant": code,
        "emitted_t": num(emitted, 3),
        "missing_hours": u.missing_hours,
        "permitted_t": num(limit, 3),
        "share": num(emitted / limit, 4) if limit else None,
        "projected_t": num(projected, 3),
        "projected_share": num(projected / limit, 4) if limit and projected is not None else None,
        "over": bool(limit and projected is not None and projected > limit),
    }


def annual_use(
    s: Session,
    principal: Principal,
    year: int,
    *,
    cutoff: datetime | None = None,
    region: str | None = None,
    enterprise_id: int | None = None,
) -> list[dict[str, Any]]:
    """Per enterprise and pollutant: ``emitted_t`` so far, ``permitted_t``, ``share`` used,
    ``projected_t`` and ``projected_share`` at year end, ``missing_hours`` (t to 3 decimals,
    shares to 4)."""
    out: dict[tuple[str | None, str], dict[str, Any]] = {}
    for u in uses(s, principal, year, cutoff=cutoff, region=region, enterprise_id=enterprise_id):
        ent = out.setdefault(
            (u.credit_code, u.name),
            {"credit_code": u.credit_code, "name": u.name, "region": u.region, "pollutants": []},
        )
        ent["pollutants"].append(shape_use(u))
    return list(out.values())


def region_use(
    s: Session,
    principal: Principal,
    year: int,
    *,
    cutoff: datetime | None = None,
    region: str | None = None,
) -> list[dict[str, Any]]:
    """Per region (the enterprises' own region codes) and pollutant, the sums over its
    enterprises: emitted, permitted (only enterprises with a permitted amount of the pollutant
    count towards it and towards the share) and projected; ``enterprises`` and ``over`` (how
    many are projected above their permitted amount)."""
    names = {code: name for code, name in s.execute(select(Region.code, Region.name))}
    acc: dict[tuple[str, str], dict[str, Any]] = {}
    for u in uses(s, principal, year, cutoff=cutoff, region=region):
        key = (u.region or "", u.pollutant)
        a = acc.setdefault(
            key,
            {"emitted": Fraction(0), "covered": Fraction(0), "permitted": Fraction(0),
             "projected": Fraction(0), "missing": 0, "n": 0, "over": 0, "has_limit": False},
        )  # fmt: skip
        a["emitted"] += u.emitted
        a["missing"] += u.missing_hours
        a["n"] += 1
        if u.projected is not None:
            a["projected"] += u.projected
        if u.permitted is not None:
            a["has_limit"] = True
            a["permitted"] += u.permitted
            a["covered"] += u.emitted
            if u.projected is not None and u.projected > u.permitted:
                a["over"] += 1
    out = []
    for (code, pollutant), a in sorted(acc.items()):
        limit = a["permitted"] if a["has_limit"] else None
        out.append(
            {
                "region": code or None,
                "region_name": names.get(code),
                "pollutant": pollutant,
                "enterprises": a["n"],
                "emitted_t": num(a["emitted"], 3),
                "missing_hours": a["missing"],
                "permitted_t": num(limit, 3),
                "share": num(a["covered"] / limit, 4) if limit else None,
                "projected_t": num(a["projected"], 3),
                "over": a["over"],
            }
        )
    return out
