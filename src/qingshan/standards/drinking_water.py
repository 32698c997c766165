"""Drinking-water sources (集中式生活饮用水水源地): compliance per source and 达标率.

Basis (see ``data/drinking-water.toml`` and docs/standards/gb3838.md):

- **Surface sources**: GB 3838-2002 Class Ⅲ on the 21 items the 2011 evaluation method
  counts (Table 1 less water temperature, TN and fecal coliform), plus the GB 3838 Table 2
  supplementary items (硫酸盐 250, 氯化物 250, 硝酸盐 10, 铁 0.3, 锰 0.1 mg/L) when supplied.
- **Groundwater sources**: GB/T 14848-2017 Class Ⅲ on the supplied conventional indicators.
- A source complies (达标) when every evaluated item meets Class Ⅲ. Over a period either the
  period mean of each item is judged (``mode="mean"``, like a surface-water section) or every
  sample must comply (``mode="every"``).
- 达标率 = complying sources / sources with data; with volumes, also the volume-weighted rate
  达标水量 / 总取水量.
- Exact arithmetic (docs/standards/arithmetic.md): period means are exact fractions compared
  exactly with the limits (TP 0.1, 0.2, 0.3 mg/L → mean 0.2 = the Class Ⅲ limit → complies);
  rates are exact fractions, rounded once by whoever publishes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from functools import cache
from typing import Any

from qingshan.standards import groundwater, water
from qingshan.standards._checks import (
    InvalidValueError,
    Number,
    UnknownItemError,
    limit_value,
    load_toml,
    non_negative,
)

__all__ = [
    "ComplianceRate",
    "InvalidValueError",
    "SourceCompliance",
    "SourceType",
    "UnknownItemError",
    "compliance_rate",
    "groundwater_source_compliance",
    "supplementary_limits",
    "surface_source_compliance",
]


class SourceType(StrEnum):
    SURFACE = "surface"
    GROUNDWATER = "groundwater"


@cache
def _raw() -> dict[str, Any]:
    return load_toml("drinking-water.toml")


def supplementary_limits() -> Mapping[str, tuple[str, float]]:
    """GB 3838-2002 Table 2 (集中式生活饮用水地表水源地补充项目) limits, as floats.

    Returns
    -------
    mapping of str to (str, float)
        ``so4, cl, no3n, fe, mn`` → (name, limit [mg/L]); each float carries the limit's decimal.
        Comparisons use :func:`supplementary_limits_exact`.
    """
    return {code: (name, float(limit)) for code, (name, limit) in _supplementary().items()}


@cache
def _supplementary() -> dict[str, tuple[str, Decimal]]:
    return {r["code"]: (r["name"], limit_value(r["limit"])) for r in _raw()["supplementary"]}


def supplementary_limits_exact() -> Mapping[str, tuple[str, Decimal]]:
    """GB 3838-2002 Table 2 limits as the decimals written in the standard.

    Returns
    -------
    mapping of str to (str, Decimal)
        ``so4`` 250, ``cl`` 250, ``no3n`` 10, ``fe`` 0.3, ``mn`` 0.1 [mg/L], with their names.
    """
    return dict(_supplementary())


@dataclass(frozen=True, slots=True)
class SourceCompliance:
    source_type: SourceType
    complies: bool | None  # None: no evaluated item had a value
    failing_items: tuple[str, ...]  # items worse than Class Ⅲ (or over the Table 2 limit)
    n_samples: int


def _check_mode(mode: str) -> None:
    if mode not in ("mean", "every"):
        raise InvalidValueError(f"unknown mode {mode!r}; expected 'mean' or 'every'")


def _surface_failures(
    values: Mapping[str, Number | None], body: water.WaterbodyType | str
) -> tuple[bool, list[str]]:
    extra = _supplementary()
    main = {c: v for c, v in values.items() if c not in extra}
    assessment = water.classify_sample(main, body)
    failing = list(assessment.failing_items)
    seen = bool(assessment.item_classes)
    for code, (name, limit) in extra.items():
        value = values.get(code)
        if value is None:
            continue
        seen = True
        if non_negative(value, f"{code} ({name})") > Fraction(limit):
            failing.append(code)
    return seen, failing


def surface_source_compliance(
    samples: Sequence[Mapping[str, Number | None]],
    waterbody: water.WaterbodyType | str = water.WaterbodyType.RIVER,
    *,
    mode: str = "mean",
) -> SourceCompliance:
    """Compliance of a surface drinking-water source: GB 3838-2002 Class Ⅲ on the 21 evaluated
    items plus the Table 2 supplementary items when supplied (practice of HJ 774-2015, unverified).

    Parameters
    ----------
    samples : sequence of mapping of str to number or None
        Item code (those of :mod:`qingshan.standards.water` plus ``so4, cl, no3n, fe, mn``) →
        concentration [mg/L], exact; ``None`` is missing.
    waterbody : WaterbodyType or str, default "river"
        ``river`` or ``lake``.
    mode : {"mean", "every"}, default "mean"
        ``mean``: the exact period mean of each item is judged (a mean exactly at a limit
        complies); ``every``: every sample must comply.

    Returns
    -------
    SourceCompliance
        达标 (``None`` when no evaluated item has a value), failing items, sample count.
    """
    _check_mode(mode)
    if mode == "mean":
        sums: dict[str, Fraction] = {}
        counts: dict[str, int] = {}
        for sample in samples:
            for code, value in sample.items():
                if value is None:
                    continue
                sums[code] = sums.get(code, Fraction(0)) + non_negative(value, code)
                counts[code] = counts.get(code, 0) + 1
        batches: list[Mapping[str, Number | None]] = [{c: sums[c] / counts[c] for c in sums}]
    else:
        batches = list(samples)
    seen_any = False
    failing: list[str] = []
    for batch in batches:
        seen, fails = _surface_failures(batch, waterbody)
        seen_any |= seen
        failing += [c for c in fails if c not in failing]
    return SourceCompliance(
        SourceType.SURFACE, (not failing) if seen_any else None, tuple(failing), len(samples)
    )


def groundwater_source_compliance(
    samples: Sequence[Mapping[str, groundwater.Value | None]], *, mode: str = "every"
) -> SourceCompliance:
    """Compliance of a groundwater drinking-water source with GB/T 14848-2017 Class Ⅲ.

    Parameters
    ----------
    samples : sequence of mapping of str to Value or None
        Indicator code (Table 1 or 2) → value [mg/L unless the table says otherwise], 无/有, or
        :class:`~qingshan.standards.groundwater.NotDetected`.
    mode : {"every", "mean"}, default "every"
        ``every``: every sample must meet Class Ⅲ; ``mean``: the exact mean of numeric values
        (presence indicators and non-detects cannot be averaged).

    Returns
    -------
    SourceCompliance

    Raises
    ------
    InvalidValueError
        For a non-numeric value in ``mean`` mode.
    """
    _check_mode(mode)
    if mode == "mean":
        sums: dict[str, Fraction] = {}
        counts: dict[str, int] = {}
        for sample in samples:
            for code, value in sample.items():
                if value is None:
                    continue
                if isinstance(value, bool) or not isinstance(
                    value, int | float | Decimal | Fraction
                ):
                    raise InvalidValueError(
                        f"{code}: {value!r} cannot be averaged; use mode='every'"
                    )
                sums[code] = sums.get(code, Fraction(0)) + non_negative(value, code)
                counts[code] = counts.get(code, 0) + 1
        batches: list[Mapping[str, groundwater.Value | None]] = [
            {c: sums[c] / counts[c] for c in sums}
        ]
    else:
        batches = list(samples)
    seen_any = False
    failing: list[str] = []
    for batch in batches:
        result = groundwater.classify(batch)
        seen_any |= result.water_class is not None
        failing += [c for c in result.exceeding_iii if c not in failing]
    return SourceCompliance(
        SourceType.GROUNDWATER,
        (not failing) if seen_any else None,
        tuple(failing),
        len(samples),
    )


@dataclass(frozen=True, slots=True)
class ComplianceRate:
    n_sources: int
    n_complying: int
    n_missing: int  # sources without data, left out of the rate
    rate: Fraction | None  # 达标率 by number of sources (exact share 0–1)
    volume_rate: Fraction | None  # 达标率 weighted by volume drawn (None without volumes)


def compliance_rate(
    results: Iterable[SourceCompliance], volumes: Iterable[Number] | None = None
) -> ComplianceRate:
    """饮用水水源地达标率 of a set of sources::

        rate = complying sources / sources with data
        volume rate = Σ volume of complying sources / Σ volume of sources with data

    Parameters
    ----------
    results : iterable of SourceCompliance
        One per source.
    volumes : iterable of number, optional
        Volume drawn from each source [m³, any one unit], same order.

    Returns
    -------
    ComplianceRate
        Counts, the exact rates (0–1; ``None`` without judged sources or volumes); sources
        without data are left out of both.

    Raises
    ------
    InvalidValueError
        For negative volumes or a count that does not match the sources.
    """
    items = list(results)
    vols = None if volumes is None else [non_negative(v, "volume") for v in volumes]
    if vols is not None and len(vols) != len(items):
        raise InvalidValueError(f"{len(vols)} volumes for {len(items)} sources")
    judged = [i for i, r in enumerate(items) if r.complies is not None]
    ok = [i for i in judged if items[i].complies]
    rate = Fraction(len(ok), len(judged)) if judged else None
    volume_rate: Fraction | None = None
    if vols is not None:
        total = sum((vols[i] for i in judged), Fraction(0))
        if total > 0:
            volume_rate = sum((vols[i] for i in ok), Fraction(0)) / total
    return ComplianceRate(len(items), len(ok), len(items) - len(judged), rate, volume_rate)
