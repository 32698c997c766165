"""Emissions against the permitted annual amounts (年许可排放量) with the projected year-end use.

For a year and a data cut-off: each enterprise's emissions so far (``stats.source_stats`` over
1 January … the cut-off, kg → t), the amounts its permits allow for that year (summed over its
permits' ``permit_annual_amount`` rows of the year, in t/a), the share used, and the projected
year-end amount by linear extrapolation over the hours elapsed
(:func:`qingshan.standards.supervision.projected_year_end`). Emissions with missing hours are
lower bounds, so the share and the projection are too; they are reported with the count.
"""

from __future__ import annotations

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


def _num(x: Fraction | None, places: int) -> str | None:
    return None if x is None else str(round_half_even(x, places))


def annual_use(
    s: Session,
    principal: Principal,
    year: int,
    *,
    cutoff: datetime | None = None,
    region: str | None = None,
) -> list[dict[str, Any]]:
    """Per enterprise and pollutant: ``emitted_t`` so far, ``permitted_t``, ``share`` used,
    ``projected_t`` and ``projected_share`` at year end, ``missing_hours`` (t to 3 decimals,
    shares to 4)."""
    now = to_cst(utcnow()) if cutoff is None else cutoff
    if year > now.year:
        raise stats.StatsError(f"{year} 年尚未开始（数据截止 {now:%Y-%m-%d %H:%M}）")
    last = date(year, 12, 31) if year < now.year else now.date()
    period = stats.period(date(year, 1, 1), last, now)
    elapsed = len(sv.expected_periods(period.start, period.end, period.cutoff))
    year_hours = (date(year + 1, 1, 1) - date(year, 1, 1)).days * 24
    rows = stats.source_stats(s, principal, period, region=region)
    permitted = _permitted(s, [e.enterprise_id for e in rows], year)
    out = []
    for e in rows:
        allowed = permitted.get(e.enterprise_id, {})
        pollutants = []
        for code in sorted(set(e.emissions) | set(allowed)):
            em = e.emissions.get(code, stats.Emission())
            tonnes = em.kg / KG_PER_T
            limit = allowed.get(code)
            projected = sv.projected_year_end(tonnes, elapsed, year_hours) if elapsed else None
            pollutants.append(
                {
                    "pollutant": code,
                    "emitted_t": _num(tonnes, 3),
                    "missing_hours": em.missing_hours,
                    "permitted_t": _num(limit, 3),
                    "share": _num(tonnes / limit, 4) if limit else None,
                    "projected_t": _num(projected, 3),
                    "projected_share": _num(projected / limit, 4)
                    if limit and projected is not None
                    else None,
                    "over": bool(limit and projected is not None and projected > limit),
                }
            )
        out.append({"credit_code": e.credit_code, "name": e.name, "pollutants": pollutants})
    return out
