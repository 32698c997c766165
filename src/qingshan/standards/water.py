"""Surface-water quality: GB 3838-2002 classes and the 2011 evaluation method.

References
----------
- GB 3838-2002 地表水环境质量标准, Table 1 (基本项目标准限值); numbers in
  ``data/gb3838-2002.toml`` with their sources.
- 地表水环境质量评价办法(试行), 环境保护部办公厅 环办〔2011〕22号 (the "2011 method").

Rules implemented
-----------------
- **Single-factor class** of an item: the best class whose limit the value meets. Upper limits
  (``value <= limit``), DO a lower limit (``value >= limit``), pH a range 6–9 common to every
  class (inside: does not worsen the class; outside: 劣Ⅴ). Equal limits of neighbouring classes
  resolve to the better class (从优不从劣), so a value equal to the Class Ⅱ limit is Class Ⅱ.
- **Sample / section class**: the worst class of the evaluated items that have a value
  (单因子评价法). The 2011 method evaluates 21 items: Table 1 less water temperature, total
  nitrogen and fecal coliform. Lakes and reservoirs may include TN (``include_tn=True``), which
  the method evaluates separately; TN has no river limits and is never counted for rivers.
  Missing items are skipped; a sample with no evaluated item has no class (``None``).
- **Section over a period**: arithmetic mean of each item over the period, then classify.
- **Exact arithmetic** (docs/standards/arithmetic.md): values are read as the decimals they
  stand for (a float as its shortest text), means and multiples are exact fractions and the
  comparison with a class limit uses the exact value (GB/T 8170 §4.3.3: 全数值比较法 unless a
  standard says otherwise). Results that are published are rounded once, by the caller, with
  :func:`qingshan.standards.rounding.round_half_even`.
- **Exceedance multiple** (超标倍数) = (C − S) / S against Class Ⅲ or a target class; not
  computed for pH and DO (the method computes none for water temperature, pH and DO).
- **Main pollutants** (主要污染指标) when the class is worse than Ⅲ: the items worse than Ⅲ,
  ranked by class (worst first), then by exceedance multiple over Class Ⅲ; cyanide and heavy
  metals that exceed come first, as the method says. Top 3.
- **Status words**: Ⅰ–Ⅱ 优, Ⅲ 良好, Ⅳ 轻度污染, Ⅴ 中度污染, 劣Ⅴ 重度污染.
- **River / basin status**: fewer than 5 sections → mean concentrations over the sections,
  classified as one section; otherwise by the shares of sections Ⅰ–Ⅲ and 劣Ⅴ (see the data
  file for the thresholds and what is unverified). A lake or reservoir with several points:
  the mean over its points, classified as one section.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import IntEnum, StrEnum
from fractions import Fraction
from functools import cache
from typing import Any

from qingshan.standards._checks import (
    InvalidValueError,
    Number,
    UnknownItemError,
    exact_number,
    limit_value,
    load_toml,
    non_negative,
    non_negative_value,
)
from qingshan.standards.rounding import exact_mean
from qingshan.standards.versions import resolve

__all__ = [
    "EVALUATED_ITEMS",
    "BasinAssessment",
    "ClassShares",
    "InvalidValueError",
    "ItemLimits",
    "MainPollutant",
    "SampleAssessment",
    "SectionAssessment",
    "UnknownItemError",
    "WaterClass",
    "WaterbodyType",
    "basin_assessment",
    "class_shares",
    "classify_sample",
    "exceedance_multiple",
    "item_class",
    "item_limits",
    "main_pollutants",
    "section_assessment",
    "status_from_shares",
]

FAMILY = "GB3838"
DEFAULT_STANDARD = "GB3838-2002"


class WaterbodyType(StrEnum):
    RIVER = "river"
    LAKE = "lake"  # lakes and reservoirs (湖、库)


_ROMAN = ("Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ", "Ⅴ", "劣Ⅴ")
_ASCII = ("I", "II", "III", "IV", "V", "劣V")


class WaterClass(IntEnum):
    I = 1  # noqa: E741 -- the standard names the class Ⅰ
    II = 2
    III = 3
    IV = 4
    V = 5
    WORSE_THAN_V = 6  # 劣Ⅴ类

    @property
    def roman(self) -> str:
        """The class as the standard writes it: Ⅰ … Ⅴ, 劣Ⅴ."""
        return _ROMAN[self.value - 1]

    @property
    def code(self) -> str:
        """The class in ASCII Roman numerals (CLI output): I … V, 劣V."""
        return _ASCII[self.value - 1]

    @property
    def status(self) -> str:
        return _section_status()[self.value][0]

    @property
    def colour(self) -> str:
        return _section_status()[self.value][1]

    @classmethod
    def parse(cls, text: str) -> WaterClass:
        """A water class from its written forms.

        Parameters
        ----------
        text : str
            ``I``/``Ⅰ``/``1`` … ``劣V``/``劣Ⅴ``/``6``, optionally followed by 类.

        Returns
        -------
        WaterClass

        Raises
        ------
        InvalidValueError
            For anything else.
        """
        key = text.strip().removesuffix("类").upper().replace("劣V", "劣Ⅴ")
        for member in cls:
            if key in (member.roman, member.code.upper(), str(member.value)):
                return member
        raise InvalidValueError(f"unknown water class {text!r}")


@dataclass(frozen=True, slots=True)
class ItemLimits:
    """One row of GB 3838 Table 1."""

    code: str
    name: str
    unit: str
    kind: str  # "upper" | "lower" | "range"
    limits: tuple[Decimal, ...] = ()  # Class Ⅰ…Ⅴ, as written in the standard
    lake_limits: tuple[Decimal, ...] | None = None
    low: Decimal | None = None
    high: Decimal | None = None
    evaluated: bool = True
    lakes_only: bool = False
    priority: bool = False  # cyanide / heavy metals: first among main pollutants

    def limits_for(self, waterbody: WaterbodyType) -> tuple[Decimal, ...]:
        """The Class Ⅰ–Ⅴ limits that apply to a waterbody.

        Parameters
        ----------
        waterbody : WaterbodyType
            River, or lake/reservoir (TP has its own lake limits).

        Returns
        -------
        tuple of Decimal
            Limits [mg/L; fecal coliform 个/L] as written in Table 1.
        """
        if waterbody is WaterbodyType.LAKE and self.lake_limits is not None:
            return self.lake_limits
        return self.limits

    def limit(self, water_class: WaterClass, waterbody: WaterbodyType) -> Decimal | None:
        """The limit of one class.

        Parameters
        ----------
        water_class : WaterClass
            Ⅰ … Ⅴ (劣Ⅴ has none).
        waterbody : WaterbodyType
            River or lake.

        Returns
        -------
        Decimal or None
            The limit [mg/L]; ``None`` for pH (a range) and for 劣Ⅴ.
        """
        if self.kind == "range" or water_class is WaterClass.WORSE_THAN_V:
            return None
        return self.limits_for(waterbody)[water_class.value - 1]

    def classify(self, value: Decimal | Fraction, waterbody: WaterbodyType) -> WaterClass:
        """Single-factor class of a checked, non-negative exact value: ``C ≤ S`` (DO ``C ≥ S``,
        pH inside 6–9) for the best class, equal limits → the better class; exact comparisons
        (decimals against the decimal limits, fractions against the same limits as fractions).

        Parameters
        ----------
        value : Decimal or Fraction
            Concentration [mg/L; pH unitless; fecal coliform 个/L].
        waterbody : WaterbodyType
            River or lake.

        Returns
        -------
        WaterClass
        """
        if self.kind == "range":
            assert self.low is not None and self.high is not None
            if isinstance(value, Fraction):
                low, high = _fractions((self.low, self.high))
                inside = low <= value <= high
            else:
                inside = self.low <= value <= self.high
            return WaterClass.I if inside else WaterClass.WORSE_THAN_V
        # Both sides exact: decimals against the decimal limits, fractions against fractions.
        limits: Sequence[Any] = self.limits_for(waterbody)
        if isinstance(value, Fraction):
            limits = _fractions(self.limits_for(waterbody))
        if self.kind == "lower":
            for index, limit in enumerate(limits):
                if value >= limit:
                    return WaterClass(index + 1)
        else:
            for index, limit in enumerate(limits):
                if value <= limit:
                    return WaterClass(index + 1)
        return WaterClass.WORSE_THAN_V


@cache
def _fractions(limits: tuple[Decimal, ...]) -> tuple[Fraction, ...]:
    return tuple(Fraction(x) for x in limits)


@dataclass(frozen=True, slots=True)
class _Table:
    standard: str
    items: dict[str, ItemLimits]
    basin_rows: tuple[dict[str, Any], ...]
    min_sections_for_shares: int


@cache
def _load(standard_id: str) -> _Table:
    raw = load_toml(f"{standard_id.lower()}.toml")
    items: dict[str, ItemLimits] = {}
    for row in raw["item"]:
        lake = row.get("lake_limits")
        items[row["code"]] = ItemLimits(
            code=row["code"],
            name=row["name"],
            unit=row["unit"],
            kind=row["kind"],
            limits=tuple(limit_value(x) for x in row.get("limits", ())),
            lake_limits=tuple(limit_value(x) for x in lake) if lake is not None else None,
            low=limit_value(row["low"]) if "low" in row else None,
            high=limit_value(row["high"]) if "high" in row else None,
            evaluated=row.get("evaluated", True),
            lakes_only=row.get("lakes_only", False),
            priority=row.get("heavy_metal", False),
        )
    return _Table(
        standard=standard_id,
        items=items,
        basin_rows=tuple(raw["basin_status"]),
        min_sections_for_shares=int(raw["basin"]["min_sections_for_shares"]),
    )


def _table(standard: str, when: date | datetime | None = None) -> _Table:
    return _load(resolve(FAMILY, standard, when).id)


@cache
def _section_status() -> dict[int, tuple[str, str]]:
    raw = load_toml(f"{DEFAULT_STANDARD.lower()}.toml")
    out: dict[int, tuple[str, str]] = {}
    for row in raw["section_status"]:
        for value in row["classes"]:
            out[int(value)] = (row["status"], row["colour"])
    return out


EVALUATED_ITEMS: tuple[str, ...] = tuple(
    code for code, item in _load(DEFAULT_STANDARD).items.items() if item.evaluated
)
"""The 21 items of the 2011 method, in Table 1 order."""


def item_limits(standard: str = DEFAULT_STANDARD) -> Mapping[str, ItemLimits]:
    """All GB 3838-2002 Table 1 rows (基本项目标准限值) keyed by item code.

    Parameters
    ----------
    standard : str, default "GB3838-2002"
        Rule-set id.

    Returns
    -------
    mapping of str to ItemLimits
        ``ph, do, codmn, cod, bod5, nh3n, tp, tn, cu, zn, f, se, as, hg, cd, cr6, pb, cn, vp, oil,
        las, s2, fc``: kind (upper / lower / range), Class Ⅰ–Ⅴ limits [mg/L; pH unitless; fecal
        coliform 个/L] as written (``Decimal``), lake limits for TP.
    """
    return dict(_table(standard).items)


def _waterbody(value: WaterbodyType | str) -> WaterbodyType:
    try:
        return WaterbodyType(value)
    except ValueError:
        raise InvalidValueError(
            f"unknown waterbody {value!r}; expected 'river' or 'lake'"
        ) from None


def _checked(item: ItemLimits, value: object) -> Decimal | Fraction:
    number = non_negative_value(value, f"{item.code} ({item.name})")
    if item.code == "ph" and number > 14:
        raise InvalidValueError(f"ph: {value!r} is outside the pH scale 0–14")
    return number


def _item(table: _Table, code: str) -> ItemLimits:
    found = table.items.get(code)
    if found is None:
        known = ", ".join(table.items)
        raise UnknownItemError(f"unknown {table.standard} item {code!r}; known: {known}")
    return found


def item_class(
    code: str,
    value: Number,
    waterbody: WaterbodyType | str = WaterbodyType.RIVER,
    *,
    standard: str = DEFAULT_STANDARD,
) -> WaterClass:
    """Single-factor class of one item, GB 3838-2002 Table 1: the best class whose limit the
    value meets — ``C ≤ S`` (DO: ``C ≥ S``; pH 6–9 for every class); equal limits resolve to the
    better class (从优不从劣). Compared exactly.

    Parameters
    ----------
    code : str
        Item code (see :func:`item_limits`).
    value : int, float, Decimal or Fraction
        Concentration [mg/L; pH unitless; fecal coliform 个/L], exact (a float as its shortest
        text).
    waterbody : WaterbodyType or str, default "river"
        ``river`` or ``lake`` (湖、库: TP limits of lakes and reservoirs).
    standard : str, default "GB3838-2002"
        Rule-set id.

    Returns
    -------
    WaterClass
        Ⅰ … Ⅴ or 劣Ⅴ.

    Raises
    ------
    UnknownItemError
        For an unknown item.
    InvalidValueError
        For negative, non-numeric, NaN/inf values, pH outside 0–14, and TN of a river.
    """
    table = _table(standard)
    body = _waterbody(waterbody)
    item = _item(table, code)
    if item.lakes_only and body is WaterbodyType.RIVER:
        raise InvalidValueError(f"{code}: GB 3838 gives limits for lakes and reservoirs only")
    return item.classify(_checked(item, value), body)


@dataclass(frozen=True, slots=True)
class MainPollutant:
    code: str
    name: str
    water_class: WaterClass
    # Over Class Ⅲ, the nearest float of the exact multiple (for display); None for DO / pH.
    # Publish the exact one (``SectionAssessment.exceed_iii``) rounded once.
    multiple: float | None


@dataclass(frozen=True, slots=True)
class SampleAssessment:
    """Class of one sample (or of period means) by the single-factor method."""

    water_class: WaterClass | None  # None: no evaluated item had a value
    item_classes: Mapping[str, WaterClass]  # the items counted in the class
    reference_classes: Mapping[str, WaterClass]  # given but not counted (TN, fecal coliform)
    missing: tuple[str, ...]  # evaluated items without a value
    failing_items: tuple[str, ...]  # counted items worse than Class Ⅲ, Table 1 order

    @property
    def status(self) -> str | None:
        return None if self.water_class is None else self.water_class.status

    @property
    def colour(self) -> str | None:
        return None if self.water_class is None else self.water_class.colour

    @property
    def worst_items(self) -> tuple[str, ...]:
        """Items whose class is the sample's class (定类指标)."""
        return tuple(c for c, k in self.item_classes.items() if k == self.water_class)


def _counted_codes(table: _Table, body: WaterbodyType, include_tn: bool) -> set[str]:
    codes = {code for code, item in table.items.items() if item.evaluated}
    if include_tn and body is WaterbodyType.LAKE:
        codes.add("tn")
    return codes


def _checked_values(
    table: _Table, values: Mapping[str, Number | None]
) -> dict[str, Decimal | Fraction]:
    out: dict[str, Decimal | Fraction] = {}
    for code, value in values.items():
        item = _item(table, code)
        if value is None:
            continue
        out[code] = _checked(item, value)
    return out


def _assess(
    table: _Table,
    values: Mapping[str, Decimal | Fraction],
    body: WaterbodyType,
    include_tn: bool,
) -> SampleAssessment:
    counted = _counted_codes(table, body, include_tn)
    item_classes: dict[str, WaterClass] = {}
    reference: dict[str, WaterClass] = {}
    for code, item in table.items.items():  # Table 1 order
        if code not in values:
            continue
        if item.lakes_only and body is WaterbodyType.RIVER:
            continue  # river TN: no limit to compare with; reported, never classed
        cls = item.classify(values[code], body)
        (item_classes if code in counted else reference)[code] = cls
    worst = max(item_classes.values(), default=None)
    missing = tuple(c for c in table.items if c in counted and c not in values)
    failing = tuple(c for c, k in item_classes.items() if k > WaterClass.III)
    return SampleAssessment(
        water_class=worst,
        item_classes=item_classes,
        reference_classes=reference,
        missing=missing,
        failing_items=failing,
    )


def classify_sample(
    values: Mapping[str, Number | None],
    waterbody: WaterbodyType | str = WaterbodyType.RIVER,
    *,
    include_tn: bool = False,
    standard: str = DEFAULT_STANDARD,
    when: date | datetime | None = None,
) -> SampleAssessment:
    """Class of one sample by the single-factor method (2011 evaluation method, 环办〔2011〕22号):
    the worst class of the evaluated items present (21 items: Table 1 less water temperature, TN
    and fecal coliform; TN counted at lakes with ``include_tn``).

    Parameters
    ----------
    values : mapping of str to number or None
        Item code → concentration [mg/L; pH unitless; fecal coliform 个/L], exact; ``None`` is
        missing.
    waterbody : WaterbodyType or str, default "river"
        ``river`` or ``lake``.
    include_tn : bool, default False
        Count TN at lakes and reservoirs (the method evaluates it separately).
    standard : str, default "GB3838-2002"
        Rule-set id or ``auto`` (with ``when``).
    when : date or datetime, optional
        The sample's date, for ``auto``.

    Returns
    -------
    SampleAssessment
        Class (``None`` when no evaluated item has a value), item classes, reference items
        (TN, fecal coliform), missing items, items worse than Class Ⅲ.

    Raises
    ------
    UnknownItemError, InvalidValueError
        For unknown items and bad values.
    """
    table = _table(standard, when)
    body = _waterbody(waterbody)
    return _assess(table, _checked_values(table, values), body, include_tn)


def exceedance_multiple(
    code: str,
    value: Number,
    waterbody: WaterbodyType | str = WaterbodyType.RIVER,
    *,
    against: WaterClass = WaterClass.III,
    standard: str = DEFAULT_STANDARD,
) -> Fraction | None:
    """超标倍数 ``(C − S) / S``, S the limit of ``against`` (Class Ⅲ by default), exact.

    Parameters
    ----------
    code : str
        Item code.
    value : int, float, Decimal or Fraction
        Concentration C [mg/L], exact.
    waterbody : WaterbodyType or str, default "river"
        ``river`` or ``lake``.
    against : WaterClass, default WaterClass.III
        The class whose limit S is used (Ⅰ–Ⅴ).
    standard : str, default "GB3838-2002"
        Rule-set id.

    Returns
    -------
    Fraction or None
        0 when the value meets S; ``None`` for pH and DO (the 2011 method computes no multiple).

    Raises
    ------
    InvalidValueError
        For ``against`` 劣Ⅴ and bad values.
    """
    if against is WaterClass.WORSE_THAN_V:
        raise InvalidValueError("exceedance multiples need a class with a limit (Ⅰ–Ⅴ)")
    table = _table(standard)
    body = _waterbody(waterbody)
    item = _item(table, code)
    number = Fraction(_checked(item, value))
    if item.kind != "upper" or (item.lakes_only and body is WaterbodyType.RIVER):
        return None
    limit = item.limit(against, body)
    assert limit is not None
    s = Fraction(limit)
    return max(Fraction(0), (number - s) / s)


def _multiples(
    table: _Table,
    values: Mapping[str, Decimal | Fraction],
    body: WaterbodyType,
    against: WaterClass,
) -> dict[str, Fraction]:
    out: dict[str, Fraction] = {}
    for code, number in values.items():
        item = table.items[code]
        if item.kind != "upper" or (item.lakes_only and body is WaterbodyType.RIVER):
            continue
        limit = item.limit(against, body)
        assert limit is not None
        s = Fraction(limit)
        exact = Fraction(number)
        if exact > s:
            out[code] = (exact - s) / s
    return out


def _main_pollutants(
    table: _Table,
    assessment: SampleAssessment,
    values: Mapping[str, Decimal | Fraction],
    body: WaterbodyType,
    top: int,
) -> tuple[MainPollutant, ...]:
    multiples = _multiples(table, values, body, WaterClass.III)
    order = {code: index for index, code in enumerate(table.items)}

    def key(code: str) -> tuple[int, int, int, Fraction, int]:
        item = table.items[code]
        multiple = multiples.get(code)  # DO / pH (no multiple) rank after items with one
        return (
            0 if item.priority else 1,
            -assessment.item_classes[code],
            0 if multiple is not None else 1,
            -(multiple or Fraction(0)),
            order[code],
        )

    ranked = sorted(assessment.failing_items, key=key)[:top]
    return tuple(
        MainPollutant(
            code=code,
            name=table.items[code].name,
            water_class=assessment.item_classes[code],
            multiple=None if code not in multiples else float(multiples[code]),
        )
        for code in ranked
    )


def main_pollutants(
    values: Mapping[str, Number | None],
    waterbody: WaterbodyType | str = WaterbodyType.RIVER,
    *,
    top: int = 3,
    include_tn: bool = False,
    standard: str = DEFAULT_STANDARD,
) -> tuple[MainPollutant, ...]:
    """主要污染指标 of a sample or of period means (2011 method): items worse than Class Ⅲ;
    exceeding cyanide and heavy metals first ("当氰化物或铅、铬等重金属超标时，优先作为主要污染
    指标"), then worse class first, then larger exceedance multiple over Ⅲ; DO and pH (no multiple)
    after items with one; ties in Table 1 order.

    Parameters
    ----------
    values : mapping of str to number or None
        Item code → concentration [mg/L], exact.
    waterbody : WaterbodyType or str, default "river"
        ``river`` or ``lake``.
    top : int, default 3
        How many to name.
    include_tn : bool, default False
        Count TN at lakes.
    standard : str, default "GB3838-2002"
        Rule-set id.

    Returns
    -------
    tuple of MainPollutant
        Empty when the class is Ⅲ or better.
    """
    table = _table(standard)
    body = _waterbody(waterbody)
    checked = _checked_values(table, values)
    assessment = _assess(table, checked, body, include_tn)
    return _main_pollutants(table, assessment, checked, body, top)


@dataclass(frozen=True, slots=True)
class SectionAssessment:
    """A monitoring section over a period: means, class, exceedances, main pollutants.

    Means and multiples are exact fractions; round them once to publish them."""

    means: Mapping[str, Fraction]
    sample_counts: Mapping[str, int]
    assessment: SampleAssessment
    exceed_iii: Mapping[str, Fraction]  # item → multiple over Class Ⅲ (exceeding items only)
    target_class: WaterClass | None
    exceed_target: Mapping[str, Fraction]  # item → multiple over the target class
    main_pollutants: tuple[MainPollutant, ...]

    @property
    def water_class(self) -> WaterClass | None:
        return self.assessment.water_class

    @property
    def status(self) -> str | None:
        return self.assessment.status

    @property
    def meets_target(self) -> bool | None:
        """达标: class no worse than the target (None without a target or a class)."""
        if self.target_class is None or self.water_class is None:
            return None
        return self.water_class <= self.target_class


def _means(
    table: _Table, samples: Iterable[Mapping[str, Number | None]]
) -> tuple[dict[str, Fraction], dict[str, int]]:
    """Exact arithmetic mean of each item over the samples that have it."""
    values: dict[str, list[Decimal | Fraction]] = {}
    for sample in samples:
        for code, number in _checked_values(table, sample).items():
            values.setdefault(code, []).append(number)
    return (
        {code: exact_mean(v) for code, v in values.items()},
        {code: len(v) for code, v in values.items()},
    )


def section_assessment(
    samples: Sequence[Mapping[str, Number | None]],
    waterbody: WaterbodyType | str = WaterbodyType.RIVER,
    *,
    target_class: WaterClass | None = None,
    include_tn: bool = False,
    standard: str = DEFAULT_STANDARD,
    when: date | datetime | None = None,
) -> SectionAssessment:
    """A section over a period (2011 method): the arithmetic mean of each item over the samples
    that have it (missing values skipped, never taken as zero), then the single-factor class of
    the means, exceedance multiples over Class Ⅲ and over ``target_class``, main pollutants::

        C̄ = Σ Cᵢ / n   (exact; TP 0.1, 0.2, 0.3 mg/L → 0.2 → Ⅲ)

    Parameters
    ----------
    samples : sequence of mapping of str to number or None
        The period's samples: item code → concentration [mg/L], exact.
    waterbody : WaterbodyType or str, default "river"
        ``river`` or ``lake``.
    target_class : WaterClass, optional
        The section's target (Ⅰ–Ⅴ), for 达标 and the multiples over it.
    include_tn : bool, default False
        Count TN at lakes.
    standard : str, default "GB3838-2002"
        Rule-set id or ``auto`` (with ``when``).
    when : date or datetime, optional
        The period's date, for ``auto``.

    Returns
    -------
    SectionAssessment
        Exact means and multiples (``Fraction``), sample counts, the assessment of the means,
        main pollutants; ``meets_target``.
    """
    table = _table(standard, when)
    body = _waterbody(waterbody)
    if target_class is WaterClass.WORSE_THAN_V:
        raise InvalidValueError("a target class must be one of Ⅰ–Ⅴ")
    means, counts = _means(table, samples)
    assessment = _assess(table, means, body, include_tn)
    counted = set(assessment.item_classes)
    counted_means = {c: v for c, v in means.items() if c in counted}
    exceed_target = (
        _multiples(table, counted_means, body, target_class) if target_class is not None else {}
    )
    return SectionAssessment(
        means=means,
        sample_counts=counts,
        assessment=assessment,
        exceed_iii=_multiples(table, counted_means, body, WaterClass.III),
        target_class=target_class,
        exceed_target=exceed_target,
        main_pollutants=_main_pollutants(table, assessment, means, body, 3),
    )


@dataclass(frozen=True, slots=True)
class ClassShares:
    """Counts and shares of sections by class (sections without a class are excluded)."""

    counts: Mapping[WaterClass, int]
    n_classed: int
    n_missing: int
    share_good: Fraction | None  # Ⅰ–Ⅲ类 (优良) share, exact; None when no section has a class
    share_worse_than_v: Fraction | None  # 劣Ⅴ类 share

    @property
    def share_by_class(self) -> dict[WaterClass, Fraction]:
        if self.n_classed == 0:
            return {}
        return {cls: Fraction(self.counts.get(cls, 0), self.n_classed) for cls in WaterClass}


def class_shares(classes: Iterable[WaterClass | None]) -> ClassShares:
    """Shares of sections Ⅰ–Ⅲ and 劣Ⅴ in a set (Ⅲ类以上断面比例, 劣Ⅴ类断面比例)::

        share = sections in the group / sections with a class

    Parameters
    ----------
    classes : iterable of WaterClass or None
        One class per section; ``None`` (no data) is counted in ``n_missing``, not in the
        denominator.

    Returns
    -------
    ClassShares
        Counts by class and the exact shares (0–1; ``None`` when no section has a class).
    """
    counts: dict[WaterClass, int] = {}
    missing = 0
    for cls in classes:
        if cls is None:
            missing += 1
            continue
        counts[cls] = counts.get(cls, 0) + 1
    n = sum(counts.values())
    good = sum(k for c, k in counts.items() if c <= WaterClass.III)
    worse = counts.get(WaterClass.WORSE_THAN_V, 0)
    return ClassShares(
        counts=counts,
        n_classed=n,
        n_missing=missing,
        share_good=Fraction(good, n) if n else None,
        share_worse_than_v=Fraction(worse, n) if n else None,
    )


def status_from_shares(
    share_good: Number, share_worse_than_v: Number, *, standard: str = DEFAULT_STANDARD
) -> tuple[str, str]:
    """River/basin (水系) status and colour from the shares of sections Ⅰ–Ⅲ and 劣Ⅴ, per the
    2011 method's table (thresholds in ``data/gb3838-2002.toml``), compared exactly: 优 Ⅰ–Ⅲ ≥ 90 %,
    良好 ≥ 75 %, 轻度 劣Ⅴ < 20 %, 中度 劣Ⅴ < 40 %, else 重度.

    Parameters
    ----------
    share_good : number
        Share of sections Ⅰ–Ⅲ, 0–1.
    share_worse_than_v : number
        Share of sections 劣Ⅴ, 0–1.
    standard : str, default "GB3838-2002"
        Rule-set id.

    Returns
    -------
    tuple of (str, str)
        Status (优 … 重度污染) and colour (蓝色 … 红色).

    Raises
    ------
    InvalidValueError
        For shares outside 0–1 or adding up to more than 1.
    """
    good = non_negative(share_good, "share_good")
    worse = non_negative(share_worse_than_v, "share_worse_than_v")
    for name, number in (("share_good", good), ("share_worse_than_v", worse)):
        if number > 1:
            raise InvalidValueError(f"{name}: a share must be within 0–1, got {float(number)!r}")
    if good + worse > 1:
        raise InvalidValueError("shares of Ⅰ–Ⅲ and 劣Ⅴ sections add up to more than 1")
    for row in _table(standard).basin_rows:
        if "min_good" in row and good >= exact_number(row["min_good"], "min_good"):
            return row["status"], row["colour"]
        if "max_worse_v" in row and worse < exact_number(row["max_worse_v"], "max_worse_v"):
            return row["status"], row["colour"]
        if "min_good" not in row and "max_worse_v" not in row:
            return row["status"], row["colour"]
    raise AssertionError("the basin status table has no catch-all row")


@dataclass(frozen=True, slots=True)
class BasinAssessment:
    method: str  # "mean" (< 5 sections) or "shares"
    status: str | None
    colour: str | None
    n_sections: int
    water_class: WaterClass | None = None  # "mean" method only
    shares: ClassShares | None = None  # "shares" method only
    section_classes: tuple[WaterClass | None, ...] = field(default=())


def basin_assessment(
    sections: Sequence[Mapping[str, Number | None]],
    waterbody: WaterbodyType | str = WaterbodyType.RIVER,
    *,
    standard: str = DEFAULT_STANDARD,
) -> BasinAssessment:
    """Status of a river or basin (水系) from its sections' period means, or of one lake or
    reservoir from its points (2011 method): fewer than 5 sections (or a lake) → the mean of each
    item over them, classified as one section; otherwise by the shares of sections Ⅰ–Ⅲ and 劣Ⅴ
    (:func:`status_from_shares`).

    Parameters
    ----------
    sections : sequence of mapping of str to number or None
        Per section (or point): item code → period-mean concentration [mg/L], exact.
    waterbody : WaterbodyType or str, default "river"
        ``river`` or ``lake``.
    standard : str, default "GB3838-2002"
        Rule-set id.

    Returns
    -------
    BasinAssessment
        Method (``mean`` / ``shares``), status, colour, and the class or the shares.

    Raises
    ------
    InvalidValueError
        For no section.
    """
    table = _table(standard)
    body = _waterbody(waterbody)
    if not sections:
        raise InvalidValueError("a river or basin needs at least one section")
    checked = [_checked_values(table, s) for s in sections]
    classes = tuple(_assess(table, s, body, False).water_class for s in checked)
    if body is WaterbodyType.LAKE or len(sections) < table.min_sections_for_shares:
        means, _ = _means(table, checked)
        cls = _assess(table, means, body, False).water_class
        return BasinAssessment(
            method="mean",
            status=None if cls is None else cls.status,
            colour=None if cls is None else cls.colour,
            n_sections=len(sections),
            water_class=cls,
            section_classes=classes,
        )
    shares = class_shares(classes)
    if shares.share_good is None or shares.share_worse_than_v is None:
        return BasinAssessment("shares", None, None, len(sections), None, shares, classes)
    status, colour = status_from_shares(shares.share_good, shares.share_worse_than_v)
    return BasinAssessment("shares", status, colour, len(sections), None, shares, classes)
