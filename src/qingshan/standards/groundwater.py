"""Groundwater quality classes: GB/T 14848-2017 地下水质量标准.

References
----------
GB/T 14848-2017, Table 1 (地下水质量常规指标及限值, 39 items), Table 2 (地下水质量非常规指标及
限值, 54 items) and section 6 (评价):

- 6.2 single-indicator evaluation: the class whose limit range holds the value; where
  neighbouring classes share a limit, the better class (从优不从劣). Example in the standard:
  挥发性酚类 Ⅰ and Ⅱ are both 0.001 mg/L, a result of 0.001 mg/L is Class Ⅰ.
- 6.3 overall evaluation: the worst single-indicator class, naming the indicators of that class.
  The standard's example: 氯化物 400 mg/L and 四氯乙烯 (Table 2) 350 μg/L are Class Ⅴ, the rest
  better → the sample is Class Ⅴ, its Ⅴ indicators 氯化物 and 四氯乙烯.

Values are exact (a float stands for its shortest decimal text) and compared exactly with the
limits as written; multiples and shares are exact fractions (docs/standards/arithmetic.md).

Numbers in ``data/gbt14848-2017.toml`` with their sources; see that file for what is
unverified. Units: mg/L unless the data file says otherwise (the four organics are μg/L).

Non-detects: pass :class:`NotDetected`. Without a detection limit it is Class Ⅰ (the value
is below anything measurable); with one it is the class of the detection limit — "no worse
than" — because a detection limit above a class limit cannot prove the better class.
阴离子表面活性剂 is Class Ⅰ only when not detected (the table's "不得检出").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum
from fractions import Fraction
from functools import cache
from typing import Any

from qingshan.standards._checks import (
    InvalidValueError,
    Number,
    UnknownItemError,
    limit_value,
    load_toml,
    non_negative,
    non_negative_value,
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

    detection_limit: Number | None = None


Value = float | int | Decimal | Fraction | str | bool | NotDetected
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
    limits: tuple[Decimal, ...] = ()  # Ⅰ–Ⅳ upper limits, as written (Infinity: none)
    good: tuple[Decimal, Decimal] | None = None  # pH Ⅰ–Ⅲ
    fair: tuple[Decimal, Decimal] | None = None  # pH Ⅳ
    table: int = 1  # 1: 常规指标 (Table 1), 2: 非常规指标 (Table 2)

    def classify_number(self, value: Number) -> GroundwaterClass:
        """Class of a numeric value (GB/T 14848-2017 6.2): the best class whose upper limit holds
        the value, ``C ≤ S`` (equal limits → the better class, 从优不从劣); pH by its ranges.
        Compared exactly with the limits as written.

        Parameters
        ----------
        value : int, float, Decimal or Fraction
            The value in the indicator's unit, exact.

        Returns
        -------
        GroundwaterClass

        Raises
        ------
        InvalidValueError
            For a presence indicator (无/有) or a negative value.
        """
        if self.kind == "presence":
            raise InvalidValueError(f"{self.code} ({self.name}): expected 无/有, not a number")
        v = non_negative_value(value, f"{self.code} ({self.name})")
        if self.kind == "ph":
            assert self.good is not None and self.fair is not None
            if _within(v, self.good):
                return GroundwaterClass.I
            if _within(v, self.fair):
                return GroundwaterClass.IV
            return GroundwaterClass.V
        limits: Sequence[Any] = self.limits if isinstance(v, Decimal) else _fractions(self.limits)
        for index, limit in enumerate(limits):
            if v <= limit:
                return GroundwaterClass(index + 1)
        return GroundwaterClass.V


def _within(v: Decimal | Fraction, bounds: tuple[Decimal, Decimal]) -> bool:
    if isinstance(v, Fraction):
        return Fraction(bounds[0]) <= v <= Fraction(bounds[1])
    return bounds[0] <= v <= bounds[1]


@cache
def _fractions(limits: tuple[Decimal, ...]) -> tuple[Fraction | Decimal, ...]:
    # Infinity has no fraction; it compares with fractions exactly as a Decimal.
    return tuple(x if x.is_infinite() else Fraction(x) for x in limits)


def _pair(values: list[float]) -> tuple[Decimal, Decimal]:
    low, high = values
    return limit_value(low), limit_value(high)


@cache
def _load(standard_id: str) -> dict[str, IndicatorLimits]:
    raw: dict[str, Any] = load_toml(f"{standard_id.lower()}.toml")
    out: dict[str, IndicatorLimits] = {}
    for row in raw["item"]:
        if row["code"] in out:
            raise ValueError(f"{standard_id}: indicator code {row['code']!r} appears twice")
        out[row["code"]] = IndicatorLimits(
            no=row["no"],
            code=row["code"],
            name=row["name"],
            unit=row["unit"],
            group=row["group"],
            kind=row["kind"],
            limits=tuple(limit_value(x) for x in row.get("limits", ())),
            good=_pair(row["good"]) if "good" in row else None,
            fair=_pair(row["fair"]) if "fair" in row else None,
            table=int(row.get("table", 1)),
        )
    return out


def indicator_limits(
    standard: str = DEFAULT_STANDARD, *, non_routine: bool = False
) -> Mapping[str, IndicatorLimits]:
    """GB/T 14848-2017 indicators keyed by code.

    Parameters
    ----------
    standard : str, default "GBT14848-2017"
        Rule-set id.
    non_routine : bool, default False
        Also the 54 non-routine indicators of Table 2 (``pce`` 四氯乙烯, ``bap`` 苯并(a)芘 …);
        by default only the 39 of Table 1 (``hardness``, ``tds``, ``no3n`` …).

    Returns
    -------
    mapping of str to IndicatorLimits
        Kind, Ⅰ–Ⅳ upper limits as written (above Ⅳ: Ⅴ), unit (mg/L unless stated: μg/L for the
        organics, Bq/L, NTU …), table number.
    """
    table = _load(resolve(FAMILY, standard).id)
    return {c: i for c, i in table.items() if non_routine or i.table == 1}


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
        limit = non_negative_value(value.detection_limit, f"{what}: detection limit")
        return item.classify_number(limit)
    number = non_negative_value(value, what)
    if item.kind == "ph" and number > 14:
        raise InvalidValueError(f"{what}: {value!r} is outside the pH scale 0–14")
    return item.classify_number(number)


def indicator_class(
    code: str, value: Value, *, standard: str = DEFAULT_STANDARD
) -> GroundwaterClass:
    """Single-indicator class (GB/T 14848-2017 6.2), of a Table 1 or Table 2 indicator.

    Parameters
    ----------
    code : str
        Indicator code (see :func:`indicator_limits`).
    value : number, str, bool or NotDetected
        The value in the indicator's unit (exact); 无/有 or a bool for 嗅和味 and 肉眼可见物;
        :class:`NotDetected` (with the detection limit, if known) for a non-detect.
    standard : str, default "GBT14848-2017"
        Rule-set id.

    Returns
    -------
    GroundwaterClass
        Ⅰ … Ⅴ (radioactivity above Ⅲ is Ⅳ, never Ⅴ).

    Raises
    ------
    UnknownItemError, InvalidValueError
        For unknown indicators and bad values.
    """
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
    """Overall class of a sample (GB/T 14848-2017 6.3): the worst single-indicator class, naming
    the indicators of that class. The standard's example — 氯化物 400 mg/L and 四氯乙烯 350 μg/L
    Class Ⅴ, the rest better — is Class Ⅴ with the Ⅴ indicators 氯化物 and 四氯乙烯.

    Parameters
    ----------
    values : mapping of str to Value or None
        Indicator code (Table 1 or 2) → value; ``None`` is missing and skipped.
    standard : str, default "GBT14848-2017"
        Rule-set id.

    Returns
    -------
    GroundwaterAssessment
        Class (``None`` when no indicator has a value) and every indicator's class.

    Raises
    ------
    UnknownItemError, InvalidValueError
        For unknown indicators and bad values.
    """
    table = _load(resolve(FAMILY, standard).id)
    classes: dict[str, GroundwaterClass] = {}
    for code in values:
        _indicator(table, code)
    for code, item in table.items():  # Table 1 order, then Table 2
        value = values.get(code)
        if value is not None:
            classes[code] = _classify(item, value)
    return GroundwaterAssessment(max(classes.values(), default=None), classes)


def exceedance_multiple(
    code: str,
    value: Number,
    *,
    against: GroundwaterClass = GroundwaterClass.III,
    standard: str = DEFAULT_STANDARD,
) -> Fraction | None:
    """超标倍数 ``(C − S) / S`` over the limit S of ``against`` (Class Ⅲ by default), exact.

    Parameters
    ----------
    code : str
        Indicator code.
    value : int, float, Decimal or Fraction
        The value C in the indicator's unit.
    against : GroundwaterClass, default GroundwaterClass.III
        The class whose upper limit is S.
    standard : str, default "GBT14848-2017"
        Rule-set id.

    Returns
    -------
    Fraction or None
        0 when C ≤ S; ``None`` for pH, the presence indicators, Class Ⅴ (no upper limit), LAS
        against Ⅰ (不得检出) and radioactivity against Ⅳ (no finite limit).
    """
    table = _load(resolve(FAMILY, standard).id)
    item = _indicator(table, code)
    number = non_negative(value, f"{item.code} ({item.name})")
    if item.kind != "upper" or against is GroundwaterClass.V:
        return None
    limit = item.limits[against.value - 1]
    if limit == 0 or limit.is_infinite():  # LAS Ⅰ "不得检出"; radioactivity Ⅳ: no finite S
        return None
    s = Fraction(limit)
    return max(Fraction(0), (number - s) / s)


@dataclass(frozen=True, slots=True)
class ClassShares:
    """Shares of monitoring points by class (points without a class excluded)."""

    counts: Mapping[GroundwaterClass, int]
    n_classed: int
    n_missing: int

    def share(self, *classes: GroundwaterClass) -> Fraction | None:
        """Exact share of the classed points that are in ``classes``.

        Parameters
        ----------
        *classes : GroundwaterClass
            The classes counted.

        Returns
        -------
        Fraction or None
            0–1; ``None`` when no point has a class.
        """
        if self.n_classed == 0:
            return None
        return Fraction(sum(self.counts.get(c, 0) for c in classes), self.n_classed)

    @property
    def share_i_iii(self) -> Fraction | None:
        """Ⅰ–Ⅲ类 share (达到或优于Ⅲ类, suitable for drinking-water sources)."""
        return self.share(GroundwaterClass.I, GroundwaterClass.II, GroundwaterClass.III)

    @property
    def share_i_iv(self) -> Fraction | None:
        """Ⅰ–Ⅳ类 share (the national groundwater target indicator 地下水Ⅰ–Ⅳ类水比例)."""
        return self.share(*(c for c in GroundwaterClass if c <= GroundwaterClass.IV))

    @property
    def share_v(self) -> Fraction | None:
        """Ⅴ类 share (水十条's 地下水质量极差的比例)."""
        return self.share(GroundwaterClass.V)


def class_shares(classes: Iterable[GroundwaterClass | None]) -> ClassShares:
    """Counts and shares of monitoring points by class (地下水Ⅰ–Ⅳ类水比例 and others).

    Parameters
    ----------
    classes : iterable of GroundwaterClass or None
        One class per point; ``None`` (no data) is counted as missing.

    Returns
    -------
    ClassShares
    """
    counts: dict[GroundwaterClass, int] = {}
    missing = 0
    for cls in classes:
        if cls is None:
            missing += 1
        else:
            counts[cls] = counts.get(cls, 0) + 1
    return ClassShares(counts, sum(counts.values()), missing)
