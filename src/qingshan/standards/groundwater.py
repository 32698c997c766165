"""Groundwater quality classes: GB/T 14848-2017 地下水质量标准, conventional indicators.

References
----------
GB/T 14848-2017, Table 1 (地下水质量常规指标及限值, 39 items) and section 6 (评价):

- 6.2 single-indicator evaluation: the class whose limit range holds the value; where
  neighbouring classes share a limit, the better class (从优不从劣). Example in the standard:
  挥发性酚类 Ⅰ and Ⅱ are both 0.001 mg/L, a result of 0.001 mg/L is Class Ⅰ.
- 6.3 overall evaluation: the worst single-indicator class, naming the indicators of that class.

Numbers in ``data/gbt14848-2017.toml`` with their sources; see that file for what is
unverified. Units: mg/L unless the data file says otherwise (the four organics are μg/L).

Non-detects: pass :class:`NotDetected`. Without a detection limit it is Class Ⅰ (the value
is below anything measurable); with one it is the class of the detection limit — "no worse
than" — because a detection limit above a class limit cannot prove the better class.
阴离子表面活性剂 is Class Ⅰ only when not detected (the table's "不得检出").
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from functools import cache
from typing import Any

from qingshan.standards._checks import (
    InvalidValueError,
    UnknownItemError,
    load_toml,
    non_negative,
)
from qingshan.standards.versions import resolve

__all__ = [
    "ClassShares",
    "GroundwaterAssessment",
    "GroundwaterClass",
    "IndicatorLimits",
    "InvalidValueError",
    "NotDetected",
    "UnknownItemError",
    "class_shares",
    "classify",
    "exceedance_multiple",
    "indicator_class",
    "indicator_limits",
]

FAMILY = "GBT14848"
DEFAULT_STANDARD = "GBT14848-2017"

_ROMAN = ("Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ", "Ⅴ")
_ASCII = ("I", "II", "III", "IV", "V")


class GroundwaterClass(IntEnum):
    I = 1  # noqa: E741 -- the standard names the class Ⅰ
    II = 2
    III = 3
    IV = 4
    V = 5

    @property
    def roman(self) -> str:
        return _ROMAN[self.value - 1]

    @property
    def code(self) -> str:
        return _ASCII[self.value - 1]


@dataclass(frozen=True, slots=True)
class NotDetected:
    """A result below the method's detection limit (未检出, often written ``0.01L``)."""

    detection_limit: float | None = None


Value = float | str | bool | NotDetected
"""A measured value: a number; for 嗅和味 / 肉眼可见物 ``"无"``/``"有"`` or a bool
(``True`` = present); or :class:`NotDetected`."""


@dataclass(frozen=True, slots=True)
class IndicatorLimits:
    no: int
    code: str
    name: str
    unit: str
    group: str
    kind: str  # "upper" | "ph" | "presence"
    limits: tuple[float, ...] = ()  # Ⅰ–Ⅳ upper limits
    good: tuple[float, float] | None = None  # pH Ⅰ–Ⅲ
    fair: tuple[float, float] | None = None  # pH Ⅳ

    def classify_number(self, value: float) -> GroundwaterClass:
        if self.kind == "ph":
            assert self.good is not None and self.fair is not None
            if self.good[0] <= value <= self.good[1]:
                return GroundwaterClass.I
            if self.fair[0] <= value <= self.fair[1]:
                return GroundwaterClass.IV
            return GroundwaterClass.V
        if self.kind == "presence":
            raise InvalidValueError(f"{self.code} ({self.name}): expected 无/有, not a number")
        for index, limit in enumerate(self.limits):
            if value <= limit:
                return GroundwaterClass(index + 1)
        return GroundwaterClass.V


def _pair(values: list[float]) -> tuple[float, float]:
    low, high = values
    return float(low), float(high)


@cache
def _load(standard_id: str) -> dict[str, IndicatorLimits]:
    raw: dict[str, Any] = load_toml(f"{standard_id.lower()}.toml")
    out: dict[str, IndicatorLimits] = {}
    for row in raw["item"]:
        out[row["code"]] = IndicatorLimits(
            no=row["no"],
            code=row["code"],
            name=row["name"],
            unit=row["unit"],
            group=row["group"],
            kind=row["kind"],
            limits=tuple(float(x) for x in row.get("limits", ())),
            good=_pair(row["good"]) if "good" in row else None,
            fair=_pair(row["fair"]) if "fair" in row else None,
        )
    return out


def indicator_limits(standard: str = DEFAULT_STANDARD) -> Mapping[str, IndicatorLimits]:
    """The 39 conventional indicators keyed by code (``hardness``, ``tds``, ``no3n`` …)."""
    return dict(_load(resolve(FAMILY, standard).id))


def _indicator(table: Mapping[str, IndicatorLimits], code: str) -> IndicatorLimits:
    found = table.get(code)
    if found is None:
        raise UnknownItemError(
            f"unknown GB/T 14848-2017 indicator {code!r}; known: {', '.join(table)}"
        )
    return found


_PRESENCE = {"无": False, "有": True}


def _classify(item: IndicatorLimits, value: Value) -> GroundwaterClass:
    what = f"{item.code} ({item.name})"
    if item.kind == "presence":
        if isinstance(value, bool):
            present = value
        elif isinstance(value, str) and value.strip() in _PRESENCE:
            present = _PRESENCE[value.strip()]
        else:
            raise InvalidValueError(f"{what}: expected 无 or 有 (or a bool), got {value!r}")
        return GroundwaterClass.V if present else GroundwaterClass.I
    if isinstance(value, NotDetected):
        if value.detection_limit is None or item.code == "las":
            return GroundwaterClass.I
        limit = non_negative(value.detection_limit, f"{what}: detection limit")
        return item.classify_number(limit)
    number = non_negative(value, what)
    if item.kind == "ph" and number > 14:
        raise InvalidValueError(f"{what}: {number!r} is outside the pH scale 0–14")
    return item.classify_number(number)


def indicator_class(
    code: str, value: Value, *, standard: str = DEFAULT_STANDARD
) -> GroundwaterClass:
    """Single-indicator class (GB/T 14848-2017 6.2)."""
    table = _load(resolve(FAMILY, standard).id)
    return _classify(_indicator(table, code), value)


@dataclass(frozen=True, slots=True)
class GroundwaterAssessment:
    water_class: GroundwaterClass | None  # None: no indicator had a value
    item_classes: Mapping[str, GroundwaterClass]

    @property
    def worst_items(self) -> tuple[str, ...]:
        """Indicators of the overall class (6.3 asks to name them)."""
        return tuple(c for c, k in self.item_classes.items() if k == self.water_class)

    @property
    def exceeding_iii(self) -> tuple[str, ...]:
        """Indicators worse than Class Ⅲ (the drinking-water source threshold)."""
        return tuple(c for c, k in self.item_classes.items() if k > GroundwaterClass.III)


def classify(
    values: Mapping[str, Value | None], *, standard: str = DEFAULT_STANDARD
) -> GroundwaterAssessment:
    """Overall class of a groundwater sample: the worst single-indicator class (6.3).

    ``None`` values are missing and skipped; unknown indicators raise
    :class:`UnknownItemError`; negative or non-numeric values :class:`InvalidValueError`.
    """
    table = _load(resolve(FAMILY, standard).id)
    classes: dict[str, GroundwaterClass] = {}
    for code in values:
        _indicator(table, code)
    for code, item in table.items():  # Table 1 order
        value = values.get(code)
        if value is not None:
            classes[code] = _classify(item, value)
    return GroundwaterAssessment(max(classes.values(), default=None), classes)


def exceedance_multiple(
    code: str,
    value: float,
    *,
    against: GroundwaterClass = GroundwaterClass.III,
    standard: str = DEFAULT_STANDARD,
) -> float | None:
    """超标倍数 = (C − S) / S over the limit of ``against`` (Class Ⅲ by default); 0.0 when
    the value meets it; ``None`` for pH and the presence indicators, which have no single
    upper limit, and for Class Ⅴ, which has none."""
    table = _load(resolve(FAMILY, standard).id)
    item = _indicator(table, code)
    number = non_negative(value, f"{item.code} ({item.name})")
    if item.kind != "upper" or against is GroundwaterClass.V:
        return None
    limit = item.limits[against.value - 1]
    if limit == 0.0 or math.isinf(limit):  # LAS Ⅰ "不得检出"; radioactivity Ⅳ: no finite S
        return None
    return max(0.0, (number - limit) / limit)


@dataclass(frozen=True, slots=True)
class ClassShares:
    """Shares of monitoring points by class (points without a class excluded)."""

    counts: Mapping[GroundwaterClass, int]
    n_classed: int
    n_missing: int

    def share(self, *classes: GroundwaterClass) -> float | None:
        """Fraction of classed points in ``classes`` (None when no point has a class)."""
        if self.n_classed == 0:
            return None
        return sum(self.counts.get(c, 0) for c in classes) / self.n_classed

    @property
    def share_i_iii(self) -> float | None:
        """Ⅰ–Ⅲ类 share (达到或优于Ⅲ类, suitable for drinking-water sources)."""
        return self.share(GroundwaterClass.I, GroundwaterClass.II, GroundwaterClass.III)

    @property
    def share_i_iv(self) -> float | None:
        """Ⅰ–Ⅳ类 share (the national groundwater target indicator 地下水Ⅰ–Ⅳ类水比例)."""
        return self.share(*(c for c in GroundwaterClass if c <= GroundwaterClass.IV))

    @property
    def share_v(self) -> float | None:
        """Ⅴ类 share (水十条's 地下水质量极差的比例)."""
        return self.share(GroundwaterClass.V)


def class_shares(classes: Iterable[GroundwaterClass | None]) -> ClassShares:
    """Counts and shares of points by class; ``None`` (no data) is counted as missing."""
    counts: dict[GroundwaterClass, int] = {}
    missing = 0
    for cls in classes:
        if cls is None:
            missing += 1
        else:
            counts[cls] = counts.get(cls, 0) + 1
    return ClassShares(counts, sum(counts.values()), missing)
