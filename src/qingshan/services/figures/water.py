"""Water figures from stored observations, by the standards engine.

* Surface-water sections: each sample (one sampling time of HOUR-resolution records) is
  classed with :func:`qingshan.standards.water.classify_sample`; the month with
  :func:`~qingshan.standards.water.section_assessment` (monthly mean of each item, then the
  class, exceedance multiples over Class Ⅲ and over the target, main pollutants), GB 3838-2002
  and the 2011 evaluation method.
* Drinking-water sources: :func:`qingshan.standards.drinking_water.surface_source_compliance`
  (``mode="mean"``) or :func:`~qingshan.standards.drinking_water.groundwater_source_compliance`
  (``mode="every"``) per month; classes of groundwater sources and points with
  :func:`qingshan.standards.groundwater.classify` on the month's mean values.

Values are read as the exact decimals stored (text → :class:`~decimal.Decimal`); text that is
not a finite decimal is refused and counted in the provenance. Means, multiples and rates are
exact and rounded once, half-even (GB/T 8170), where they are stored for display.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from qingshan.services.figures._common import SiteInfo, config, dumps
from qingshan.services.rollups import default_rules
from qingshan.standards import drinking_water, groundwater, water
from qingshan.standards.rounding import exact_mean, round_half_even
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


Sample = tuple[datetime, dict[str, Decimal]]


def decimal_of(text: str) -> Decimal | None:
    """The exact decimal stored as ``text``; None when it is not a finite number (refused)."""
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def load_samples(conn: Connection, site: SiteInfo, first: date, last: date) -> list[Sample]:
    """Valid samples of a water site in [first, last]: (time, {item: exact value}) in time
    order. Values that are not finite decimals are left out (they never become floats)."""
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
    by_time: dict[datetime, dict[str, Decimal]] = {}
    for t, code, value, flag in conn.execute(q):
        if value is None or (flag or "N") not in valid:
            continue
        number = decimal_of(value)
        if number is not None:
            by_time.setdefault(t, {})[codes[code]] = number
    return sorted(by_time.items())


def _rounded(x: Fraction, ndigits: int) -> float | int:
    """An exact value rounded once, half-even, to ``ndigits`` decimals, as a JSON number."""
    return _number(round_half_even(x, ndigits))


def _number(d: Decimal) -> float | int:
    """A decimal as the JSON number (int or float) whose text is that decimal."""
    exponent = d.as_tuple().exponent
    return int(d) if isinstance(exponent, int) and exponent >= 0 else float(d)


def _body(s: SiteInfo) -> water.WaterbodyType:
    lake = s.water_body == "lake_reservoir"
    return water.WaterbodyType.LAKE if lake else water.WaterbodyType.RIVER


def sample_rows(site: SiteInfo, samples: Sequence[Sample]) -> list[dict[str, Any]]:
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
                "sample_values": dumps({k: _number(v) for k, v in vals.items()}),
            }
        )
    return rows


def _mean_values(samples: Sequence[tuple[datetime, Mapping[str, Decimal]]]) -> dict[str, Fraction]:
    """Exact mean of each item over the samples that have it."""
    values: dict[str, list[Decimal]] = {}
    for _t, vals in samples:
        for k, v in vals.items():
            values.setdefault(k, []).append(v)
    return {k: exact_mean(v) for k, v in values.items()}


def _means_json(means: Mapping[str, Fraction]) -> dict[str, float | int]:
    return {k: _rounded(v, 4) for k, v in means.items()}


def source_compliance(site: SiteInfo, samples: Sequence[Sample]) -> drinking_water.SourceCompliance:
    """达标 of a drinking-water source over the samples' period: a groundwater source when every
    sample meets GB/T 14848 Class Ⅲ, a surface source when the period mean of each item meets
    GB 3838 Class Ⅲ (and the Table 2 supplementary limits) — the rule of the monthly figures."""
    vals = [v for _t, v in samples]
    if _is_groundwater(site):
        return drinking_water.groundwater_source_compliance(vals, mode="every")
    return drinking_water.surface_source_compliance(vals, _body(site), mode="mean")


def month_row(
    site: SiteInfo,
    month: str,
    samples: Sequence[Sample],
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
            "means": _means_json(a.means),
            "status": a.status,
            "main_pollutants": [
                {
                    "code": m.code,
                    "name": m.name,
                    "class": ROMAN[int(m.water_class)],
                    # the exact multiple over Ⅲ, rounded once (None for DO / pH)
                    "multiple": (
                        None if m.code not in a.exceed_iii else _rounded(a.exceed_iii[m.code], 2)
                    ),
                }
                for m in a.main_pollutants
            ],
            "exceed_iii": {k: _rounded(v, 2) for k, v in a.exceed_iii.items()},
            "exceed_target": {k: _rounded(v, 2) for k, v in a.exceed_target.items()},
        }
        rules["GB3838"] = resolve("GB3838", "auto", first).id
    elif site.kind == SiteKind.DRINKING_WATER:
        c = source_compliance(site, samples)
        if _is_groundwater(site):
            g = groundwater.classify(_mean_values(samples)) if samples else None
            cls = None if g is None or g.water_class is None else int(g.water_class)
            rules["GBT14848"] = resolve("GBT14848", "auto", first).id
        else:
            sa = water.classify_sample(_mean_values(samples), _body(site), when=first)
            cls = None if sa.water_class is None else int(sa.water_class)
            rules["GB3838"] = resolve("GB3838", "auto", first).id
        target = 3
        meets = c.complies
        result = {
            "complies": c.complies,
            "failing_items": list(c.failing_items),
            "source_type": str(c.source_type),
            "means": _means_json(_mean_values(samples)),
        }
    else:  # groundwater monitoring point
        g = groundwater.classify(_mean_values(samples)) if samples else None
        cls = None if g is None or g.water_class is None else int(g.water_class)
        result = {
            "worst_items": list(g.worst_items) if g else [],
            "exceeding_iii": list(g.exceeding_iii) if g else [],
            "means": _means_json(_mean_values(samples)),
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
