"""Environmental noise: GB 3096-2008 声环境质量标准.

References
----------
GB 3096-2008, Table 1 (环境噪声限值, dB(A)) and 5.4 (夜间突发噪声). Numbers in
``data/gb3096-2008.toml``.

Rules implemented
-----------------
- Day (昼间) is 06:00–22:00 and night (夜间) 22:00–06:00. The night *of day D* is 22:00 D →
  06:00 D+1 (one continuous night, not the calendar day's two pieces): :func:`hour_period`
  assigns an hourly value to (day, period). A stored hour is labelled by its start
  (:data:`qingshan.clock.HOUR_LABEL`): the value at 05:00 on D+1 covers 05:00–06:00 and belongs
  to the night of D; with ``hour_label="end"`` the value at 06:00 D+1 does.
- Ld / Ln of a day: the energy (logarithmic) mean of its hourly LAeq,
  ``10·lg(mean(10^(0.1·Lᵢ)))`` (:func:`energy_mean`), rounded once to 0.1 dB (GB/T 8170).
- A point complies by day when ``Ld <= day limit`` and by night when ``Ln <= night limit``
  (equal to the limit complies: the standard's limits are maxima).
- Night sudden noise (突发噪声): the maximum level may exceed the night limit by at most
  15 dB(A): ``Lmax − night limit <= 15``.
- 昼间达标率 / 夜间达标率 over a set of point measurements (点次) = compliant point-times /
  point-times with a value × 100 %. Points without a day (night) value are left out of the
  day (night) rate and counted as missing, never as compliant.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, localcontext
from enum import StrEnum
from fractions import Fraction
from functools import cache, lru_cache
from typing import Any, Literal

from qingshan.standards._checks import (
    InvalidValueError,
    Number,
    UnknownItemError,
    exact_number,
    limit_value,
    load_toml,
)
from qingshan.standards.rounding import round_half_even
from qingshan.standards.versions import resolve

__all__ = [
    "ComplianceRates",
    "InvalidValueError",
    "NoiseLimits",
    "Period",
    "PointAssessment",
    "UnknownItemError",
    "assess_point",
    "compliance_rates",
    "energy_mean",
    "hour_period",
    "limits",
    "period_of",
    "sudden_noise_complies",
    "zones",
]

FAMILY = "GB3096"
DEFAULT_STANDARD = "GB3096-2008"
_MAX_LEVEL = 200  # dB(A); anything above is a unit or entry error, not a sound level


class Period(StrEnum):
    DAY = "day"  # 昼间
    NIGHT = "night"  # 夜间


@dataclass(frozen=True, slots=True)
class NoiseLimits:
    zone: str
    name: str
    day: Decimal  # dB(A)
    night: Decimal


@dataclass(frozen=True, slots=True)
class _Table:
    zones: dict[str, NoiseLimits]
    day_start: time
    night_start: time
    sudden_margin: Decimal


@cache
def _load(standard_id: str) -> _Table:
    raw: dict[str, Any] = load_toml(f"{standard_id.lower()}.toml")
    meta = raw["meta"]
    return _Table(
        zones={
            z["code"]: NoiseLimits(
                z["code"], z["name"], limit_value(z["day"]), limit_value(z["night"])
            )
            for z in raw["zone"]
        },
        day_start=time.fromisoformat(meta["day_start"]),
        night_start=time.fromisoformat(meta["night_start"]),
        sudden_margin=limit_value(meta["sudden_night_margin"]),
    )


def _table(standard: str) -> _Table:
    return _load(resolve(FAMILY, standard).id)


def zones(standard: str = DEFAULT_STANDARD) -> tuple[str, ...]:
    """GB 3096-2008 functional zone codes (声环境功能区, Table 1).

    Parameters
    ----------
    standard : str, default "GB3096-2008"
        Rule-set id.

    Returns
    -------
    tuple of str
        ``0, 1, 2, 3, 4a, 4b``.
    """
    return tuple(_table(standard).zones)


def limits(zone: str, *, standard: str = DEFAULT_STANDARD) -> NoiseLimits:
    """Day and night limits of a functional zone, GB 3096-2008 Table 1.

    Parameters
    ----------
    zone : str
        Zone code (``"0"`` … ``"4b"``, case-insensitive).
    standard : str, default "GB3096-2008"
        Rule-set id.

    Returns
    -------
    NoiseLimits
        Day (06:00–22:00) and night limits, LAeq [dB(A)].

    Raises
    ------
    UnknownItemError
        For an unknown zone.
    """
    table = _table(standard)
    key = str(zone).strip().lower()
    found = table.zones.get(key)
    if found is None:
        raise UnknownItemError(
            f"unknown GB 3096 functional zone {zone!r}; known: {', '.join(table.zones)}"
        )
    return found


def period_of(moment: datetime | time, *, standard: str = DEFAULT_STANDARD) -> Period:
    """昼间 (06:00 ≤ t < 22:00) or 夜间 (22:00 ≤ t < 06:00), GB 3096-2008 3.2/3.3.

    Parameters
    ----------
    moment : datetime or time
        A clock time, China Standard Time.
    standard : str, default "GB3096-2008"
        Rule-set id.

    Returns
    -------
    Period
    """
    table = _table(standard)
    clock = moment.time() if isinstance(moment, datetime) else moment
    return Period.DAY if table.day_start <= clock < table.night_start else Period.NIGHT


HourLabel = Literal["start", "end"]


def hour_period(
    moment: datetime, *, hour_label: HourLabel = "start", standard: str = DEFAULT_STANDARD
) -> tuple[date, Period]:
    """The day and period an hourly value belongs to (GB 3096-2008 3.2/3.3): 昼间 of D for the
    hours within 06:00–22:00 of D; 夜间 of D for 22:00 D … 06:00 D+1 (one night per day).

    Parameters
    ----------
    moment : datetime
        The hour's label, China Standard Time.
    hour_label : {"start", "end"}, default "start"
        ``start`` (stored hours, :data:`qingshan.clock.HOUR_LABEL`): ``moment`` begins the hour,
        so 05:00 on D+1 is D's night; ``end``: ``moment`` ends it, so 06:00 on D+1 is.
    standard : str, default "GB3096-2008"
        Rule-set id.

    Returns
    -------
    tuple of (date, Period)

    Raises
    ------
    InvalidValueError
        For another ``hour_label``.
    """
    if hour_label not in ("start", "end"):
        raise InvalidValueError(f"hour_label must be 'start' or 'end', not {hour_label!r}")
    begin = moment - timedelta(hours=1) if hour_label == "end" else moment
    table = _table(standard)
    if table.day_start <= begin.time() < table.night_start:
        return begin.date(), Period.DAY
    if begin.time() >= table.night_start:
        return begin.date(), Period.NIGHT
    return begin.date() - timedelta(days=1), Period.NIGHT


def energy_mean(levels: Sequence[Number], ndigits: int = 1) -> Decimal:
    """Energy (logarithmic) mean of sound levels::

        L = 10 · lg( (1/n) · Σ 10^(0.1·Lᵢ) )

    computed with 50 significant digits and rounded once, half-even (GB/T 8170), to ``ndigits``;
    equal levels give exactly that level (the one case where the mean is a decimal).

    Parameters
    ----------
    levels : sequence of number
        Equivalent levels LAeq [dB(A)], 0–200.
    ndigits : int, default 1
        Decimals kept.

    Returns
    -------
    Decimal
        The mean level [dB(A)].

    Raises
    ------
    InvalidValueError
        For no levels or implausible ones.
    """
    if not levels:
        raise InvalidValueError("energy mean of no levels")
    exact = [_level(x, "level") for x in levels]
    if all(x == exact[0] for x in exact):
        return round_half_even(exact[0], ndigits)
    with localcontext() as ctx:
        ctx.prec = _PREC
        total = sum((_energy(x) for x in exact), Decimal(0))
        mean = (total / len(exact)).log10() * 10
    return round_half_even(mean, ndigits)


_PREC = 50  # significant digits of the energy-mean arithmetic


@lru_cache(maxsize=8192)
def _energy(level: Fraction) -> Decimal:
    """10^(0.1·L) to 50 significant digits (cached: levels repeat, typically 0.1 dB apart)."""
    with localcontext() as ctx:
        ctx.prec = _PREC
        return Decimal(10) ** (Decimal(level.numerator) / Decimal(level.denominator) / 10)


def _level(value: object, what: str) -> Fraction:
    number = exact_number(value, what)
    if number < 0 or number > _MAX_LEVEL:
        raise InvalidValueError(f"{what}: {value!r} dB(A) is not a plausible sound level")
    return number


@dataclass(frozen=True, slots=True)
class PointAssessment:
    zone: str
    ld: Fraction | None  # exact
    ln: Fraction | None
    day_limit: Decimal
    night_limit: Decimal

    @property
    def day_complies(self) -> bool | None:
        return None if self.ld is None else self.ld <= Fraction(self.day_limit)

    @property
    def night_complies(self) -> bool | None:
        return None if self.ln is None else self.ln <= Fraction(self.night_limit)

    @property
    def day_excess(self) -> Fraction | None:
        """dB(A) above the day limit (0 when compliant, None without a value), exact."""
        if self.ld is None:
            return None
        return max(Fraction(0), self.ld - Fraction(self.day_limit))

    @property
    def night_excess(self) -> Fraction | None:
        if self.ln is None:
            return None
        return max(Fraction(0), self.ln - Fraction(self.night_limit))


def assess_point(
    zone: str,
    ld: Number | None = None,
    ln: Number | None = None,
    *,
    standard: str = DEFAULT_STANDARD,
) -> PointAssessment:
    """Compare a point's day (Ld) and night (Ln) levels with its zone's limits (GB 3096-2008
    Table 1; equal to the limit complies; compared exactly).

    Parameters
    ----------
    zone : str
        Functional zone code.
    ld, ln : number, optional
        Day and night equivalent levels [dB(A)], 0–200; ``None`` when not measured.
    standard : str, default "GB3096-2008"
        Rule-set id.

    Returns
    -------
    PointAssessment
        The exact levels, limits, compliance and excess [dB(A)].

    Raises
    ------
    UnknownItemError, InvalidValueError
        For an unknown zone and implausible levels.
    """
    found = limits(zone, standard=standard)
    return PointAssessment(
        zone=found.zone,
        ld=None if ld is None else _level(ld, "Ld"),
        ln=None if ln is None else _level(ln, "Ln"),
        day_limit=found.day,
        night_limit=found.night,
    )


def sudden_noise_complies(zone: str, lmax: Number, *, standard: str = DEFAULT_STANDARD) -> bool:
    """Night sudden noise (GB 3096-2008 5.4): ``Lmax − night limit ≤ 15`` dB(A).

    Parameters
    ----------
    zone : str
        Functional zone code.
    lmax : number
        Maximum sound level at night [dB(A)].
    standard : str, default "GB3096-2008"
        Rule-set id.

    Returns
    -------
    bool
    """
    table = _table(standard)
    found = limits(zone, standard=standard)
    return _level(lmax, "Lmax") - Fraction(found.night) <= Fraction(table.sudden_margin)


@dataclass(frozen=True, slots=True)
class ComplianceRates:
    n_day: int
    n_day_ok: int
    n_night: int
    n_night_ok: int
    n_day_missing: int
    n_night_missing: int

    @property
    def day_rate(self) -> Fraction | None:
        """昼间达标率 as an exact share 0–1 (None when no point has a day value)."""
        return Fraction(self.n_day_ok, self.n_day) if self.n_day else None

    @property
    def night_rate(self) -> Fraction | None:
        """夜间达标率 as an exact share 0–1 (None when no point has a night value)."""
        return Fraction(self.n_night_ok, self.n_night) if self.n_night else None


def compliance_rates(
    points: Iterable[tuple[str, Number | None, Number | None]],
    *,
    standard: str = DEFAULT_STANDARD,
) -> ComplianceRates:
    """昼间/夜间达标率 over point measurements (点次)::

        rate = compliant point-times / point-times with a value

    Points without a day (night) value are counted as missing, never as compliant.

    Parameters
    ----------
    points : iterable of (str, number or None, number or None)
        (zone, Ld, Ln) per point-time [dB(A)].
    standard : str, default "GB3096-2008"
        Rule-set id.

    Returns
    -------
    ComplianceRates
        Counts and the exact rates (0–1; ``None`` without values).
    """
    n_day = ok_day = n_night = ok_night = miss_day = miss_night = 0
    for zone, ld, ln in points:
        result = assess_point(zone, ld, ln, standard=standard)
        if result.day_complies is None:
            miss_day += 1
        else:
            n_day += 1
            ok_day += result.day_complies
        if result.night_complies is None:
            miss_night += 1
        else:
            n_night += 1
            ok_night += result.night_complies
    return ComplianceRates(n_day, ok_day, n_night, ok_night, miss_day, miss_night)
