"""Environmental noise: GB 3096-2008 声环境质量标准.

References
----------
GB 3096-2008, Table 1 (环境噪声限值, dB(A)) and 5.4 (夜间突发噪声). Numbers in
``data/gb3096-2008.toml``.

Rules implemented
-----------------
- Day (昼间) is 06:00–22:00 and night (夜间) 22:00–06:00.
- A point complies by day when ``Ld <= day limit`` and by night when ``Ln <= night limit``
  (equal to the limit complies: the standard's limits are maxima).
- Night sudden noise (突发噪声): the maximum level may exceed the night limit by at most
  15 dB(A): ``Lmax − night limit <= 15``.
- 昼间达标率 / 夜间达标率 over a set of point measurements (点次) = compliant point-times /
  point-times with a value × 100 %. Points without a day (night) value are left out of the
  day (night) rate and counted as missing, never as compliant.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum
from functools import cache
from typing import Any

from qingshan.standards._checks import InvalidValueError, UnknownItemError, as_number, load_toml
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
    "limits",
    "period_of",
    "sudden_noise_complies",
    "zones",
]

FAMILY = "GB3096"
DEFAULT_STANDARD = "GB3096-2008"
_MAX_LEVEL = 200.0  # dB(A); anything above is a unit or entry error, not a sound level


class Period(StrEnum):
    DAY = "day"  # 昼间
    NIGHT = "night"  # 夜间


@dataclass(frozen=True, slots=True)
class NoiseLimits:
    zone: str
    name: str
    day: float
    night: float


@dataclass(frozen=True, slots=True)
class _Table:
    zones: dict[str, NoiseLimits]
    day_start: time
    night_start: time
    sudden_margin: float


@cache
def _load(standard_id: str) -> _Table:
    raw: dict[str, Any] = load_toml(f"{standard_id.lower()}.toml")
    meta = raw["meta"]
    return _Table(
        zones={
            z["code"]: NoiseLimits(z["code"], z["name"], float(z["day"]), float(z["night"]))
            for z in raw["zone"]
        },
        day_start=time.fromisoformat(meta["day_start"]),
        night_start=time.fromisoformat(meta["night_start"]),
        sudden_margin=float(meta["sudden_night_margin"]),
    )


def _table(standard: str) -> _Table:
    return _load(resolve(FAMILY, standard).id)


def zones(standard: str = DEFAULT_STANDARD) -> tuple[str, ...]:
    """Functional zone codes: ``0, 1, 2, 3, 4a, 4b``."""
    return tuple(_table(standard).zones)


def limits(zone: str, *, standard: str = DEFAULT_STANDARD) -> NoiseLimits:
    """Day and night limits (dB(A)) of a functional zone (``"0"`` … ``"4b"``)."""
    table = _table(standard)
    key = str(zone).strip().lower()
    found = table.zones.get(key)
    if found is None:
        raise UnknownItemError(
            f"unknown GB 3096 functional zone {zone!r}; known: {', '.join(table.zones)}"
        )
    return found


def period_of(moment: datetime | time, *, standard: str = DEFAULT_STANDARD) -> Period:
    """昼间 (06:00 ≤ t < 22:00) or 夜间 (22:00 ≤ t < 06:00)."""
    table = _table(standard)
    clock = moment.time() if isinstance(moment, datetime) else moment
    return Period.DAY if table.day_start <= clock < table.night_start else Period.NIGHT


def _level(value: object, what: str) -> float:
    number = as_number(value, what)
    if number < 0 or number > _MAX_LEVEL:
        raise InvalidValueError(f"{what}: {number!r} dB(A) is not a plausible sound level")
    return number


@dataclass(frozen=True, slots=True)
class PointAssessment:
    zone: str
    ld: float | None
    ln: float | None
    day_limit: float
    night_limit: float

    @property
    def day_complies(self) -> bool | None:
        return None if self.ld is None else self.ld <= self.day_limit

    @property
    def night_complies(self) -> bool | None:
        return None if self.ln is None else self.ln <= self.night_limit

    @property
    def day_excess(self) -> float | None:
        """dB(A) above the day limit (0 when compliant, None without a value)."""
        return None if self.ld is None else max(0.0, self.ld - self.day_limit)

    @property
    def night_excess(self) -> float | None:
        return None if self.ln is None else max(0.0, self.ln - self.night_limit)


def assess_point(
    zone: str,
    ld: float | None = None,
    ln: float | None = None,
    *,
    standard: str = DEFAULT_STANDARD,
) -> PointAssessment:
    """Compare a point's day (Ld) and night (Ln) equivalent levels with its zone's limits."""
    found = limits(zone, standard=standard)
    return PointAssessment(
        zone=found.zone,
        ld=None if ld is None else _level(ld, "Ld"),
        ln=None if ln is None else _level(ln, "Ln"),
        day_limit=found.day,
        night_limit=found.night,
    )


def sudden_noise_complies(zone: str, lmax: float, *, standard: str = DEFAULT_STANDARD) -> bool:
    """GB 3096-2008 5.4: at night, ``Lmax`` may exceed the night limit by at most 15 dB(A)."""
    table = _table(standard)
    found = limits(zone, standard=standard)
    return _level(lmax, "Lmax") - found.night <= table.sudden_margin


@dataclass(frozen=True, slots=True)
class ComplianceRates:
    n_day: int
    n_day_ok: int
    n_night: int
    n_night_ok: int
    n_day_missing: int
    n_night_missing: int

    @property
    def day_rate(self) -> float | None:
        """昼间达标率 as a fraction (None when no point has a day value)."""
        return self.n_day_ok / self.n_day if self.n_day else None

    @property
    def night_rate(self) -> float | None:
        """夜间达标率 as a fraction (None when no point has a night value)."""
        return self.n_night_ok / self.n_night if self.n_night else None


def compliance_rates(
    points: Iterable[tuple[str, float | None, float | None]],
    *,
    standard: str = DEFAULT_STANDARD,
) -> ComplianceRates:
    """昼间/夜间达标率 over point measurements ``(zone, Ld, Ln)`` (点次达标率)."""
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
