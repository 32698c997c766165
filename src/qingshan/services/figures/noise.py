"""Noise figures (GB 3096-2008): each day's Ld and Ln from the stored hourly LAeq, and a region's
month of them.

* Day D: Ld from the hours 06:00–22:00 of D, Ln from its night 22:00 D → 06:00 D+1 (one
  continuous night; stored hours are labelled by their start,
  :func:`qingshan.standards.noise.hour_period`); energy means 10·lg(mean 10^(0.1·L)) rounded
  once to 0.1 dB (:func:`qingshan.standards.noise.energy_mean`); completeness counts in
  ``services/data/figures.toml``; judged with :func:`qingshan.standards.noise.assess_point`.
* A month of a region: 昼间/夜间达标率 by point-days
  (:func:`qingshan.standards.noise.compliance_rates`) and per station its compliant days and the
  energy means of its daily Ld and Ln.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from qingshan.clock import HOUR_LABEL
from qingshan.services.figures._common import SiteInfo, config, dumps, percent
from qingshan.services.figures.water import decimal_of
from qingshan.services.rollups import default_rules
from qingshan.standards import noise
from qingshan.standards.versions import AUTO, resolve
from qingshan.storage.models import Observation, Resolution, SiteKind
from qingshan.storage.models_figures import NoiseDayFigure

__all__ = ["NoiseMonth", "NoiseStationMonth", "noise_month", "noise_rows"]


def noise_rows(
    conn: Connection, site: SiteInfo, first: date, last: date, *, now: datetime
) -> list[dict[str, Any]]:
    """fig_noise_day rows of the days ``first`` … ``last``: the day of D is 06:00–22:00 D, its
    night 22:00 D → 06:00 D+1 (so the hours up to 06:00 of ``last`` + 1 are read)."""
    if not site.devices or site.noise_zone is None:
        return []
    cfg = config()["noise"]
    valid = default_rules().valid_flags
    o = Observation.__table__.c
    lo = datetime.combine(first, datetime.min.time())
    hi = datetime.combine(last + timedelta(days=1), datetime.min.time()) + timedelta(hours=6)
    q = select(o.data_time, o.value, o.flag).where(
        o.resolution == int(Resolution.HOUR),
        o.device_id.in_(list(site.devices)),
        o.data_time >= lo,
        o.data_time < hi,
        o.code.in_(cfg["codes"]),
    )
    by_day: dict[date, tuple[list[Decimal], list[Decimal]]] = {}
    refused = 0
    for t, value, flag in conn.execute(q):
        if value is None or (flag or "N") not in valid:
            continue
        number = decimal_of(value)
        if number is None:
            refused += 1
            continue
        # Stored hours are labelled by their start (qingshan.clock.HOUR_LABEL).
        d, period = noise.hour_period(t, hour_label="start" if HOUR_LABEL == "start" else "end")
        if not first <= d <= last:
            continue  # the night of first − 1 (its 00–06 hours); not asked for
        dayv, nightv = by_day.setdefault(d, ([], []))
        (dayv if period is noise.Period.DAY else nightv).append(number)
    rows: list[dict[str, Any]] = []
    for d in sorted(by_day):
        dv, nv = by_day[d]
        ld = noise.energy_mean(dv) if len(dv) >= cfg["day_min_hours"] else None
        ln = noise.energy_mean(nv) if len(nv) >= cfg["night_min_hours"] else None
        a = noise.assess_point(site.noise_zone, ld, ln)
        rows.append(
            {
                "site_id": site.id,
                "day": d,
                "zone": site.noise_zone,
                "ld": None if ld is None else float(ld),
                "ln": None if ln is None else float(ln),
                "day_ok": a.day_complies,
                "night_ok": a.night_complies,
                "provenance": dumps(
                    {
                        "day_hours": len(dv),
                        "night_hours": len(nv),
                        "need": [cfg["day_min_hours"], cfg["night_min_hours"]],
                        "night": f"{d} 22:00 – {d + timedelta(days=1)} 06:00",
                        "rules": {"GB3096": resolve("GB3096", "auto", d).id},
                        "limits": [float(a.day_limit), float(a.night_limit)],
                        "refused_values": refused,
                    }
                ),
                "computed_at": now,
            }
        )
    return rows


@dataclass(frozen=True, slots=True)
class NoiseStationMonth:
    """One noise station over a month."""

    code: str
    name: str
    zone: str | None  # GB 3096 functional zone
    days: int  # days with a stored figure
    ld_mean: float | None  # dB(A), energy mean of the daily Ld, 0.1
    ln_mean: float | None
    day_ok_days: int
    night_ok_days: int


@dataclass(frozen=True, slots=True)
class NoiseMonth:
    """A region's noise figures of one month."""

    day_rate: float | None  # 昼间达标率 by point-days, %
    night_rate: float | None  # 夜间达标率, %
    point_days: int  # point-days with a day value
    stations: list[NoiseStationMonth] = field(default_factory=list)
    rules: dict[str, str] = field(default_factory=dict)  # {"GB3096": "GB3096-2008"}


def noise_month(
    session: Session, stations: Sequence[SiteInfo], first: date, last: date
) -> NoiseMonth:
    """The stored noise day figures of ``stations`` in [first, last], summarised."""
    ids = [x.id for x in stations if x.kind == SiteKind.NOISE]
    n = NoiseDayFigure.__table__.c
    rows = list(
        session.scalars(
            select(NoiseDayFigure).where(n.day >= first, n.day <= last, n.site_id.in_(ids))
        )
    )
    cr = noise.compliance_rates((r.zone, r.ld, r.ln) for r in rows)
    out: list[NoiseStationMonth] = []
    for x in stations:
        if x.kind != SiteKind.NOISE:
            continue
        mine = [r for r in rows if r.site_id == x.id]
        ld = [r.ld for r in mine if r.ld is not None]
        ln = [r.ln for r in mine if r.ln is not None]
        out.append(
            NoiseStationMonth(
                code=x.code,
                name=x.name,
                zone=x.noise_zone,
                days=len(mine),
                ld_mean=float(noise.energy_mean(ld)) if ld else None,
                ln_mean=float(noise.energy_mean(ln)) if ln else None,
                day_ok_days=sum(1 for r in mine if r.day_ok),
                night_ok_days=sum(1 for r in mine if r.night_ok),
            )
        )
    return NoiseMonth(
        day_rate=percent(cr.day_rate),
        night_rate=percent(cr.night_rate),
        point_days=cr.n_day,
        stations=out,
        rules={"GB3096": resolve("GB3096", AUTO, first).id},
    )
