"""The one JSON shape of the supervision statistics (command line and API alike).

Rates are shares 0–1, rounded once (GB/T 8170 half-even) to 4 decimals from the exact fraction,
``null`` when nothing was due (不考核); amounts are kg as decimal text to 3 decimals.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from qingshan.services.sources.stats import Emission, EnterpriseStats, EpisodeInfo, OutletStats
from qingshan.standards.rounding import round_half_even
from qingshan.standards.supervision import RateCounts


def share(x: Fraction | None) -> float | None:
    """An exact share as a JSON number with 4 decimals (rounded once)."""
    return None if x is None else float(round_half_even(x, 4))


def _rates(c: RateCounts) -> dict[str, Any]:
    return {
        "transmission_rate": share(c.transmission_rate),
        "validity_rate": share(c.validity_rate),
        "effective_transmission_rate": share(c.effective_transmission_rate),
        "expected": c.expected,
        "received": c.received,
        "valid": c.valid,
        "stopped": c.by_flag.get("F", 0),
    }


def _emissions(e: dict[str, Emission]) -> dict[str, Any]:
    return {
        k: {"kg": str(round_half_even(v.kg, 3)), "hours": v.hours, "missing_hours": v.missing_hours}
        for k, v in e.items()
    }


def episode_json(e: EpisodeInfo) -> dict[str, Any]:
    return {
        "pollutant": e.pollutant,
        "basis": e.basis,
        "start": e.start.isoformat() + "+08:00",
        "end": e.end.isoformat() + "+08:00",
        "duration_hours": e.duration_hours,
        "peak": str(round_half_even(e.peak, 3)),
        "peak_at": e.peak_at.isoformat() + "+08:00",
        "limit": str(e.limit),
        "unit": e.unit,
        "multiple": str(round_half_even((e.peak - Fraction(e.limit)) / Fraction(e.limit), 2)),
    }


def outlet_json(o: OutletStats) -> dict[str, Any]:
    return {
        "code": o.code,
        "name": o.name,
        "medium": o.medium,
        "mns": list(o.mns),
        "pollutants": list(o.pollutants),
        **_rates(o.counts),
        "exceedance_hours": o.exceedance_hours if o.medium == "gas" else None,
        "exceedance_days": o.exceedance_days if o.medium == "water" else None,
        "emissions": _emissions(o.emissions),
        "episodes": [episode_json(e) for e in o.episodes],
    }


def enterprise_json(e: EnterpriseStats) -> dict[str, Any]:
    return {
        "credit_code": e.credit_code,
        "name": e.name,
        "region": e.region_code,
        **_rates(e.counts),
        "exceedance_hours": e.exceedance_hours,
        "exceedance_days": e.exceedance_days,
        "emissions": _emissions(e.emissions),
        "outlets": [outlet_json(o) for o in e.outlets],
    }
