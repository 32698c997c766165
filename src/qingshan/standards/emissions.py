"""Pollution-source emissions: reference-O2 conversion, exceedances, amounts, data rates.

References
----------
- Reference oxygen contents of the industry standards (GB 13271-2014, GB 13223-2011,
  GB 4915-2013, GB 29620-2013, GB 18485-2014, GB 28662-2012, GB 26453-2011) in
  ``data/emissions.toml``, each with its standard and a ``verified`` flag.
- HJ 75-2017 固定污染源烟气(SO2、NOx、颗粒物)排放连续监测技术规范; HJ 355-2019 / HJ 356-2019
  水污染源在线监测系统运行 / 数据有效性判别技术规范; HJ 212 (``-Cou`` fields).

Formulas
--------
- 折算 (conversion to the reference O2 of the standard)::

      C_ref = C_meas × (21 − O2_ref) / (21 − O2_meas)

  C in mg/m³ (dry, standard state), O2 in % by volume (dry). ``O2_meas`` must be below 21.
- Exceedance (超标) of an outlet: an averaging-period value (hourly mean for flue gas, daily
  mean for waste water by default; see the data file) strictly above the limit; multiple
  (C − S) / S. A value equal to the limit complies.
- Emission amount: gas ``kg = C [mg/m³] × Q [m³] × 1e-6``; water ``kg = C [mg/L] × Q [m³]
  × 1e-3``; from HJ 212 ``-Cou`` values (the per-interval amount the analyser reports), the
  sum of the reported values, missing intervals counted and never taken as zero.
- Data rates: 传输率 = 实际传输 / 应传输; 有效率 = 有效 / 实际传输; 有效传输率 = 传输率 ×
  有效率 (= 有效 / 应传输).

Every result is exact (:class:`~fractions.Fraction`; a float input stands for its shortest
decimal text): 28.0 mg/m³ at 9.8 % O2 with a 9 % reference is exactly 28 × 12 / 11.2 = 30, which
complies with a limit of 30. Round once, with :func:`qingshan.standards.rounding.round_half_even`,
where a number is published (docs/standards/arithmetic.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
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
)

__all__ = [
    "CouTotal",
    "Exceedance",
    "InvalidValueError",
    "Medium",
    "OutletCheck",
    "ReferenceO2",
    "TransmissionRates",
    "UnknownItemError",
    "check_outlet",
    "count_valid",
    "emission_mass",
    "exceedance_basis",
    "expected_records",
    "reference_o2",
    "reference_o2_table",
    "to_reference_o2",
    "total_from_cou",
    "transmission_rates",
]


class Medium(StrEnum):
    GAS = "gas"
    WATER = "water"


@dataclass(frozen=True, slots=True)
class ReferenceO2:
    id: str
    standard: str
    title: str
    facility: str
    o2_ref: Decimal  # % by volume, as the standard writes it
    verified: bool
    note: str = ""


@cache
def _raw() -> dict[str, Any]:
    return load_toml("emissions.toml")


def reference_o2_table() -> Mapping[str, ReferenceO2]:
    """Reference O2 contents by id (``boiler-coal``, ``power-gas-turbine`` …)."""
    return {
        row["id"]: ReferenceO2(
            id=row["id"],
            standard=row["standard"],
            title=row["title"],
            facility=row["facility"],
            o2_ref=limit_value(row["o2_ref"]),
            verified=bool(row["verified"]),
            note=row.get("note", ""),
        )
        for row in _raw()["reference_o2"]
    }


def reference_o2(facility_id: str) -> ReferenceO2:
    table = reference_o2_table()
    found = table.get(facility_id)
    if found is None:
        raise UnknownItemError(
            f"no reference O2 for {facility_id!r}; known: {', '.join(sorted(table))}"
        )
    return found


def _o2(value: object, what: str) -> Fraction:
    number = exact_number(value, what)
    if not 0 <= number < 21:
        raise InvalidValueError(f"{what}: O2 {value!r} % must be within 0 ≤ O2 < 21")
    return number


def to_reference_o2(measured: Number, o2_measured: Number, o2_reference: Number | str) -> Fraction:
    """折算浓度 ``C_ref = C_meas × (21 − O2_ref) / (21 − O2_meas)``, exact.

    ``o2_reference`` is a percentage or an id of :func:`reference_o2_table` (e.g.
    ``"boiler-coal"`` → 9 %). Negative concentrations and O2 outside 0 ≤ O2 < 21 raise
    :class:`InvalidValueError`. ``to_reference_o2(28.0, 9.8, "boiler-coal") == 30``.
    """
    concentration = non_negative(measured, "measured concentration")
    o2_meas = _o2(o2_measured, "measured O2")
    if isinstance(o2_reference, str):
        o2_ref = Fraction(reference_o2(o2_reference).o2_ref)
    else:
        o2_ref = _o2(o2_reference, "reference O2")
    return concentration * (21 - o2_ref) / (21 - o2_meas)


def exceedance_basis(medium: Medium | str) -> str:
    """The averaging period exceedances are judged on: ``"hour"`` (gas) or ``"day"`` (water)."""
    key = Medium(medium)
    for row in _raw()["exceedance_basis"]:
        if row["medium"] == key.value:
            return str(row["period"])
    raise UnknownItemError(f"no exceedance basis for {medium!r}")


@dataclass(frozen=True, slots=True)
class Exceedance:
    when: datetime
    value: Fraction  # exact
    limit: Fraction

    @property
    def multiple(self) -> Fraction:
        """超标倍数 (C − S) / S, exact."""
        return (self.value - self.limit) / self.limit


@dataclass(frozen=True, slots=True)
class OutletCheck:
    pollutant: str
    limit: Fraction
    exceedances: tuple[Exceedance, ...]
    n_values: int
    n_missing: int

    @property
    def complies(self) -> bool | None:
        """True when no value exceeds; None when there is no value at all."""
        if self.n_values == 0:
            return None
        return not self.exceedances


def check_outlet(
    series: Mapping[str, Sequence[tuple[datetime, Number | None]]],
    limits: Mapping[str, Number],
) -> dict[str, OutletCheck]:
    """Exceedances of an outlet's limits (超标判定).

    ``series`` maps a pollutant to its averaging-period values (hourly means, already
    converted to the reference O2 where the standard requires it); ``limits`` maps the same
    pollutants to their limits in the same unit. A value above the limit (compared exactly) is an
    exceedance;
    ``None`` values are missing (counted, never compared). A pollutant with values but no
    limit raises :class:`UnknownItemError`.
    """
    out: dict[str, OutletCheck] = {}
    for pollutant, values in series.items():
        if pollutant not in limits:
            raise UnknownItemError(f"no limit given for pollutant {pollutant!r}")
        limit = exact_number(limits[pollutant], f"{pollutant}: limit")
        if limit <= 0:
            raise InvalidValueError(
                f"{pollutant}: limit must be positive, got {limits[pollutant]!r}"
            )
        found: list[Exceedance] = []
        n_values = n_missing = 0
        for when, value in values:
            if value is None:
                n_missing += 1
                continue
            number = non_negative(value, f"{pollutant} at {when.isoformat()}")
            n_values += 1
            if number > limit:
                found.append(Exceedance(when, number, limit))
        out[pollutant] = OutletCheck(pollutant, limit, tuple(found), n_values, n_missing)
    return out


_MASS_FACTOR = {Medium.GAS: Fraction(1, 10**6), Medium.WATER: Fraction(1, 10**3)}


def emission_mass(
    concentration: Number, flow: Number, medium: Medium | str = Medium.GAS
) -> Fraction:
    """Emission amount in kg, exact: gas ``C [mg/m³] × Q [m³] × 1e-6``; water ``C [mg/L] ×
    Q [m³] × 1e-3`` (1 mg/L = 1 g/m³)."""
    try:
        key = Medium(medium)
    except ValueError:
        raise InvalidValueError(f"unknown medium {medium!r}; expected 'gas' or 'water'") from None
    c = non_negative(concentration, "concentration")
    q = non_negative(flow, "flow")
    return c * q * _MASS_FACTOR[key]


@dataclass(frozen=True, slots=True)
class CouTotal:
    total: Fraction  # exact
    n_values: int
    n_missing: int


def total_from_cou(values: Iterable[Number | None]) -> CouTotal:
    """Sum of HJ 212 ``-Cou`` values (per-interval emission amounts) over a period.

    Missing intervals (``None``) are counted in ``n_missing`` and not filled in: a total with
    ``n_missing > 0`` is a lower bound, which the caller must report as such.
    """
    total = Fraction(0)
    n = missing = 0
    for index, value in enumerate(values):
        if value is None:
            missing += 1
            continue
        total += non_negative(value, f"Cou value #{index + 1}")
        n += 1
    return CouTotal(total, n, missing)


@dataclass(frozen=True, slots=True)
class TransmissionRates:
    expected: int
    received: int
    valid: int

    @property
    def transmission_rate(self) -> Fraction:
        """传输率 = 实际传输数据数 / 应传输数据数 (exact share 0–1)."""
        return Fraction(self.received, self.expected)

    @property
    def validity_rate(self) -> Fraction | None:
        """有效率 = 有效数据数 / 实际传输数据数 (None when nothing was received)."""
        return Fraction(self.valid, self.received) if self.received else None

    @property
    def effective_transmission_rate(self) -> Fraction:
        """有效传输率 = 传输率 × 有效率 (= 有效 / 应传输)."""
        return Fraction(self.valid, self.expected)

    def meets(self, target: Number | None = None) -> bool:
        """有效传输率 ≥ target (default 75 %, 崆峒区's plan), compared exactly."""
        goal = _raw()["rates"]["target_effective_transmission"] if target is None else target
        return self.effective_transmission_rate >= exact_number(goal, "target")


def _count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValueError(f"{what}: expected a whole number of records, got {value!r}")
    if value < 0:
        raise InvalidValueError(f"{what}: negative count {value!r}")
    return value


def transmission_rates(expected: int, received: int, valid: int) -> TransmissionRates:
    """传输率, 有效率 and 有效传输率 from record counts over a period.

    Requires ``valid <= received <= expected`` and ``expected > 0``: duplicates must be
    removed before counting, or the transmission rate would exceed 100 %.
    """
    e = _count(expected, "expected")
    r = _count(received, "received")
    v = _count(valid, "valid")
    if e == 0:
        raise InvalidValueError("expected: no records were due in the period")
    if r > e:
        raise InvalidValueError(f"received {r} > expected {e}: remove duplicate records first")
    if v > r:
        raise InvalidValueError(f"valid {v} > received {r}")
    return TransmissionRates(e, r, v)


def expected_records(start: datetime, end: datetime, interval: timedelta) -> int:
    """应传输数据数: records due in ``[start, end)`` at one per ``interval`` (e.g. hourly)."""
    if interval <= timedelta(0):
        raise InvalidValueError("interval must be positive")
    if end < start:
        raise InvalidValueError("end is before start")
    span = end - start
    count, remainder = divmod(span, interval)
    return int(count) + (1 if remainder else 0)


def count_valid(flags: Iterable[str], valid_flags: Iterable[str] | None = None) -> int:
    """Number of records whose HJ 212 data flag counts as valid (default: ``N``, normal)."""
    accepted = set(_raw()["rates"]["default_valid_flags"] if valid_flags is None else valid_flags)
    return sum(1 for flag in flags if flag.strip() in accepted)
