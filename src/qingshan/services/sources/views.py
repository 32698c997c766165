"""What the web pages show: the supervision board and the 一企一档 of one enterprise, both
within the principal's scope (an enterprise user: its own enterprise; another one is
:class:`NotFound`, the same answer as an absent one)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qingshan.clock import to_cst, utcnow
from qingshan.roles import Principal
from qingshan.services import permissions, permits
from qingshan.services.errors import NotFound
from qingshan.services.registry.common import decimal_text
from qingshan.services.sources import alarms, annual, shape, stats
from qingshan.storage.models import Enterprise

HINT_KINDS = ("constant", "zeros", "pinned")


def month_to_date(cutoff: datetime | None = None) -> stats.Period:
    """The current month (CST) up to the data cut-off (default now)."""
    now = to_cst(utcnow()) if cutoff is None else cutoff
    first = date(now.year, now.month, 1)
    return stats.period(first, now.date(), now)


def _ranking(rows: list[stats.EnterpriseStats]) -> list[dict[str, Any]]:
    """Enterprises by effective transmission rate, lowest first (not assessed last)."""
    out = [
        {
            "credit_code": e.credit_code,
            "name": e.name,
            "transmission_rate": shape.share(e.counts.transmission_rate),
            "validity_rate": shape.share(e.counts.validity_rate),
            "effective_transmission_rate": shape.share(e.counts.effective_transmission_rate),
            "exceedance_hours": e.exceedance_hours,
            "exceedance_days": e.exceedance_days,
        }
        for e in rows
    ]
    out.sort(
        key=lambda r: (
            r["effective_transmission_rate"] is None,
            r["effective_transmission_rate"] or 0,
            r["name"],
        )
    )
    return out


def board(s: Session, p: Principal, cutoff: datetime | None = None) -> dict[str, Any]:
    """超标 now, 离线 now, 线索 (hints), and the month-to-date validity ranking."""
    period = month_to_date(cutoff)
    rows = stats.source_stats(s, p, period)
    open_rows = alarms.episodes_json(s, alarms.list_episodes(s, p, open_only=True))
    return {
        "from": period.start.date().isoformat(),
        "cutoff": period.cutoff.isoformat(timespec="minutes") + "+08:00",
        "exceeding": [e for e in open_rows if e["kind"] == "exceedance" and e["end"] is None],
        "offline": [e for e in open_rows if e["kind"] == "offline" and e["end"] is None],
        "suspicious": [e for e in open_rows if e["kind"] in HINT_KINDS],
        "to_confirm": [e for e in open_rows if e["status"] == "cleared"],
        "ranking": _ranking(rows),
    }


def dossier(
    s: Session, p: Principal, credit_code: str, cutoff: datetime | None = None
) -> dict[str, Any]:
    """一企一档: registry data, outlets, permits with limits and annual amounts, the month's
    statistics and every episode of the enterprise."""
    ent = s.scalar(
        select(Enterprise).where(
            Enterprise.credit_code == credit_code, permissions.enterprise_scope(p)
        )
    )
    if ent is None:
        raise NotFound(f"企业 {credit_code} 不存在")
    period = month_to_date(cutoff)
    found = stats.source_stats(s, p, period, enterprise_id=ent.id)
    mtd = found[0] if found else None  # an enterprise without outlets has no statistics
    episodes = alarms.episodes_json(s, alarms.list_episodes(s, p, enterprise_id=ent.id))
    permit_rows = [
        {
            "number": x.number,
            "management_class": x.management_class,
            "valid_from": x.valid_from.isoformat(),
            "valid_to": None if x.valid_to is None else x.valid_to.isoformat(),
            "limits": [
                {
                    "site_id": lim.site_id,
                    "pollutant": lim.pollutant,
                    "limit": str(lim.upper),
                    "lower": None if lim.lower is None else str(lim.lower),
                    "unit": lim.unit,
                    "basis": lim.basis.value,
                    "o2_ref": None if lim.o2_ref is None else str(lim.o2_ref),
                    "standard": lim.standard,
                }
                for lim in x.limits
            ],
            "annual_amounts": [
                {"pollutant": k[0], "year": k[1], "amount": str(v[0]), "unit": v[1]}
                for k, v in sorted(x.annual_amounts.items())
            ],
        }
        for x in permits.permits_of(s, ent.id)
    ]
    month = {} if mtd is None else mtd.emissions
    year = period.cutoff.year
    use = [
        {
            **annual.shape_use(u),
            "month_t": annual.num(month[u.pollutant].kg / annual.KG_PER_T, 3)
            if u.pollutant in month
            else None,
        }
        for u in annual.uses(s, p, year, cutoff=period.cutoff, enterprise_id=ent.id)
    ]
    return {
        "emissions": {"year": year, "pollutants": use},
        "enterprise": {
            "credit_code": ent.credit_code,
            "name": ent.name,
            "region": ent.region_code,
            "industry": ent.industry,
            "industry_code": ent.industry_code,
            "control_level": ent.control_level,
            "permit_class": ent.permit_class,
            "key_discharger": bool(ent.key_discharger),
            "address": ent.address,
            "legal_representative": ent.legal_representative,
            "env_contact": ent.env_contact,
            "phone": ent.contact_phone,
            "lon": None if ent.longitude is None else decimal_text(ent.longitude),
            "lat": None if ent.latitude is None else decimal_text(ent.latitude),
        },
        "from": period.start.date().isoformat(),
        "cutoff": period.cutoff.isoformat(timespec="minutes") + "+08:00",
        "stats": None if mtd is None else shape.enterprise_json(mtd),
        "permits": permit_rows,
        "episodes": episodes,
    }


# worst first: 超标 over 离线 over 正常. 正常 is blue, never a green that reads as AQI 优 on
# the map (the outlets' colours, web.labels.OUTLET_COLOURS).
MAP_STATUS = {
    "exceeding": ("超标", "#E60012"),
    "offline": ("离线", "#999999"),
    "normal": ("正常", "#1E88E5"),
}


def enterprise_points(s: Session, p: Principal) -> list[dict[str, Any]]:
    """The enterprises within scope that have coordinates, each with its status on the
    supervision board now: ``exceeding`` when an outlet has an exceedance episode that still
    holds, else ``offline`` when one is offline now, else ``normal`` (WGS-84)."""
    now: dict[int, set[str]] = {}
    for row in alarms.list_episodes(s, p, open_only=True, kinds=["exceedance", "offline"]):
        if row.ended_at is None:
            now.setdefault(row.enterprise_id, set()).add(row.kind)
    out = []
    q = select(Enterprise).where(
        permissions.enterprise_scope(p),
        Enterprise.longitude.is_not(None),
        Enterprise.latitude.is_not(None),
    )
    for e in s.scalars(q.order_by(Enterprise.name)):
        lon, lat = e.longitude, e.latitude
        if lon is None or lat is None:
            continue
        kinds = now.get(e.id, set())
        status = "exceeding" if "exceedance" in kinds else "offline" if kinds else "normal"
        label, colour = MAP_STATUS[status]
        out.append(
            {
                "credit_code": e.credit_code,
                "name": e.name,
                "lon": float(lon),
                "lat": float(lat),
                "status": status,
                "status_label": label,
                "colour": colour,
            }
        )
    return out
