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
    """Reference oxygen contents of the industry emission standards (``data/emissions.toml``).

    Returns
    -------
    mapping of str to ReferenceO2
        Id (``boiler-coal``, ``power-gas-turbine`` …) → standard, facility, O2_ref [% by volume,
        dry] and whether it was checked against the standard's text (all ``verified = false``).
    """
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
    """One reference oxygen content by id.

    Parameters
    ----------
    facility_id : str
        E.g. ``boiler-coal`` (GB 13271-2014, 9 %).

    Returns
    -------
    ReferenceO2

    Raises
    ------
    UnknownItemError
        For an unknown id (the message lists the known ones).
    """
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
    """折算浓度 (conversion to the reference O2 content of the standard)::

        C_ref = C_meas × (21 − O2_ref) / (21 − O2_meas)

    exact: 28.0 mg/m³ at 9.8 % with a 9 % reference is 28 × 12 / 11.2 = 30.

    Parameters
    ----------
    measured : int, float, Decimal or Fraction
        Measured concentration C_meas [mg/m³], dry, standard state; ≥ 0.
    o2_measured : int, float, Decimal or Fraction
        Measured O2 [% by volume, dry]; 0 ≤ O2 < 21.
    o2_reference : number or str
        O2_ref [%], or an id of :func:`reference_o2_table` (``"boiler-coal"`` → 9 %).

    Returns
    -------
    Fraction
        C_ref [mg/m³], exact (round it once to publish it).

    Raises
    ------
    InvalidValueError
        For a negative concentration or O2 outside 0 ≤ O2 < 21.
    """
    concentration = non_negative(measured, "measured concentration")
    o2_meas = _o2(o2_measured, "measured O2")
    if isinstance(o2_reference, str):
        o2_ref = Fraction(reference_o2(o2_reference).o2_ref)
    else:
        o2_ref = _o2(o2_reference, "reference O2")
    return concentration * (21 - o2_ref) / (21 - o2_meas)


def exceedance_basis(medium: Medium | str) -> str:
    """The averaging period exceedances are judged on (HJ 75-2017 for flue gas, HJ 355/356-2019
    for waste water; both unverified in the data file).

    Parameters
    ----------
    medium : Medium or str
        ``gas`` or ``water``.

    Returns
    -------
    str
        ``"hour"`` (gas) or ``"day"`` (water).
    """
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
    """Exceedances of an outlet's limits (超标判定): each averaging-period value strictly above
    its limit (compared exactly; equal complies), with multiple ``(C − S) / S``.

    Parameters
    ----------
    series : mapping of str to sequence of (datetime, number or None)
        Pollutant → averaging-period values (hourly means for flue gas, already converted to the
        reference O2 where the standard requires it) [mg/m³ or mg/L]; ``None`` is missing
        (counted, never compared).
    limits : mapping of str to number
        Pollutant → limit in the same unit, > 0.

    Returns
    -------
    dict of str to OutletCheck
        Per pollutant: exceedances (exact values and multiples), counts, ``complies``.

    Raises
    ------
    UnknownItemError
        For a pollutant with values but no limit.
    InvalidValueError
        For non-positive limits and bad values.
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
    """Emission amount, exact::

        gas:   m [kg] = C [mg/m³] × Q [m³] × 10⁻⁶
        water: m [kg] = C [mg/L] × Q [m³] × 10⁻³   (1 mg/L = 1 g/m³)

    Parameters
    ----------
    concentration : number
        C [mg/m³ or mg/L], ≥ 0.
    flow : number
        Volume Q [m³], ≥ 0.
    medium : Medium or str, default "gas"
        ``gas`` or ``water``.

    Returns
    -------
    Fraction
        The amount [kg].
    """
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
    """Sum of HJ 212 ``-Cou`` values (per-interval emission amounts) over a period, exact.
    Missing intervals are counted in ``n_missing`` and not filled in: a total with
    ``n_missing > 0`` is a lower bound, which the caller must report as such.

    Parameters
    ----------
    values : iterable of number or None
        The intervals' amounts (unit as sent, e.g. kg or m³); ``None`` is missing.

    Returns
    -------
    CouTotal
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
        """有效传输率 ≥ target, compared exactly.

        Parameters
        ----------
        target : number, optional
            Share 0–1 (default 0.75, 崆峒区's plan, ``data/emissions.toml``).

        Returns
        -------
        bool
        """
        goal = _raw()["rates"]["target_effective_transmission"] if target is None else target
        return self.effective_transmission_rate >= exact_number(goal, "target")


def _count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValueError(f"{what}: expected a whole number of records, got {value!r}")
    if value < 0:
        raise InvalidValueError(f"{what}: negative count {value!r}")
    return value


def transmission_rates(expected: int, received: int, valid: int) -> TransmissionRates:
    """传输率, 有效率 and 有效传输率 from record counts over a period::

        传输率 = 实际传输 / 应传输;  有效率 = 有效 / 实际传输;  有效传输率 = 传输率 × 有效率

    Parameters
    ----------
    expected : int
        Records due (应传输数据数), > 0.
    received : int
        Records received, duplicates removed (实际传输数据数), ≤ expected.
    valid : int
        Valid records (有效数据数), ≤ received.

    Returns
    -------
    TransmissionRates
        The counts and the exact rates (0–1).

    Raises
    ------
    InvalidValueError
        For non-integer or impossible counts.
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
    """应传输数据数: records due in ``[start, end)`` at one per ``interval``.

    Parameters
    ----------
    start, end : datetime
        The period (end exclusive).
    interval : timedelta
        The recording interval (e.g. one hour), > 0.

    Returns
    -------
    int
    """
    if interval <= timedelta(0):
        raise InvalidValueError("interval must be positive")
    if end < start:
        raise InvalidValueError("end is before start")
    span = end - start
    count, remainder = divmod(span, interval)
    return int(count) + (1 if remainder else 0)


def count_valid(flags: Iterable[str], valid_flags: Iterable[str] | None = None) -> int:
    """Number of records whose HJ 212 data flag counts as valid.

    Parameters
    ----------
    flags : iterable of str
        HJ 212 ``-Flag`` values.
    valid_flags : iterable of str, optional
        Flags counted as valid (default ``N``, normal).

    Returns
    -------
    int
    """
    accepted = set(_raw()["rates"]["default_valid_flags"] if valid_flags is None else valid_flags)
    return sum(1 for flag in flags if flag.strip() in accepted)
