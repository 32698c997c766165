"""Online-monitoring supervision of pollution sources: the flag policy, data rates, 折算
exceedance judgement, exceedance episodes and interval emission amounts.

References
----------
- HJ 212-2017 data flags N 正常, F 停运, M 维护, S 手工输入, D 故障, C 校准, T 超测上限,
  B 通讯异常; flow units a00000 m³/s, w00000 L/s.
- HJ 75-2017 (flue-gas CEMS), HJ 355-2019 / HJ 356-2019 (water-pollution-source automatic
  monitoring): which records are valid, averaging periods. The policy is the data file
  ``data/supervision.toml``; every row is ``verified = false`` (not read from the standards'
  text in this project), see ``docs/standards/supervision.md``.
- 有效传输率考核 practice: 传输率 × 有效率, see :mod:`qingshan.standards.emissions`.

Formulas
--------
- Over the periods (hours) ``P`` of ``[start, min(end, cutoff))`` whose whole hour has closed:
  ``应传输 = |P| − #F``; ``实际传输 = #records with a received flag``; ``有效 = #received
  records with a valid flag and a finite value``; 传输率 = 实际传输 / 应传输, 有效率 = 有效 /
  实际传输, 有效传输率 = 传输率 × 有效率 = 有效 / 应传输 (exact fractions; ``None`` when
  nothing is due, e.g. a plant stopped all period: 不考核).
- Compared value (折算): the device's converted value (ZsAvg) when sent, else
  ``C × (21 − O₂ref) / (21 − O₂)`` with the hour's measured O₂ (0 ≤ O₂ < 21), else the measured
  value; without a reference O₂ the measured value. Exceedance: compared value strictly above the
  upper limit, or below the lower limit (pH). Only records whose flag is ``judged`` are compared.
- Daily mean (water): arithmetic mean of the day's valid hourly values, at least
  ``min_valid_hours`` of them.
- Episode: a maximal run of consecutive exceeding periods of one pollutant (one condition, one
  episode): start, end (exclusive), peak and its time, duration = periods × period length.
- Interval amount: gas ``kg = C [mg/m³] × Q [m³/s] × s × 10⁻⁶``; water ``kg = C [mg/L] × Q
  [L/s] × s × 10⁻⁶``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Context, Decimal, Inexact, InvalidOperation, Overflow, Underflow
from fractions import Fraction
from functools import cache
from typing import Any

from qingshan.standards._checks import (
    InvalidValueError,
    Number,
    UnknownItemError,
    exact_number,
    load_toml,
    non_negative,
)
from qingshan.standards.emissions import Medium, to_reference_o2

__all__ = [
    "DayValue",
    "Episode",
    "FlagRule",
    "InvalidValueError",
    "Judgement",
    "RateCounts",
    "Record",
    "UnknownItemError",
    "compared_value",
    "count_rates",
    "daily_means",
    "episodes",
    "exact_sum_products",
    "exceeds",
    "expected_periods",
    "flag_policy",
    "flag_rule",
    "interval_mass",
    "judge",
    "min_valid_hours",
    "projected_year_end",
]

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class FlagRule:
    flag: str
    name: str
    expected: bool
    received: bool
    valid: bool
    judged: bool
    note: str
    verified: bool


@cache
def _raw() -> dict[str, Any]:
    return load_toml("supervision.toml")


@cache
def flag_policy() -> Mapping[str, FlagRule]:
    """The flag policy (``data/supervision.toml``): flag → how it counts.

    Returns
    -------
    mapping of str to FlagRule
        ``N F M C D T S B``; see the data file for the sources (all unverified).
    """
    return {
        flag: FlagRule(
            flag=flag,
            name=str(row["name"]),
            expected=bool(row["expected"]),
            received=bool(row["received"]),
            valid=bool(row["valid"]),
            judged=bool(row["judged"]),
            note=str(row["note"]),
            verified=bool(row["verified"]),
        )
        for flag, row in _raw()["flags"].items()
    }


@cache
def flag_rule(flag: str | None) -> FlagRule:
    """The rule of one HJ 212 flag; an absent flag is N (the field is optional in HJ 212).

    Raises
    ------
    UnknownItemError
        For a flag outside the policy.
    """
    key = "N" if flag is None or not flag.strip() else flag.strip()
    rule = flag_policy().get(key)
    if rule is None:
        raise UnknownItemError(
            f"unknown HJ 212 data flag {flag!r}; known: {' '.join(flag_policy())}"
        )
    return rule


def min_valid_hours() -> int:
    """Valid hourly values a daily mean needs (``[daily] min_valid_hours``)."""
    return int(_raw()["daily"]["min_valid_hours"])


@dataclass(frozen=True, slots=True)
class Record:
    """One period's stored record of one pollutant: its flag and its exact value (None when
    absent or not a finite number)."""

    when: datetime
    flag: str | None
    value: Decimal | Fraction | None = None
    converted: Decimal | Fraction | None = None  # ZsAvg when the device sent one


def expected_periods(
    start: datetime, end: datetime, cutoff: datetime, step: timedelta = HOUR
) -> list[datetime]:
    """Period labels (start times) due in ``[start, end)`` whose whole period has closed by
    ``cutoff`` (the data cut-off: the current month counts only what is already due).

    Parameters
    ----------
    start, end : datetime
        The period range, ``start`` aligned to ``step`` by the caller; end exclusive.
    cutoff : datetime
        The data cut-off, same clock as ``start`` (a period ``t`` is due when ``t + step ≤
        cutoff``).
    step : timedelta
        Period length (one hour).

    Returns
    -------
    list of datetime
    """
    if step <= timedelta(0):
        raise InvalidValueError("step must be positive")
    if end < start:
        raise InvalidValueError(f"end {end} is before start {start}")
    out = []
    t = start
    while t + step <= end and t + step <= cutoff:
        out.append(t)
        t += step
    return out


@dataclass(frozen=True, slots=True)
class RateCounts:
    """Record counts of a period; rates are exact, ``None`` when nothing was due."""

    due: int = 0  # periods in the range before excluding F
    expected: int = 0
    received: int = 0
    valid: int = 0
    by_flag: Mapping[str, int] = field(default_factory=dict)  # received / F records per flag
    missing: int = 0

    def __add__(self, other: RateCounts) -> RateCounts:
        flags = dict(self.by_flag)
        for k, v in other.by_flag.items():
            flags[k] = flags.get(k, 0) + v
        return RateCounts(
            self.due + other.due,
            self.expected + other.expected,
            self.received + other.received,
            self.valid + other.valid,
            flags,
            self.missing + other.missing,
        )

    @property
    def transmission_rate(self) -> Fraction | None:
        """传输率 = 实际传输 / 应传输."""
        return Fraction(self.received, self.expected) if self.expected else None

    @property
    def validity_rate(self) -> Fraction | None:
        """有效率 = 有效 / 实际传输 (None when nothing was received)."""
        return Fraction(self.valid, self.received) if self.received else None

    @property
    def effective_transmission_rate(self) -> Fraction | None:
        """有效传输率 = 传输率 × 有效率 = 有效 / 应传输."""
        return Fraction(self.valid, self.expected) if self.expected else None


def count_rates(periods: Sequence[datetime], records: Mapping[datetime, Record]) -> RateCounts:
    """Counts of one pollutant's records over the due ``periods`` under the flag policy.

    Parameters
    ----------
    periods : sequence of datetime
        Due period labels (:func:`expected_periods`).
    records : mapping of datetime to Record
        The stored records by period label (others are ignored).

    Returns
    -------
    RateCounts
        F periods are not expected; missing periods are expected and not received; received
        records are valid when their flag is valid and their value present.
    """
    expected = received = valid = missing = 0
    by_flag: dict[str, int] = {}
    for t in periods:
        rec = records.get(t)
        if rec is None:
            expected += 1
            missing += 1
            continue
        rule = flag_rule(rec.flag)
        by_flag[rule.flag] = by_flag.get(rule.flag, 0) + 1
        if rule.expected:
            expected += 1
        if rule.received:
            received += 1
            if rule.valid and rec.value is not None:
                valid += 1
    return RateCounts(len(periods), expected, received, valid, by_flag, missing)


def compared_value(
    measured: Number,
    *,
    converted: Number | None = None,
    o2: Number | None = None,
    o2_ref: Number | None = None,
) -> Fraction:
    """The value compared with a limit (module docstring, "Compared value").

    Parameters
    ----------
    measured : number
        Measured mean [mg/m³ or mg/L], ≥ 0.
    converted : number, optional
        The device's converted value (ZsAvg); used when the limit has a reference O₂.
    o2 : number, optional
        Measured O₂ [%] of the same period; ignored outside 0 ≤ O₂ < 21 (a device error).
    o2_ref : number, optional
        The limit's 基准含氧量 [%]; None: no conversion.

    Returns
    -------
    Fraction
    """
    value = non_negative(measured, "measured value")
    if o2_ref is None:
        return value
    if converted is not None:
        return non_negative(converted, "converted value")
    if o2 is not None:
        o2_exact = exact_number(o2, "measured O2")
        if 0 <= o2_exact < 21:
            return to_reference_o2(value, o2_exact, o2_ref)
    return value


@dataclass(frozen=True, slots=True)
class Judgement:
    when: datetime
    value: Fraction  # the compared value
    exceeds: bool


def judge(value: Fraction, upper: Number, lower: Number | None = None) -> bool:
    """Exceedance of one compared value: strictly above ``upper`` or below ``lower`` (exact;
    equal to a limit complies)."""
    if lower is not None and value < exact_number(lower, "lower limit"):
        return True
    return value > exact_number(upper, "limit")


# Decimal arithmetic that refuses to round: every result below is exact or raises (then the
# caller falls back to Fraction). Stored values have a handful of digits, so this never trips
# in practice; it is ~30× faster than Fraction on the bulk path.
_EXACT = Context(prec=80, traps=[Inexact, InvalidOperation, Overflow, Underflow])
_O2_FULL = Decimal(21)


def exceeds(
    measured: Decimal,
    *,
    upper: Decimal,
    lower: Decimal | None = None,
    converted: Decimal | None = None,
    o2: Decimal | None = None,
    o2_ref: Decimal | None = None,
) -> bool:
    """``judge(compared_value(...), upper, lower)`` for decimal inputs, without division::

        C × (21 − O₂ref) / (21 − O₂) > S  ⟺  C × (21 − O₂ref) > S × (21 − O₂)   (21 − O₂ > 0)

    Exact (the products are computed without rounding, else with fractions).
    """
    try:
        if o2_ref is None or converted is not None or o2 is None or not 0 <= o2 < _O2_FULL:
            v = measured if o2_ref is None or converted is None else converted
            return v > upper or (lower is not None and v < lower)
        left = _EXACT.multiply(measured, _EXACT.subtract(_O2_FULL, o2_ref))
        room = _EXACT.subtract(_O2_FULL, o2)
        if left > _EXACT.multiply(upper, room):
            return True
        return lower is not None and left < _EXACT.multiply(lower, room)
    except (Inexact, InvalidOperation, Overflow, Underflow):
        value = compared_value(measured, converted=converted, o2=o2, o2_ref=o2_ref)
        return judge(value, upper, lower)


def exact_sum_products(pairs: Sequence[tuple[Decimal, Decimal]]) -> Fraction:
    """Σ a × b, exact (decimal products without rounding, else fractions)."""
    try:
        total = Decimal(0)
        for a, b in pairs:
            total = _EXACT.add(total, _EXACT.multiply(a, b))
        return Fraction(total)
    except (Inexact, InvalidOperation, Overflow, Underflow):
        return sum((Fraction(a) * Fraction(b) for a, b in pairs), Fraction(0))


@dataclass(frozen=True, slots=True)
class DayValue:
    day: date
    value: Fraction  # exact mean
    n_valid: int


def daily_means(records: Iterable[Record], min_hours: int | None = None) -> list[DayValue]:
    """Daily means (water, 日均值) from hourly records: the mean of each day's hours whose flag
    is judged and whose value is present, for days with at least ``min_hours`` of them.

    Parameters
    ----------
    records : iterable of Record
        Hourly records (naive CST labels).
    min_hours : int, optional
        Default :func:`min_valid_hours`.

    Returns
    -------
    list of DayValue, by day
    """
    need = min_valid_hours() if min_hours is None else min_hours
    if need < 1:
        raise InvalidValueError("min_hours must be at least 1")
    sums: dict[date, tuple[Fraction, int]] = {}
    for r in records:
        if r.value is None or not flag_rule(r.flag).judged:
            continue
        d = r.when.date()
        total, n = sums.get(d, (Fraction(0), 0))
        sums[d] = (total + non_negative(r.value, f"value at {r.when.isoformat()}"), n + 1)
    return [DayValue(d, total / n, n) for d, (total, n) in sorted(sums.items()) if n >= need]


@dataclass(frozen=True, slots=True)
class Episode:
    start: datetime
    end: datetime  # exclusive: the end of the last exceeding period
    peak: Fraction
    peak_at: datetime
    periods: int
    step: timedelta

    @property
    def duration(self) -> timedelta:
        return self.periods * self.step

    def multiple(self, limit: Number) -> Fraction:
        """超标倍数 of the peak, (C − S) / S."""
        s = exact_number(limit, "limit")
        return (self.peak - s) / s


def episodes(judgements: Iterable[Judgement], step: timedelta) -> list[Episode]:
    """Exceedance episodes: maximal runs of consecutive exceeding periods (a compliant,
    missing or unjudged period ends a run), one per condition.

    Parameters
    ----------
    judgements : iterable of Judgement
        One pollutant's judged periods (any order).
    step : timedelta
        Period length (an hour, a day).

    Returns
    -------
    list of Episode, by start
    """
    out: list[Episode] = []
    run: list[Judgement] = []

    def close() -> None:
        if run:
            top = max(run, key=lambda j: (j.value, -j.when.timestamp()))
            out.append(
                Episode(run[0].when, run[-1].when + step, top.value, top.when, len(run), step)
            )
            run.clear()

    for j in sorted(judgements, key=lambda j: j.when):
        if not j.exceeds:
            close()
            continue
        if run and j.when != run[-1].when + step:
            close()
        run.append(j)
    close()
    return out


_FLOW_TO_KG = {
    # gas: mg/m³ × m³/s × s = mg; water: mg/L × L/s × s = mg; both × 10⁻⁶ kg/mg
    Medium.GAS: Fraction(1, 10**6),
    Medium.WATER: Fraction(1, 10**6),
}


def interval_mass(
    concentration: Number, flow_rate: Number, seconds: int, medium: Medium | str
) -> Fraction:
    """Emission amount of one interval [kg] (module docstring, "Interval amount").

    Parameters
    ----------
    concentration : number
        Mean measured concentration [mg/m³ gas, mg/L water], ≥ 0.
    flow_rate : number
        Mean flow [m³/s for a00000, L/s for w00000 (HJ 212-2017 units)], ≥ 0.
    seconds : int
        Interval length [s], > 0.
    medium : Medium or str

    Returns
    -------
    Fraction
    """
    try:
        key = Medium(medium)
    except ValueError:
        raise InvalidValueError(f"unknown medium {medium!r}; expected 'gas' or 'water'") from None
    if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds <= 0:
        raise InvalidValueError(f"seconds must be a positive whole number, got {seconds!r}")
    c = non_negative(concentration, "concentration")
    q = non_negative(flow_rate, "flow")
    return c * q * seconds * _FLOW_TO_KG[key]


def projected_year_end(so_far: Number, elapsed_hours: int, year_hours: int) -> Fraction:
    """Projected year-end amount by linear extrapolation of the amount so far::

        projected = so_far × year_hours / elapsed_hours

    (a plain rate projection: it does not know an industry's season; see docs/sources.md).

    Parameters
    ----------
    so_far : number
        Amount emitted in the year's first ``elapsed_hours`` hours, ≥ 0.
    elapsed_hours, year_hours : int
        0 < elapsed_hours ≤ year_hours (8760, or 8784 in a leap year).

    Returns
    -------
    Fraction
    """
    amount = non_negative(so_far, "amount so far")
    if not 0 < elapsed_hours <= year_hours:
        raise InvalidValueError(
            f"elapsed hours {elapsed_hours} must be within 1–{year_hours} (the year's hours)"
        )
    return amount * year_hours / elapsed_hours
