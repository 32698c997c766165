"""Water and noise figures from stored observations, by the standards engine.

* Surface-water sections: each sample (one sampling time of HOUR-resolution records) is
  classed with :func:`qingshan.standards.water.classify_sample`; the month with
  :func:`~qingshan.standards.water.section_assessment` (monthly mean of each item, then the
  class, exceedance multiples over Class Ⅲ and over the target, main pollutants), GB 3838-2002
  and the 2011 evaluation method.
* Drinking-water sources: :func:`qingshan.standards.drinking_water.surface_source_compliance`
  (``mode="mean"``) or :func:`~qingshan.standards.drinking_water.groundwater_source_compliance`
  (``mode="every"``) per month; classes of groundwater sources and points with
  :func:`qingshan.standards.groundwater.classify` on the month's mean values.
* Noise: Ld and Ln of each day as energy means 10·lg(mean 10^(0.1·L)) of the hourly LAeq of the
  day and night hours (validity counts in ``services/data/figures.toml``), judged with
  :func:`qingshan.standards.noise.assess_point`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from qingshan.services.figures._common import SiteInfo, config, dumps
from qingshan.services.rollups import default_rules
from qingshan.standards import drinking_water, groundwater, noise, water
from qingshan.standards.versions import resolve
from qingshan.storage.models import Observation, Resolution, SiteKind

ROMAN = {1: "Ⅰ", 2: "Ⅱ", 3: "Ⅲ", 4: "Ⅳ", 5: "Ⅴ", 6: "劣Ⅴ"}
FROM_ROMAN = {"Ⅰ": 1, "Ⅱ": 2, "Ⅲ": 3, "Ⅳ": 4, "Ⅴ": 5, "I": 1, "II": 2, "III": 3, "IV": 4, "V": 5}


def _is_groundwater(s: SiteInfo) -> bool:
    return s.kind == SiteKind.GROUNDWATER or (
        s.kind == SiteKind.DRINKING_WATER and (s.source_type or "") in ("groundwater", "地下水")
    )


def code_map(s: SiteInfo) -> dict[str, str]:
    return dict(config()["groundwater" if _is_groundwater(s) else "water"])


def load_samples(
    conn: Connection, site: SiteInfo, first: date, last: date
) -> list[tuple[datetime, dict[str, float]]]:
    """Valid samples of a water site in [first, last]: (time, {item: value}) in time order."""
    if not site.devices:
        return []
    codes = code_map(site)
    valid = default_rules().valid_flags
    o = Observation.__table__.c
    lo = datetime.combine(first, datetime.min.time())
    hi = datetime.combine(last + timedelta(days=1), datetime.min.time())
    q = select(o.data_time, o.code, o.value, o.flag).where(
        o.resolution == int(Resolution.HOUR),
        o.device_id.in_(list(site.devices)),
        o.data_time >= lo,
        o.data_time < hi,
        o.code.in_(list(codes)),
    )
    by_time: dict[datetime, dict[str, float]] = {}
    for t, code, value, flag in conn.execute(q):
        if value is None or (flag or "N") not in valid:
            continue
        by_time.setdefault(t, {})[codes[code]] = float(value)
    return sorted(by_time.items())


def _body(s: SiteInfo) -> water.WaterbodyType:
    lake = s.water_body == "lake_reservoir"
    return water.WaterbodyType.LAKE if lake else water.WaterbodyType.RIVER


def sample_rows(
    site: SiteInfo, samples: Sequence[tuple[datetime, dict[str, float]]]
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for t, vals in samples:
        if _is_groundwater(site):
            g = groundwater.classify(vals)
            cls = None if g.water_class is None else int(g.water_class)
            failing = ",".join(g.exceeding_iii) or None
        else:
            a = water.classify_sample(vals, _body(site), when=t)
            cls = None if a.water_class is None else int(a.water_class)
            failing = ",".join(a.failing_items) or None
        rows.append(
            {
                "site_id": site.id,
                "data_time": t,
                "water_class": cls,
                "failing": failing,
                "sample_values": dumps(vals),
            }
        )
    return rows


def _mean_values(samples: Sequence[tuple[datetime, Mapping[str, float]]]) -> dict[str, float]:
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for _t, vals in samples:
        for k, v in vals.items():
            sums[k] = sums.get(k, 0.0) + v
            counts[k] = counts.get(k, 0) + 1
    return {k: sums[k] / counts[k] for k in sums}


def month_row(
    site: SiteInfo,
    month: str,
    samples: Sequence[tuple[datetime, dict[str, float]]],
    *,
    now: datetime,
) -> dict[str, Any]:
    """fig_water_month row of one site and month."""
    vals = [v for _t, v in samples]
    result: dict[str, Any] = {}
    cls: int | None = None
    target: int | None = None
    meets: bool | None = None
    first = date.fromisoformat(month + "-01")
    rules: dict[str, str] = {}
    if site.kind == SiteKind.SURFACE_WATER:
        target = FROM_ROMAN.get(site.target_class or "")
        a = water.section_assessment(
            vals,
            _body(site),
            target_class=None if target is None else water.WaterClass(target),
            when=first,
        )
        cls = None if a.water_class is None else int(a.water_class)
        meets = a.meets_target
        result = {
            "means": {k: round(v, 4) for k, v in a.means.items()},
            "status": a.status,
            "main_pollutants": [
                {
                    "code": m.code,
                    "name": m.name,
                    "class": ROMAN[int(m.water_class)],
                    "multiple": None if m.multiple is None else round(m.multiple, 2),
                }
                for m in a.main_pollutants
            ],
            "exceed_iii": {k: round(v, 2) for k, v in a.exceed_iii.items()},
            "exceed_target": {k: round(v, 2) for k, v in a.exceed_target.items()},
        }
        rules["GB3838"] = resolve("GB3838", "auto", first).id
    elif site.kind == SiteKind.DRINKING_WATER:
        if _is_groundwater(site):
            c = drinking_water.groundwater_source_compliance(vals, mode="every")
            g = groundwater.classify(_mean_values(samples)) if samples else None
            cls = None if g is None or g.water_class is None else int(g.water_class)
            rules["GBT14848"] = resolve("GBT14848", "auto", first).id
        else:
            c = drinking_water.surface_source_compliance(vals, _body(site), mode="mean")
            sa = water.classify_sample(_mean_values(samples), _body(site), when=first)
            cls = None if sa.water_class is None else int(sa.water_class)
            rules["GB3838"] = resolve("GB3838", "auto", first).id
        target = 3
        meets = c.complies
        result = {
            "complies": c.complies,
            "failing_items": list(c.failing_items),
            "source_type": str(c.source_type),
            "means": {k: round(v, 4) for k, v in _mean_values(samples).items()},
        }
    else:  # groundwater monitoring point
        g = groundwater.classify(_mean_values(samples)) if samples else None
        cls = None if g is None or g.water_class is None else int(g.water_class)
        result = {
            "worst_items": list(g.worst_items) if g else [],
            "exceeding_iii": list(g.exceeding_iii) if g else [],
            "means": {k: round(v, 4) for k, v in _mean_values(samples).items()},
        }
        rules["GBT14848"] = resolve("GBT14848", "auto", first).id
    counts: dict[str, int] = {}
    for v in vals:
        for k in v:
            counts[k] = counts.get(k, 0) + 1
    prov = {
        "samples": len(samples),
        "item_counts": counts,
        "rules": rules,
        "first_sample": samples[0][0].isoformat() if samples else None,
        "last_sample": samples[-1][0].isoformat() if samples else None,
    }
    return {
        "site_id": site.id,
        "month": month,
        "kind": site.kind,
        "water_class": cls,
        "target_class": target,
        "meets_target": meets,
        "result": dumps(result),
        "provenance": dumps(prov),
        "computed_at": now,
    }


# ------------------------------------------------------------------------------ noise


def _energy_mean(levels: Sequence[float]) -> float:
    return 10.0 * math.log10(sum(10.0 ** (0.1 * x) for x in levels) / len(levels))


def noise_rows(
    conn: Connection, site: SiteInfo, first: date, last: date, *, now: datetime
) -> list[dict[str, Any]]:
    if not site.devices or site.noise_zone is None:
        return []
    cfg = config()["noise"]
    valid = default_rules().valid_flags
    o = Observation.__table__.c
    lo = datetime.combine(first, datetime.min.time())
    hi = datetime.combine(last + timedelta(days=1), datetime.min.time())
    q = select(o.data_time, o.value, o.flag).where(
        o.resolution == int(Resolution.HOUR),
        o.device_id.in_(list(site.devices)),
        o.data_time >= lo,
        o.data_time < hi,
        o.code.in_(cfg["codes"]),
    )
    by_day: dict[date, tuple[list[float], list[float]]] = {}
    for t, value, flag in conn.execute(q):
        if value is None or (flag or "N") not in valid:
            continue
        dayv, nightv = by_day.setdefault(t.date(), ([], []))
        if noise.period_of(t) == noise.Period.DAY:
            dayv.append(float(value))
        else:
            nightv.append(float(value))
    rows: list[dict[str, Any]] = []
    for d in sorted(by_day):
        dv, nv = by_day[d]
        ld = round(_energy_mean(dv), 1) if len(dv) >= cfg["day_min_hours"] else None
        ln = round(_energy_mean(nv), 1) if len(nv) >= cfg["night_min_hours"] else None
        a = noise.assess_point(site.noise_zone, ld, ln)
        rows.append(
            {
                "site_id": site.id,
                "day": d,
                "zone": site.noise_zone,
                "ld": ld,
                "ln": ln,
                "day_ok": a.day_complies,
                "night_ok": a.night_complies,
                "provenance": dumps(
                    {
                        "day_hours": len(dv),
                        "night_hours": len(nv),
                        "need": [cfg["day_min_hours"], cfg["night_min_hours"]],
                        "rules": {"GB3096": resolve("GB3096", "auto", d).id},
                        "limits": [a.day_limit, a.night_limit],
                    }
                ),
                "computed_at": now,
            }
        )
    return rows
